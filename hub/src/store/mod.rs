//! Storage behind one interface. The domain and services see these traits and `StoreError` only;
//! sqlx types never leave the backend modules. A write runs in one [`Tx`]: the change, its events,
//! its audit records and its idempotency record commit together or not at all.

pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;

use crate::domain::case::Case;
use crate::domain::consent::Consent;
use crate::domain::event::Event;
use crate::domain::ids::{CaseId, ConsentId, NoticeId, OrgId, ReferralId};
use crate::domain::notice::Notice;
use crate::domain::org::Organisation;
use crate::domain::referral::{Referral, ReferralState};
use crate::domain::time::{Day, Instant};

/// Store-level errors. Backends map their driver errors onto these and log the details.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row that must exist does not.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is busy or unreachable; the caller may retry.
    #[error("storage unavailable")]
    Unavailable,
    /// Anything else (corrupt row, bug). Details are logged by the backend.
    #[error("storage error: {0}")]
    Other(String),
}

/// Filter of a referral listing, evaluated by the store.
#[derive(Debug, Clone, Default)]
pub struct ReferralQuery {
    /// Only referrals sent by this organisation.
    pub sender: Option<OrgId>,
    /// Only referrals addressed to this organisation.
    pub recipient: Option<OrgId>,
    /// Only referrals where this organisation is sender or recipient.
    pub partner: Option<OrgId>,
    /// Only these states (empty: all).
    pub states: Vec<ReferralState>,
    /// Only this case.
    pub case_id: Option<CaseId>,
    /// Only referrals that await a decision with a reply-by day before this one.
    pub overdue_on: Option<Day>,
    /// Only referrals created at or before this instant.
    pub created_before: Option<Instant>,
    /// Start after this position (page token).
    pub after_seq: i64,
    /// Page size.
    pub limit: u32,
}

/// One audit record.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// When.
    pub at: Instant,
    /// Organisation id, `operator` or `hub`.
    pub actor: String,
    /// Named staff member.
    pub staff: Option<String>,
    /// What was done, e.g. `referral.read`.
    pub action: String,
    /// Case concerned.
    pub case_id: Option<CaseId>,
    /// Referral concerned.
    pub referral_id: Option<ReferralId>,
    /// Legal basis, e.g. `consent:<id>`, `statute:§69 ...`, `owner` for the case owner.
    pub legal_basis: String,
    /// Which data, in words (categories), never the data itself.
    pub detail: String,
}

/// A stored idempotent response.
#[derive(Debug, Clone)]
pub struct IdempotentResponse {
    /// Fingerprint of the request that produced it.
    pub fingerprint: String,
    /// The response, serialised by the service layer.
    pub response: String,
}

