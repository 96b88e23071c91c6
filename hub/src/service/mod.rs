//! The hub's use cases. Every operation authorises the caller, runs in one store transaction that
//! writes the change, its events, its audit records and its idempotency record, and only then
//! wakes the event streams.

mod cases;
pub(crate) mod casework;
mod certificates;
mod consents;
pub mod dashboard;
mod data_requests;
mod directory;
mod erasure;
pub mod events;
mod monitoring;
mod notices;
mod outbox;
mod referrals;
mod scheduled;
pub mod sla;
pub mod staff;

use crate::domain::audit::{AuditAction, AuditDetail};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::clock::Clock;
use crate::domain::FieldError;
use crate::domain::event::Event;
use crate::domain::ids::{Actor, CaseId, ConsentId, IdempotencyKey, NoteId, OrgId, ReferralId, StaffMember};
use crate::domain::org::Organisation;
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::OrgKind;
use crate::store::{AuditEntry, IdempotentResponse, Store, StoreError, Tx};

pub use crate::store::Outage;
pub use certificates::REVOCATIONS_TTL;

pub use cases::{CaseSummary, ClosedCase, NewClosure, NewStage};
pub use casework::{Colleague, NewContact, Upload};
pub use consents::{NewConsent, Revocation};
pub use dashboard::{
    CaseLabel, CasePageModel, CaseRow, HandoffFilter, HandoffRow, HandoffsModel, PartnerRow, TodayModel,
};
pub use directory::DIRECTORY_TTL;
pub use notices::{
    BulkRecord, BulkResult, NoticeStatus, NoticeTriage, Progress, Submitted, SuggestedCase, TakeUpTarget, TriageItem,
};
pub use outbox::{DeliveryResult, ListDeliveries, MailFacts};
pub use referrals::{LinkAct, ListReferrals, Mailbox, NewReferral, ReferralPage, ReferralView};

/// Errors of the service layer, each mapped to one gRPC status at the edge.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Bad input, naming the field.
    #[error("{0}")]
    Invalid(#[from] FieldError),
    /// No or unknown client identity.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The object does not exist, or the caller may not know that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The object exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is valid but the state of things forbids it.
    #[error("{0}")]
    FailedPrecondition(crate::domain::Refusal),
    /// The store is busy, unreachable, full or failing; retrying with the same idempotency key is safe.
    #[error("temporarily unavailable: {0}")]
    Unavailable(Outage),
    /// A bug or a corrupt row; the details are logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for HubError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => HubError::Internal("row vanished inside a transaction".into()),
            StoreError::Conflict(m) => HubError::Internal(format!("unexpected conflict: {m}")),
            StoreError::Unavailable(o) => HubError::Unavailable(o),
            StoreError::Other(m) => HubError::Internal(m),
        }
    }
}

/// Result alias of the service layer.
pub type HubResult<T> = Result<T, HubError>;

/// The identity a client certificate proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A partner organisation.
    Org(OrgId),
    /// The hub operator (directory administration).
    Operator,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An active organisation.
    Org {
        /// The organisation as registered.
        org: Organisation,
        /// Staff member it named.
        staff: Option<StaffMember>,
    },
    /// The operator.
    Operator {
        /// Staff member named.
        staff: Option<StaffMember>,
    },
}

impl Caller {
    /// The actor recorded for changes.
    pub fn actor(&self) -> Actor {
        match self {
            Caller::Org { org, staff } => Actor::Org { org: org.id.clone(), staff: staff.clone() },
            Caller::Operator { staff } => Actor::Operator { staff: staff.clone() },
        }
    }

    /// The calling organisation, or PERMISSION_DENIED for the operator.
    pub fn org(&self) -> HubResult<&Organisation> {
        match self {
            Caller::Org { org, .. } => Ok(org),
            Caller::Operator { .. } => {
                Err(HubError::PermissionDenied("the operator identity may only administer the directory".into()))
            }
        }
    }

    /// The calling organisation if it is a Fachstelle.
    pub fn fachstelle(&self, what: &str) -> HubResult<&Organisation> {
        let org = self.org()?;
        if org.kind == OrgKind::Fachstelle {
            Ok(org)
        } else {
            Err(HubError::PermissionDenied(format!("only the Fachstelle may {what}")))
        }
    }

    /// Scope of idempotency keys: each organisation has its own key space.
    fn scope(&self) -> String {
        match self {
            Caller::Org { org, .. } => format!("org:{}", org.id),
            Caller::Operator { .. } => "operator".to_owned(),
        }
    }
}

