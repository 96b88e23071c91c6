//! What the audit trail records: the actions as one closed vocabulary (a new kind of access does not
//! compile until it is named here) and the detail as typed fields, written and read in one place. The
//! trail itself stores both as text (see `crate::audit`: the hash chain covers the text).

use serde::{Deserialize, Serialize};

use super::vocab::{DataCategory, text_enum};

text_enum!(
    /// An audited action.
    AuditAction {
        /// A case was opened.
        CaseOpen = "case.open",
        /// A case's data was shown.
        CaseRead = "case.read",
        /// A case's details were replaced.
        CaseUpdate = "case.update",
        /// A case's data was corrected (Art. 16 GDPR).
        CaseRectify = "case.rectify",
        /// A threat stage was recorded.
        CaseStage = "case.stage",
        /// A case was closed.
        CaseClose = "case.close",
        /// A case was given to a caseworker (or to nobody).
        CaseAssign = "case.assign",
        /// A document was added to a case.
        DocumentAdd = "document.add",
        /// A document was downloaded.
        DocumentRead = "document.read",
        /// A try to reach the household was recorded.
        CaseContact = "case.contact",
        /// A check whether a kept tenancy held was recorded.
        CaseFollowUp = "case.follow_up",
        /// A case's processing was restricted (Art. 18 GDPR).
        CaseRestrict = "case.restrict",
        /// A restriction was lifted.
        CaseLiftRestriction = "case.lift_restriction",
        /// A case was erased.
        CaseErase = "case.erase",
        /// A consent was recorded.
        ConsentRecord = "consent.record",
        /// A consent was revoked.
        ConsentRevoke = "consent.revoke",
        /// A consent expired.
        ConsentExpire = "consent.expire",
        /// Data was disclosed with a new referral.
        ReferralDisclose = "referral.disclose",
        /// A referral moved.
        ReferralMove = "referral.move",
        /// A referral was read, with its case view.
        ReferralRead = "referral.read",
        /// A referral's reply-by date was changed.
        ReferralReplyBy = "referral.reply_by",
        /// A note was written.
        NoteWrite = "note.write",
        /// Notes were read.
        NoteRead = "note.read",
        /// A notice was submitted or recorded.
        NoticeWrite = "notice.write",
        /// Open notices were listed.
        NoticeList = "notice.list",
        /// A notice was opened for triage.
        NoticeRead = "notice.read",
        /// A notice was taken up into a case.
        NoticeTakeUp = "notice.take_up",
        /// A notice was erased.
        NoticeErase = "notice.erase",
        /// A housing company withdrew its notice (the arrears were paid).
        NoticeWithdraw = "notice.withdraw",
        /// An organisation was registered.
        OrgRegister = "org.register",
        /// An organisation was changed.
        OrgUpdate = "org.update",
        /// An organisation was deactivated.
        OrgDeactivate = "org.deactivate",
        /// An organisation was reactivated.
        OrgReactivate = "org.reactivate",
        /// An organisation stated its capacity (and office hours).
        OrgCapacity = "org.capacity",
        /// A client certificate was signed for an organisation.
        CertificateSign = "certificate.sign",
        /// A client certificate was revoked.
        CertificateRevoke = "certificate.revoke",
        /// A staff account was added.
        StaffAdd = "staff.add",
        /// A staff account was disabled.
        StaffDisable = "staff.disable",
        /// A staff account was enabled.
        StaffEnable = "staff.enable",
        /// A staff password was set.
        StaffPassword = "staff.password",
        /// A staff member signed in.
        StaffSignIn = "staff.sign_in",
        /// A sign-in failed.
        StaffSignInFailed = "staff.sign_in_failed",
        /// A staff member signed out.
        StaffSignOut = "staff.sign_out",
        /// A dead mail was queued again.
        DeliveryRequeue = "delivery.requeue",
        /// A dashboard list showed cases.
        DashboardView = "dashboard.view",
        /// A caseworker searched cases and notices.
        Search = "dashboard.search",
        /// Key figures were read.
        KeyFigures = "report.key_figures",
        /// An access report (Art. 15 GDPR) was made.
        AccessReport = "access_report",
        /// A recipient confirmed it erased, restricted or rectified data it received (Art. 19 GDPR).
        DataRequestConfirm = "data_request.confirm",
    }
);