/// A storage backend.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Starts a write transaction (serialised with other writers where the backend needs it).
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// Events for `audience` after `cursor`, oldest first, at most `limit`.
    async fn events_after(&self, audience: &OrgId, cursor: u64, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// Reads an organisation outside a write transaction (authentication on every call).
    async fn org_by_id(&self, id: &OrgId) -> Result<Option<Organisation>, StoreError>;
    /// The audit records of a case, oldest first (for the data protection officer and tests).
    async fn audit_of_case(&self, case: &CaseId) -> Result<Vec<AuditEntry>, StoreError>;
    /// Quick liveness check for the health service.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Operations inside one transaction. Dropping a `Tx` without `commit` rolls it back.
#[async_trait]
pub trait Tx: Send {
    /// Reads an organisation.
    async fn org(&mut self, id: &OrgId) -> Result<Option<Organisation>, StoreError>;
    /// All organisations, by id.
    async fn orgs(&mut self) -> Result<Vec<Organisation>, StoreError>;
    /// Inserts an organisation; `Conflict` if the id exists.
    async fn insert_org(&mut self, org: &Organisation) -> Result<(), StoreError>;
    /// Replaces an organisation.
    async fn update_org(&mut self, org: &Organisation) -> Result<(), StoreError>;

    /// Reads a case.
    async fn case(&mut self, id: &CaseId) -> Result<Option<Case>, StoreError>;
    /// All cases, newest first.
    async fn cases(&mut self) -> Result<Vec<Case>, StoreError>;
    /// Inserts a case.
    async fn insert_case(&mut self, case: &Case) -> Result<(), StoreError>;
    /// Replaces a case.
    async fn update_case(&mut self, case: &Case) -> Result<(), StoreError>;

    /// Reads a consent.
    async fn consent(&mut self, id: &ConsentId) -> Result<Option<Consent>, StoreError>;
    /// Consents of a case, oldest first.
    async fn consents_of_case(&mut self, case: &CaseId) -> Result<Vec<Consent>, StoreError>;
    /// Active consents whose last valid day is before `today`.
    async fn consents_expired_before(&mut self, today: Day) -> Result<Vec<Consent>, StoreError>;
    /// Inserts a consent.
    async fn insert_consent(&mut self, consent: &Consent) -> Result<(), StoreError>;
    /// Replaces a consent.
    async fn update_consent(&mut self, consent: &Consent) -> Result<(), StoreError>;

    /// Reads a referral.
    async fn referral(&mut self, id: &ReferralId) -> Result<Option<Referral>, StoreError>;
    /// Referrals of a case, oldest first.
    async fn referrals_of_case(&mut self, case: &CaseId) -> Result<Vec<Referral>, StoreError>;
    /// A page of referrals with their positions, oldest first.
    async fn referrals(&mut self, q: &ReferralQuery) -> Result<Vec<(i64, Referral)>, StoreError>;
    /// Inserts a referral.
    async fn insert_referral(&mut self, r: &Referral) -> Result<(), StoreError>;
    /// Replaces a referral.
    async fn update_referral(&mut self, r: &Referral) -> Result<(), StoreError>;

    /// Reads a notice.
    async fn notice(&mut self, id: &NoticeId) -> Result<Option<Notice>, StoreError>;
    /// Reads a notice by its key (see [`Notice::key`]).
    async fn notice_by_key(&mut self, key: &str) -> Result<Option<Notice>, StoreError>;
    /// Notices not yet taken up, oldest first.
    async fn open_notices(&mut self) -> Result<Vec<Notice>, StoreError>;
    /// Notices reported by an organisation, by key.
    async fn notices_of_reporter(&mut self, org: &OrgId) -> Result<Vec<Notice>, StoreError>;
    /// Inserts a notice; `Conflict` if its key exists.
    async fn insert_notice(&mut self, notice: &Notice) -> Result<(), StoreError>;
    /// Replaces a notice.
    async fn update_notice(&mut self, notice: &Notice) -> Result<(), StoreError>;

    /// Notes of a referral, oldest first.
    async fn notes(&mut self, referral: &ReferralId) -> Result<Vec<crate::domain::note::Note>, StoreError>;
    /// Inserts a note.
    async fn insert_note(&mut self, note: &crate::domain::note::Note) -> Result<(), StoreError>;

    /// Appends an event; returns its cursor.
    async fn append_event(&mut self, event: &Event) -> Result<u64, StoreError>;
    /// Appends an audit record.
    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The stored response for an idempotency key.
    async fn idempotent(&mut self, scope: &str, key: &str) -> Result<Option<IdempotentResponse>, StoreError>;
    /// Stores the response for an idempotency key.
    async fn remember(&mut self, scope: &str, key: &str, r: &IdempotentResponse, at: Instant)
    -> Result<(), StoreError>;

    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Opens (and migrates) the store named by `url`: `sqlite:...` or `postgres:`/`postgresql:...`.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open_url(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(std::sync::Arc::new(postgres::PgStore::open(url).await?))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL scheme (expected sqlite:, postgres: or postgresql:): '{}'",
            url.split(':').next().unwrap_or_default()
        )))
    }
}