/// A mutating request's idempotency key and the fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct Idem {
    /// The key.
    pub key: IdempotencyKey,
    /// Hash of the request without the key.
    pub fingerprint: String,
}

/// What an idempotent operation produced. Stored by reference, not by value, so no personal data
/// is copied into the idempotency table; a retry returns the same object as it is now.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Outcome {
    Org(OrgId),
    Case(CaseId),
    CaseClosed {
        case: CaseId,
        cancelled: Vec<ReferralId>,
        #[serde(default)]
        ended: Vec<ConsentId>,
    },
    Consent(ConsentId),
    Revoked {
        consent: ConsentId,
        cancelled: Vec<ReferralId>,
        notified: Vec<OrgId>,
    },
    Referral(ReferralId),
    Note {
        referral: ReferralId,
        note: NoteId,
    },
    Notice {
        notice: crate::domain::ids::NoticeId,
        submitted: notices::Submitted,
    },
    Court {
        notice: crate::domain::ids::NoticeId,
        submitted: notices::Submitted,
        case: Option<CaseId>,
    },
    TakenUp {
        case: CaseId,
        linked: bool,
    },
    Requeued(String),
    ViaLink(crate::domain::mail::LinkReceipt),
    Erased(CaseId),
}

/// The events one commit wrote, published to this hub's event streams right after the commit.
#[derive(Debug)]
pub struct Committed {
    /// The commit's first cursor. The store draws a commit's cursors under its writer lock, so they
    /// are `first..=last` without holes, and every lower cursor committed before this commit.
    pub first: u64,
    /// The commit's last cursor.
    pub last: u64,
    /// The events (every audience), with their cursors, in cursor order.
    pub events: Vec<Event>,
}

/// Commits kept for event streams that have not taken them yet; a stream further behind reads the
/// store instead (memory stays bounded whatever a slow client does).
const FEED_CAPACITY: usize = 64;

/// The in-process event feed (see [`Hub::event_feed`]).
struct Feed {
    tx: broadcast::Sender<Arc<Committed>>,
    /// The highest `last` published so far: every event up to it has committed.
    head: std::sync::Mutex<u64>,
}

/// The hub: store, clock, and the signal that wakes event streams.
#[derive(Clone)]
pub struct Hub {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    sla: Arc<sla::Sla>,
    committed: Arc<watch::Sender<u64>>,
    closing: Arc<watch::Sender<bool>>,
    /// Signs the audit chain's head in the scheduled work; `None`: the chain is not sealed.
    sealer: Option<Arc<crate::audit::AuditSealer>>,
    /// How long closed cases are kept before erasure.
    retention: Arc<crate::domain::erasure::Retention>,
    /// The organisations in memory (see [`directory`]).
    directory: Arc<directory::OrgCache>,
    /// The revoked certificate serials as last read (see [`certificates`]).
    revocations: Arc<certificates::Revocations>,
    /// Events of this hub's commits, for its event streams.
    feed: Arc<Feed>,
}

/// Work collected inside a transaction and written with it.
struct Pending {
    events: Vec<Event>,
    audit: Vec<AuditEntry>,
    /// Mail jobs besides those derived from `events` (reminders, confirmations).
    mails: Vec<crate::domain::mail::MailJob>,
    /// Requests to recipients to erase, restrict or rectify data (Art. 19 GDPR), opened by `events`.
    requests: Vec<crate::domain::data_request::DataRequest>,
    /// What the use case already holds that its mails need, so they are not read back: the
    /// reply-by date of each referral its events are about, and whether each organisation it read
    /// is reached by mail.
    known: outbox::Known,
}