impl AuditAction {
    /// A read that showed personal data to whoever made it (what the Art. 15 report lists as a partner's
    /// access).
    pub fn is_read(self) -> bool {
        matches!(self, AuditAction::CaseRead | AuditAction::ReferralRead | AuditAction::NoteRead)
    }
}

/// Why a read of a referral showed no case data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoCaseData {
    /// The case's processing is restricted (Art. 18 GDPR): the recipient sees none of it.
    Restricted,
    /// The sender reads its own referral; the case view is only for the recipient.
    SenderView,
}

/// What an audited action touched, as fields (never the data itself). Stored as one JSON object in
/// the trail's text column, so the hash chain covers it as before; records written before the
/// detail was typed are read as [`AuditDetail::Legacy`], and the one older shape a report depends
/// on (`case data: IDENTITY,ARREARS`) is read as [`AuditDetail::Shown`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditDetail {
    /// Nothing beyond the action itself.
    Nothing,
    /// A partner's read of a referral showed these categories of the case.
    Shown {
        /// The categories shown.
        #[serde(with = "stored_names")]
        categories: Vec<DataCategory>,
    },
    /// A read of a referral showed no case data.
    NoCaseData {
        /// Why.
        why: NoCaseData,
    },
    /// The owning Fachstelle worked with the whole case, at this place (the API, a dashboard page).
    Owner {
        /// Where, in words.
        place: String,
    },
    /// A dashboard list showed a case: the page and what of the case it showed.
    Listed {
        /// The page.
        page: String,
        /// What was shown (`name`, deadlines, ...).
        shown: Vec<String>,
    },
    /// Data disclosed with a referral.
    Disclosed {
        /// The recipient organisation.
        recipient: String,
        /// The categories disclosed.
        #[serde(with = "stored_names")]
        categories: Vec<DataCategory>,
    },
    /// Case data corrected (Art. 16 GDPR) and the recipients told (Art. 19 GDPR).
    Corrected {
        /// The categories that changed (none: the update changed no category).
        #[serde(with = "stored_names")]
        categories: Vec<DataCategory>,
        /// The organisations told.
        told: Vec<String>,
    },
    /// A referral moved.
    Moved {
        /// The move.
        change: String,
        /// The state it reached.
        state: String,
    },
    /// The object the action is about (a consent, note, notice or organisation), with the note given.
    Object {
        /// Its id.
        id: String,
        /// What the person said, when anything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A consent recorded as the new version of another.
    Replaces {
        /// The new version.
        id: String,
        /// The version it replaces.
        replaced: String,
    },
    /// How many records were shown or removed.
    Count {
        /// The number.
        n: u64,
        /// Of what, in words.
        of: String,
    },
    /// A notice taken up: into an existing case or a new one, and the suggested cases not chosen.
    TakenUp {
        /// The notice.
        notice: String,
        /// Whether it went into an existing case.
        linked: bool,
        /// Suggested cases the caseworker declined.
        declined: Vec<String>,
    },
    /// A threat stage recorded.
    Stage {
        /// The stage.
        stage: String,
    },
    /// A case given to a caseworker, by sign-in name (none: to nobody).
    Assigned {
        /// The caseworker.
        to: Option<String>,
    },
    /// A try to reach the household.
    Contacted {
        /// How (`ANRUF`, ...).
        how: String,
        /// Whether the household was reached.
        reached: bool,
    },
    /// A follow-up after a kept tenancy.
    FollowedUp {
        /// Months after closing.
        months: u8,
        /// Whether the tenancy still held.
        held: bool,
    },
    /// A case closed.
    Closed {
        /// The outcome.
        outcome: String,
    },
    /// A case's processing restricted.
    Restricted {
        /// Why the household asked.
        reason: String,
    },
    /// A case erased.
    Erased {
        /// Rows removed.
        rows: u64,
        /// What stays, and why.
        kept: Vec<String>,
    },
    /// Account, delivery and report actions: words without personal data of households.
    Words {
        /// The words.
        text: String,
    },
    /// A record written before details were typed, as stored.
    #[serde(skip)]
    Legacy(String),
}

impl AuditDetail {
    const LEGACY_SHOWN: &'static str = "case data:";

