//! The Fachstelle's casework between handoffs: the responsible caseworker, tries to reach the
//! household, and the follow-ups after a kept tenancy. Each is one audited change of the case.

use super::{Caller, Hub, HubError, HubResult, Idem, Outcome, Pending, audit};
use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::case::Case;
use crate::domain::casework::{Assignee, ContactAttempt, ContactKind};
use crate::domain::document::DocumentMeta;
use crate::domain::ids::{CaseId, OrgId};
use crate::domain::staff::Username;
use crate::domain::time::Day;
use crate::domain::{FieldError, Refusal};
use crate::store::Tx;

/// A try to reach the household, as an edge sends it.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// How.
    pub kind: ContactKind,
    /// When.
    pub day: Day,
    /// Whether the household was reached.
    pub reached: bool,
    /// What came of it.
    pub note: String,
}

/// The content of an uploaded file, as an edge received it.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The name the person chose.
    pub name: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// A colleague a case can be given to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colleague {
    /// Sign-in name.
    pub username: Username,
    /// Name as shown.
    pub name: String,
}

/// The active staff accounts of `org`, by name.
pub(super) async fn colleagues_of(tx: &mut dyn Tx, org: &OrgId) -> HubResult<Vec<Colleague>> {
    let mut all: Vec<Colleague> = tx
        .staff_accounts()
        .await?
        .into_iter()
        .filter(|a| &a.org == org && !a.disabled)
        .map(|a| Colleague { username: a.username, name: a.display_name.as_str().to_owned() })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

impl Hub {
    /// The active staff accounts of the caller's Fachstelle, by name.
    pub async fn colleagues(&self, caller: &Caller) -> HubResult<Vec<Colleague>> {
        let org = caller.fachstelle("list colleagues")?;
        let mut tx = self.store.begin_read().await?;
        colleagues_of(tx.as_mut(), &org.id).await
    }

    /// Gives a case to a caseworker of the same Fachstelle, or to nobody.
    pub async fn assign_case(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &CaseId,
        to: Option<Username>,
    ) -> HubResult<Case> {
        let org = caller.fachstelle("assign cases")?.clone();
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Case(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.owned_case(tx.as_mut(), &org.id, &id).await;
        }
        let mut case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        case.assignee = match to {
            None => None,
            Some(username) => {
                let account = tx.staff_account(&username).await?.filter(|a| a.org == org.id && !a.disabled);
                let account = account.ok_or_else(|| {
                    FieldError::new("assignee", "is not an active staff account of this Fachstelle")
                        .de("Diese Person gibt es in der Fachstelle nicht (mehr).")
                })?;
                Some(Assignee { username: account.username, name: account.display_name.as_str().to_owned() })
            }
        };
        tx.update_case(&case).await?;
        let mut p = Pending::new();
        let to = case.assignee.as_ref().map(|a| a.username.as_str().to_owned());
        p.audit.push(audit(
            &caller.actor(),
            self.now(),
            AuditAction::CaseAssign,
            Some(&case.id),
            None,
            "owner".into(),
            AuditDetail::Assigned { to },
        ));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Case(case.id.clone())), p).await?;
        Ok(case)
    }

    /// Records a try to reach the household of an open case.
    pub async fn record_contact(&self, caller: &Caller, idem: &Idem, id: &CaseId, new: NewContact) -> HubResult<Case> {
        let org = caller.fachstelle("record contact attempts")?.clone();
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Case(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.owned_case(tx.as_mut(), &org.id, &id).await;
        }
        let mut case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        if case.closure.is_some() {
            return Err(HubError::FailedPrecondition(Refusal::new(
                "the case is closed",
                "Der Fall ist abgeschlossen; Kontaktversuche werden nur bei offenen Fällen erfasst.",
            )));
        }
        let by = caller.actor().staff().map(|s| s.as_str().to_owned()).unwrap_or_else(|| org.name.clone());
        let attempt =
            ContactAttempt::record(new.kind, new.day, new.reached, &new.note, &by, case.opened_at.day(), self.today())?;
        let detail = AuditDetail::Contacted { how: attempt.kind.as_str().to_owned(), reached: attempt.reached };
        case.contacts.push(attempt);
        tx.update_case(&case).await?;
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            self.now(),
            AuditAction::CaseContact,
            Some(&case.id),
            None,
            "owner".into(),
            detail,
        ));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Case(case.id.clone())), p).await?;
        Ok(case)
    }

    /// Adds a document to a case (open or closed: a letter may arrive after closing). Audited.
    pub async fn add_document(&self, caller: &Caller, id: &CaseId, upload: Upload) -> HubResult<DocumentMeta> {
        let org = caller.fachstelle("add documents")?.clone();
        let mut tx = self.store.begin().await?;
        let case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        let by = caller.actor().staff().map(|s| s.as_str().to_owned()).unwrap_or_else(|| org.name.clone());
        let now = self.now();
        let meta = DocumentMeta::accept(&case.id, &upload.name, &upload.content, &by, now)?;
        tx.insert_document(&meta, &upload.content).await?;
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::DocumentAdd,
            Some(&case.id),
            None,
            "owner".into(),
            AuditDetail::object(&meta.id),
        ));
        self.finish(tx, caller, None, None, p).await?;
        Ok(meta)
    }

    /// One document of a case, to download. Audited as a read of personal data.
    pub async fn download_document(
        &self,
        caller: &Caller,
        id: &CaseId,
        document: &str,
    ) -> HubResult<(DocumentMeta, Vec<u8>)> {
        let org = caller.fachstelle("read documents")?.clone();
        let mut tx = self.store.begin().await?;
        let case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        let found = tx.document(&case.id, document).await?.ok_or(HubError::NotFound("document"))?;
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            self.now(),
            AuditAction::DocumentRead,
            Some(&case.id),
            None,
            "owner".into(),
            AuditDetail::object(&found.0.id),
        ));
        self.finish(tx, caller, None, None, p).await?;
        Ok(found)
    }

    /// Records the follow-up `months` after a kept tenancy: whether it still held. Closed cases
    /// only (that is when follow-ups exist); each follow-up once.
    pub async fn record_follow_up(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &CaseId,
        months: u8,
        held: bool,
    ) -> HubResult<Case> {
        let org = caller.fachstelle("record follow-ups")?.clone();
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Case(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.owned_case(tx.as_mut(), &org.id, &id).await;
        }
        let mut case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        let today = self.today();
        let follow_up = case.follow_ups.iter_mut().find(|f| f.months == months).ok_or_else(|| {
            FieldError::new("months", "the case has no such follow-up").de("Diese Wiedervorlage gibt es nicht.")
        })?;
        if follow_up.result.is_some() {
            return Err(HubError::FailedPrecondition(Refusal::new(
                "this follow-up is already recorded",
                "Diese Wiedervorlage ist schon erledigt.",
            )));
        }
        if follow_up.due > today {
            return Err(HubError::FailedPrecondition(Refusal::new(
                "this follow-up is not due yet",
                "Diese Wiedervorlage ist noch nicht fällig.",
            )));
        }
        follow_up.result = Some((today, held));
        tx.update_case(&case).await?;
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            self.now(),
            AuditAction::CaseFollowUp,
            Some(&case.id),
            None,
            "owner".into(),
            AuditDetail::FollowedUp { months, held },
        ));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Case(case.id.clone())), p).await?;
        Ok(case)
    }
}