impl Hub {
    /// A hub over a store and a clock.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, sla: sla::Sla) -> Self {
        let (tx, _) = watch::channel(0);
        let (closing, _) = watch::channel(false);
        Self {
            store,
            clock,
            sla: Arc::new(sla),
            committed: Arc::new(tx),
            closing: Arc::new(closing),
            sealer: None,
            retention: Arc::new(crate::domain::erasure::Retention::default()),
            directory: Arc::default(),
            revocations: Arc::default(),
            feed: Arc::new(Feed { tx: broadcast::channel(FEED_CAPACITY).0, head: std::sync::Mutex::new(0) }),
        }
    }

    /// The same hub, keeping closed cases as `retention` says (default: [`Retention::default`]).
    ///
    /// [`Retention::default`]: crate::domain::erasure::Retention
    #[must_use]
    pub fn with_retention(mut self, retention: crate::domain::erasure::Retention) -> Self {
        self.retention = Arc::new(retention);
        self
    }

    /// The same hub, sealing the audit chain with `sealer` in its scheduled work (the server
    /// passes the key of its data directory; without one the chain is kept but never sealed).
    #[must_use]
    pub fn with_audit_sealer(mut self, sealer: crate::audit::AuditSealer) -> Self {
        self.sealer = Some(Arc::new(sealer));
        self
    }

    /// What the store last saw of its database (for health and readiness).
    pub fn store_condition(&self) -> watch::Receiver<crate::store::Condition> {
        self.store.condition()
    }

    /// Probes the database now; the outcome also lands in [`Hub::store_condition`].
    pub async fn probe_store(&self) -> HubResult<()> {
        Ok(self.store.probe().await?)
    }

    /// The store, for the test kit's checks of stored rows only (feature `testkit`, which the server is
    /// built without). Every edge (gRPC, the dashboard, the email desk) goes through the use cases above:
    /// `tests/tests/e2e/architecture.rs` fails when an edge reaches the store.
    #[cfg(feature = "testkit")]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A directory entry by id (names and channels are not personal data: no audit).
    pub async fn organisation(&self, id: &OrgId) -> HubResult<Option<Organisation>> {
        Ok(self.store.org_by_id(id).await?)
    }

    /// The key figures of `year` for the caller's Fachstelle, read from one snapshot and recorded in the
    /// audit trail as a report read (`via` says where, e.g. "on the dashboard").
    pub async fn key_figures_for(
        &self,
        caller: &Caller,
        year: i32,
        format: crate::reports::Format,
        via: &str,
    ) -> HubResult<crate::reports::key_figures::KeyFigures> {
        let org = caller.fachstelle("read key figures")?.id.clone();
        let now = self.now();
        let figures = {
            let mut tx = self.store.begin_read().await?;
            crate::reports::key_figures::build(tx.as_mut(), year, Some(&org), now)
                .await
                .map_err(|e| HubError::Internal(e.to_string()))?
        };
        let mut tx = self.store.begin().await?;
        tx.append_audit(&audit(
            &caller.actor(),
            now,
            AuditAction::KeyFigures,
            None,
            None,
            "aggregated statistics".into(),
            AuditDetail::words(format!(
                "key figures {year} ({format}) {via}: aggregated counts only, cells under 5 suppressed"
            )),
        ))
        .await?;
        tx.commit().await?;
        Ok(figures)
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn today(&self) -> Day {
        self.clock.now().day()
    }

    /// [`Hub::authenticate`] for a call made with the client certificate `serial`: a revoked
    /// certificate is refused before anything else (see [`certificates`]).
    pub async fn authenticate_certificate(
        &self,
        principal: Principal,
        serial: &crate::domain::certificate::Serial,
        staff: Option<StaffMember>,
    ) -> HubResult<Caller> {
        self.check_not_revoked(serial).await?;
        self.authenticate(principal, staff).await
    }

    /// Turns a certificate identity into a caller: the organisation must be registered and active.
    /// The directory is read from memory: a change made through this hub applies to the next call,
    /// one made through another replica within [`DIRECTORY_TTL`].
    pub async fn authenticate(&self, principal: Principal, staff: Option<StaffMember>) -> HubResult<Caller> {
        match principal {
            Principal::Operator => Ok(Caller::Operator { staff }),
            Principal::Org(id) => match self.org_cached(&id).await? {
                None => Err(HubError::Unauthenticated(format!("organisation '{id}' is not registered"))),
                Some(org) if !org.active => {
                    Err(HubError::PermissionDenied(format!("organisation '{id}' is deactivated")))
                }
                Some(org) => Ok(Caller::Org { org, staff }),
            },
        }
    }

    /// Ends every event stream (the server is shutting down; clients resume from their cursor).
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// A receiver that turns true when the streams must end.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// A receiver that changes after every commit that wrote events.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// The feed of this hub's commits from now on, and the head before it: every event with a cursor
    /// up to the head has committed (so a read of the store that starts now sees it), and every
    /// commit published later arrives on the receiver. Events committed by another replica (or by
    /// another process on the same database) never arrive on it: a stream notices them as a hole
    /// between what it has seen and a commit's `first`, or by polling.
    pub fn event_feed(&self) -> (broadcast::Receiver<Arc<Committed>>, u64) {
        let head = self.feed.head.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (self.feed.tx.subscribe(), *head)
    }

    /// The feed's head (see [`Hub::event_feed`]).
    pub fn event_head(&self) -> u64 {
        *self.feed.head.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn publish(&self, events: Vec<Event>) {
        let (Some(first), Some(last)) = (events.first().map(|e| e.cursor), events.last().map(|e| e.cursor)) else {
            return;
        };
        let mut head = self.feed.head.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *head = (*head).max(last);
        // No receiver: nobody streams; the error says only that.
        let _ = self.feed.tx.send(Arc::new(Committed { first, last, events }));
    }

    /// Events of the caller's organisation after `cursor`.
    pub async fn events_after(&self, caller: &Caller, cursor: u64, limit: u32) -> HubResult<Vec<Event>> {
        let org = caller.org()?;
        Ok(self.store.events_after(&org.id, cursor, limit).await?)
    }

    async fn replay(&self, tx: &mut dyn Tx, caller: &Caller, idem: &Idem) -> HubResult<Option<Outcome>> {
        match tx.idempotent(&caller.scope(), idem.key.as_str()).await? {
            None => Ok(None),
            Some(prev) if prev.fingerprint == idem.fingerprint => serde_json::from_str(&prev.response)
                .map(Some)
                .map_err(|e| HubError::Internal(format!("stored idempotent response unreadable: {e}"))),
            Some(_) => Err(FieldError::new("idempotency_key", "was already used with a different request").into()),
        }
    }

    /// Writes the pending events, their mail jobs (the outbox), the audit records and the
    /// idempotency record, then commits and wakes the streams and the mail dispatcher.
    async fn finish(
        &self,
        mut tx: Box<dyn Tx>,
        caller: &Caller,
        idem: Option<&Idem>,
        outcome: Option<&Outcome>,
        mut pending: Pending,
    ) -> HubResult<()> {
        let cursors = tx.append_events(&pending.events).await?;
        let mails = self.enqueue_mails(tx.as_mut(), &mut pending).await?;
        tx.append_audits(&pending.audit).await?;
        for r in &pending.requests {
            tx.insert_data_request(r).await?;
        }
        if let (Some(idem), Some(outcome)) = (idem, outcome) {
            let response = serde_json::to_string(outcome).map_err(|e| HubError::Internal(e.to_string()))?;
            let r = IdempotentResponse { fingerprint: idem.fingerprint.clone(), response };
            tx.remember(&caller.scope(), idem.key.as_str(), &r, self.now()).await?;
        }
        tx.commit().await?;
        if !pending.events.is_empty() || mails > 0 {
            self.committed.send_modify(|n| *n += 1);
        }
        let mut events = pending.events;
        for (e, c) in events.iter_mut().zip(cursors) {
            e.cursor = c;
        }
        self.publish(events);
        Ok(())
    }
}

impl Pending {
    fn new() -> Self {
        Self {
            events: Vec::new(),
            audit: Vec::new(),
            mails: Vec::new(),
            requests: Vec::new(),
            known: outbox::Known::default(),
        }
    }

    /// Opens a request to `referral`'s recipient to act on `categories` (all it received when
    /// empty) because of `cause`, due after the configured working days.
    fn ask_recipient(
        &mut self,
        sla: &sla::Sla,
        cause: crate::domain::data_request::DataRequestCause,
        referral: &crate::domain::referral::Referral,
        categories: Vec<crate::domain::vocab::DataCategory>,
        now: Instant,
    ) {
        self.requests.push(crate::domain::data_request::DataRequest::new(
            cause,
            referral,
            categories,
            now,
            sla.confirm_days,
        ));
    }
}

/// Builds an audit entry for `actor`.
fn audit(
    actor: &Actor,
    at: Instant,
    action: AuditAction,
    case_id: Option<&CaseId>,
    referral_id: Option<&ReferralId>,
    legal_basis: String,
    detail: AuditDetail,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.id().to_owned(),
        staff: actor.staff().map(|s| s.as_str().to_owned()),
        action,
        case_id: case_id.cloned(),
        referral_id: referral_id.cloned(),
        legal_basis,
        detail,
    }
}

impl Hub {
    /// Today by the hub's clock (for edge validation of dates).
    pub fn clock_today(&self) -> Day {
        self.today()
    }

    /// The audit trail of a case (accountability, DOMAIN.md rule 10).
    pub async fn audit_of_case(&self, case: &CaseId) -> HubResult<Vec<AuditEntry>> {
        Ok(self.store.audit_of_case(case).await?)
    }

    /// Now by the hub's clock.
    pub fn clock_now(&self) -> Instant {
        self.now()
    }
}