    /// A detail in words.
    pub fn words(text: impl Into<String>) -> Self {
        AuditDetail::Words { text: text.into() }
    }

    /// The object `id` without a note.
    pub fn object(id: impl ToString) -> Self {
        AuditDetail::Object { id: id.to_string(), note: None }
    }

    /// The text the trail stores (and the hash chain covers).
    pub fn stored(&self) -> String {
        match self {
            AuditDetail::Legacy(text) => text.clone(),
            typed => serde_json::to_string(typed).unwrap_or_else(|_| String::new()),
        }
    }

    /// Reads a stored detail: typed when it is one, the older `case data:` shape as `Shown`, anything
    /// else as it was written.
    pub fn read(stored: &str) -> Self {
        if stored.starts_with('{')
            && let Ok(typed) = serde_json::from_str(stored)
        {
            return typed;
        }
        match stored.strip_prefix(Self::LEGACY_SHOWN) {
            Some(list) => AuditDetail::Shown {
                categories: list.split(',').filter_map(|c| DataCategory::parse(c.trim())).collect(),
            },
            None => AuditDetail::Legacy(stored.to_owned()),
        }
    }

    /// The categories of case data a read showed (empty for anything else).
    pub fn categories_shown(&self) -> &[DataCategory] {
        match self {
            AuditDetail::Shown { categories } => categories,
            _ => &[],
        }
    }
}

/// Categories by their stored names (`IDENTITY`), as everywhere else in the trail.
mod stored_names {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::domain::vocab::DataCategory;

    pub fn serialize<S: Serializer>(cats: &[DataCategory], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(cats.iter().map(|c| c.as_str()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DataCategory>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|c| DataCategory::parse(c).ok_or_else(|| D::Error::custom(format!("unknown category {c}"))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_round_trip_and_older_records_stay_readable() {
        let all = [
            AuditDetail::Nothing,
            AuditDetail::Shown { categories: vec![DataCategory::Identity, DataCategory::Arrears] },
            AuditDetail::NoCaseData { why: NoCaseData::Restricted },
            AuditDetail::Owner { place: "dashboard case page".into() },
            AuditDetail::Listed { page: "Heute".into(), shown: vec!["name".into()] },
            AuditDetail::Disclosed { recipient: "jobcenter".into(), categories: vec![DataCategory::IncomeBenefits] },
            AuditDetail::Corrected { categories: vec![], told: vec![] },
            AuditDetail::Moved { change: "ACCEPT".into(), state: "ACCEPTED".into() },
            AuditDetail::Object { id: "c-1".into(), note: Some("per phone".into()) },
            AuditDetail::object("n-1"),
            AuditDetail::Count { n: 3, of: "notes".into() },
            AuditDetail::Closed { outcome: "TENANCY_KEPT".into() },
            AuditDetail::Stage { stage: "EVICTION_SUIT".into() },
            AuditDetail::Assigned { to: Some("k.meyer".into()) },
            AuditDetail::Contacted { how: "ANRUF".into(), reached: true },
            AuditDetail::FollowedUp { months: 3, held: true },
            AuditDetail::TakenUp { notice: "n-1".into(), linked: false, declined: vec!["c-2".into()] },
            AuditDetail::Restricted { reason: "asked by letter".into() },
            AuditDetail::Erased { rows: 12, kept: vec!["the audit trail".into()] },
            AuditDetail::words("key figures 2026"),
        ];
        for d in all {
            assert_eq!(AuditDetail::read(&d.stored()), d, "{}", d.stored());
        }
        let shown = AuditDetail::Shown { categories: vec![DataCategory::Identity] };
        assert_eq!(shown.stored(), r#"{"kind":"shown","categories":["IDENTITY"]}"#);
        let older = AuditDetail::read("case data: IDENTITY,ARREARS");
        assert_eq!(older.categories_shown(), [DataCategory::Identity, DataCategory::Arrears]);
        assert_eq!(AuditDetail::read("dashboard case page"), AuditDetail::Legacy("dashboard case page".into()));
        assert_eq!(AuditDetail::Legacy("{broken".into()).stored(), "{broken");
        assert_eq!(AuditDetail::read("{broken"), AuditDetail::Legacy("{broken".into()));
    }

    #[test]
    fn every_action_parses_back() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
        }
    }
}
