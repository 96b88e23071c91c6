//! Storage behind one interface. The domain and services see these traits and `StoreError` only;
//! sqlx types never leave the backend modules. A write runs in one [`Tx`]: the change, its events,
//! its audit records and its idempotency record commit together or not at all.

mod group;
mod health;
pub mod postgres;
mod sealed;
mod shared;
pub mod sqlite;

pub use health::{Condition, Outage, StoreTimeouts};

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::case::Case;
use crate::domain::certificate::{IssuedCertificate, Serial};
use crate::domain::consent::Consent;
use crate::domain::data_request::DataRequest;
use crate::domain::document::DocumentMeta;
use crate::domain::erasure::Erasure;
use crate::domain::event::Event;
use crate::domain::ids::{CaseId, ConsentId, DataRequestId, NoticeId, OrgId, ReferralId};
use crate::domain::mail::{JobStatus, MailJob};
use crate::domain::notice::Notice;
use crate::domain::org::Organisation;
use crate::domain::referral::{Referral, ReferralState};
use crate::domain::staff::{StaffAccount, StaffSession, Username};
use crate::domain::time::{Day, Instant};
use crate::vault::Vault;

/// Store-level errors. Backends map their driver errors onto these and log the details.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A row that must exist does not.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is busy, unreachable, full or failing; the caller may retry (see [`Outage`]).
    #[error("storage unavailable: {0}")]
    Unavailable(Outage),
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

/// Filter of a listing of requests to recipients (Art. 19 GDPR); every filter set must match.
#[derive(Debug, Clone, Default)]
pub struct DataRequestQuery {
    /// Only requests to this organisation.
    pub recipient: Option<OrgId>,
    /// Only requests of this Fachstelle's cases.
    pub owner: Option<OrgId>,
    /// Only requests about this case.
    pub case_id: Option<CaseId>,
    /// Only requests not confirmed yet.
    pub open_only: bool,
}

/// The decoding a generic row reader needs from a backend's row: text, numbers and their NULLs.
pub(crate) trait Decodes<'r>: sqlx::Row
where
    &'r str: sqlx::ColumnIndex<Self>,
{
    /// Column `col`, or an error naming it.
    fn cell<T>(&'r self, col: &'r str) -> Result<T, StoreError>
    where
        T: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
    {
        self.try_get(col).map_err(|e| StoreError::Other(format!("column {col}: {e}")))
    }
}

impl<'r, R: sqlx::Row> Decodes<'r> for R where &'r str: sqlx::ColumnIndex<R> {}

/// An audit row with its chain columns (ids kept as stored text; see [`AuditRecord`]), on either backend.
pub(crate) fn audit_record<'r, R>(r: &'r R) -> Result<AuditRecord, StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(AuditRecord {
        seq: r.cell("seq")?,
        at: Instant::from_millis(r.cell("occurred_at")?),
        actor: r.cell("actor_id")?,
        staff: r.cell("staff_member")?,
        action: r.cell("action")?,
        case_id: r.cell("case_id")?,
        referral_id: r.cell("referral_id")?,
        legal_basis: r.cell("legal_basis")?,
        detail: r.cell("detail")?,
        prev_hash: r.cell("prev_hash")?,
        hash: r.cell("hash")?,
    })
}

/// An audit seal from its row, on either backend.
pub(crate) fn audit_seal<'r, R>(r: &'r R) -> Result<AuditSeal, StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(AuditSeal {
        seq: r.cell("seq")?,
        hash: r.cell("hash")?,
        sealed_at: Instant::from_millis(r.cell("sealed_at")?),
        signature: r.cell("signature")?,
    })
}

/// The links that chain `entries` after the audit record whose hash is `prev`, in order: each
/// entry's previous hash and its own. The last hash is the chain's new head.
pub(crate) fn chain_links(mut prev: String, entries: &[AuditEntry]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|a| {
            let hash = crate::audit::record_hash(&prev, &crate::audit::Fields::from(a));
            (std::mem::replace(&mut prev, hash.clone()), hash)
        })
        .collect()
}

/// Mail jobs claimed by `claim_mails`, from their rows (`seq`, `body`), in outbox order.
pub(crate) fn claimed_mails<'r, R>(rows: &'r [R]) -> Result<Vec<MailJob>, StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut jobs = rows
        .iter()
        .map(|r| {
            let job = serde_json::from_str(r.cell::<&str>("body")?)
                .map_err(|e| StoreError::Other(format!("stored mail job: {e}")))?;
            Ok((r.cell::<i64>("seq")?, job))
        })
        .collect::<Result<Vec<(i64, MailJob)>, StoreError>>()?;
    jobs.sort_by_key(|(seq, _)| *seq);
    Ok(jobs.into_iter().map(|(_, j)| j).collect())
}

/// A certificate from its row (same column names on both backends).
pub(crate) fn certificate_of<'r, R>(row: &'r R) -> Result<IssuedCertificate, StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let at = |col: &'r str| -> Result<Option<Instant>, StoreError> {
        Ok(row.cell::<Option<i64>>(col)?.map(Instant::from_millis))
    };
    let org = row.cell::<Option<String>>("org_id")?;
    Ok(IssuedCertificate {
        serial: Serial::parse(&row.cell::<String>("serial")?).map_err(|e| StoreError::Other(e.en))?,
        org: org.map(|o| OrgId::parse(&o)).transpose().map_err(|e| StoreError::Other(e.to_string()))?,
        issued_at: at("issued_at")?,
        not_after: at("not_after")?,
        revoked_at: at("revoked_at")?,
    })
}

/// Counts of the outbox for [`Tx::outbox_counts`], the same text on both backends.
pub(crate) const OUTBOX_COUNTS: &str =
    "SELECT COALESCE(SUM(CASE WHEN status = 'PENDING' THEN 1 ELSE 0 END), 0) AS pending,
        COALESCE(SUM(CASE WHEN status = 'DEAD' THEN 1 ELSE 0 END), 0) AS dead FROM outbox";

/// Mails in the outbox by state.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutboxCounts {
    /// Waiting to be sent.
    pub pending: u64,
    /// Given up on.
    pub dead: u64,
}

/// Connections of a store's pools.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolUsage {
    /// Lent out now.
    pub in_use: u32,
    /// Open and waiting.
    pub idle: u32,
}

/// Filter of a mail job listing.
#[derive(Debug, Clone, Default)]
pub struct MailQuery {
    /// Only jobs to this organisation.
    pub org: Option<OrgId>,
    /// Only jobs in this state.
    pub status: Option<JobStatus>,
    /// Only jobs about this referral.
    pub referral: Option<ReferralId>,
    /// At most this many, newest first.
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
    /// What was done.
    pub action: AuditAction,
    /// Case concerned.
    pub case_id: Option<CaseId>,
    /// Referral concerned.
    pub referral_id: Option<ReferralId>,
    /// Legal basis, e.g. `consent:<id>`, `statute:§69 ...`, `owner` for the case owner.
    pub legal_basis: String,
    /// Which data (categories, objects), never the data itself.
    pub detail: AuditDetail,
}

/// One audit record as stored, with its place in the hash chain (see [`crate::audit`]). Ids are kept
/// as the raw stored text, not parsed: verification must hash exactly what is in the database, and an
/// altered id must be reported as an alteration, not fail as an unreadable row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log (ascending, gaps possible).
    pub seq: i64,
    /// When.
    pub at: Instant,
    /// Organisation id, `operator` or `hub`.
    pub actor: String,
    /// Named staff member.
    pub staff: Option<String>,
    /// What was done.
    pub action: String,
    /// Case concerned, as stored.
    pub case_id: Option<String>,
    /// Referral concerned, as stored.
    pub referral_id: Option<String>,
    /// Legal basis.
    pub legal_basis: String,
    /// Which data, in words.
    pub detail: String,
    /// Hash of the previous chained record (the genesis value for the first); `None` for records
    /// written before the chain began (migration 0004).
    pub prev_hash: Option<String>,
    /// SHA-256 over `prev_hash` and the fields, hex; `None` for records before the chain began.
    pub hash: Option<String>,
}

impl AuditRecord {
    /// The action, when it is one the hub knows.
    pub fn action(&self) -> Option<AuditAction> {
        AuditAction::parse(&self.action)
    }

    /// The detail as fields (see [`AuditDetail::read`]).
    pub fn detail(&self) -> AuditDetail {
        AuditDetail::read(&self.detail)
    }
}

/// Filter of an audit listing (export, verification), evaluated by the store; oldest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only records about this case.
    pub case_id: Option<CaseId>,
    /// Only records made by this actor (an organisation id, `operator` or `hub`).
    pub actor: Option<String>,
    /// Only records at or after this instant.
    pub from: Option<Instant>,
    /// Only records before this instant.
    pub before: Option<Instant>,
    /// Start after this position (paging).
    pub after_seq: i64,
    /// Page size.
    pub limit: u32,
}

/// A signed statement of the hub that the audit chain's head was `hash` at `seq` (see
/// [`crate::audit::seal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSeal {
    /// The sealed record's position.
    pub seq: i64,
    /// The sealed record's hash.
    pub hash: String,
    /// When the seal was made.
    pub sealed_at: Instant,
    /// Ed25519 signature over [`crate::audit::seal_message`], hex.
    pub signature: String,
}

/// The newest audit record's position and hash (`None` for a record written before the chain began).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// Position.
    pub seq: i64,
    /// Hash, if chained.
    pub hash: Option<String>,
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
    /// What the store last saw of its database: the outcome of the latest write (begin and commit) or
    /// probe, whichever came last. Health and readiness follow it.
    fn condition(&self) -> tokio::sync::watch::Receiver<Condition>;
    /// Checks that the database answers and can take writes (SQLite: the writer connection answers and
    /// its file system has room; PostgreSQL: a connection answers), bounded by the connect timeout, and
    /// records the outcome in [`Store::condition`].
    async fn probe(&self) -> Result<(), StoreError>;
    /// Connections of the store's pools: in use and idle (for the metrics).
    fn pool_usage(&self) -> PoolUsage;
    /// Starts a write transaction (serialised with other writers where the backend needs it).
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// Starts a read-only transaction on a consistent snapshot. It takes no write lock, so reads never
    /// queue behind writers (on PostgreSQL: behind writers of every replica); writes through it fail.
    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// Events for `audience` after `cursor`, oldest first, at most `limit`.
    async fn events_after(&self, audience: &OrgId, cursor: u64, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// Reads an organisation outside a write transaction (authentication on every call).
    async fn org_by_id(&self, id: &OrgId) -> Result<Option<Organisation>, StoreError>;
    /// The audit records of a case, oldest first (for the data protection officer and tests).
    async fn audit_of_case(&self, case: &CaseId) -> Result<Vec<AuditEntry>, StoreError>;
    /// Claims up to `limit` pending mail jobs due at `now` whose lease is free or ran out, for
    /// `owner` until `lease_until`, oldest first. Claims of concurrent dispatchers (other replicas)
    /// never overlap; a crashed dispatcher's claims become free again when their lease runs out.
    /// Frees the leases `owner` still holds on unsent mail (a dispatcher shutting down), so another
    /// replica, or this one after a restart, takes them at once. Returns how many were freed.
    async fn release_mail_leases(&self, owner: &str) -> Result<u64, StoreError>;
    /// Extends the leases `owner` holds to `until` (a dispatcher still sending a long round).
    async fn renew_mail_leases(&self, owner: &str, until: Instant) -> Result<u64, StoreError>;
    async fn claim_mails(
        &self,
        owner: &str,
        now: Instant,
        lease_until: Instant,
        limit: u32,
    ) -> Result<Vec<MailJob>, StoreError>;
}

/// Operations inside one transaction. Dropping a `Tx` without `commit` rolls it back.
///
/// A method that fails leaves the transaction for dropping only: PostgreSQL aborts the whole transaction
/// on a failed statement (a later `commit` would silently roll back), SQLite only the statement. Every use
/// case returns on the first error, so both backends keep all of a change or none of it.
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
    /// Stores a document of a case, sealed with the case's key.
    async fn insert_document(&mut self, meta: &DocumentMeta, content: &[u8]) -> Result<(), StoreError>;
    /// The documents of a case (without their content), oldest first.
    async fn documents_of_case(&mut self, case: &CaseId) -> Result<Vec<DocumentMeta>, StoreError>;
    /// One document of a case with its content.
    async fn document(&mut self, case: &CaseId, id: &str) -> Result<Option<(DocumentMeta, Vec<u8>)>, StoreError>;
    /// Replaces a consent.
    async fn update_consent(&mut self, consent: &Consent) -> Result<(), StoreError>;

    /// Stores a new request to a recipient (Art. 19 GDPR).
    async fn insert_data_request(&mut self, request: &DataRequest) -> Result<(), StoreError>;
    /// Replaces a request (with its confirmation).
    async fn update_data_request(&mut self, request: &DataRequest) -> Result<(), StoreError>;
    /// One request.
    async fn data_request(&mut self, id: &DataRequestId) -> Result<Option<DataRequest>, StoreError>;
    /// The requests matching `q`, oldest first.
    async fn data_requests(&mut self, q: &DataRequestQuery) -> Result<Vec<DataRequest>, StoreError>;

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
    /// Reads the notices with these keys (see [`Notice::key`]); keys without a notice are left out.
    /// Set-based for bulk intake; the default reads one key at a time.
    async fn notices_by_keys(&mut self, keys: &[String]) -> Result<Vec<Notice>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.extend(self.notice_by_key(k).await?);
        }
        Ok(out)
    }
    /// Inserts new notices, in order; `Conflict` if a key exists (and nothing of the transaction may
    /// then be committed). Set-based for bulk intake; the default inserts one at a time.
    async fn insert_notices(&mut self, notices: &[Notice]) -> Result<(), StoreError> {
        for n in notices {
            self.insert_notice(n).await?;
        }
        Ok(())
    }
    /// Replaces a notice.
    async fn update_notice(&mut self, notice: &Notice) -> Result<(), StoreError>;

    /// Notes of a referral, oldest first.
    async fn notes(&mut self, referral: &ReferralId) -> Result<Vec<crate::domain::note::Note>, StoreError>;
    /// Inserts a note.
    async fn insert_note(&mut self, note: &crate::domain::note::Note) -> Result<(), StoreError>;

    /// Appends an event; returns its cursor.
    async fn append_event(&mut self, event: &Event) -> Result<u64, StoreError>;
    /// Appends events in order; returns their cursors, ascending, one per event. The default
    /// appends one at a time.
    async fn append_events(&mut self, events: &[Event]) -> Result<Vec<u64>, StoreError> {
        let mut cursors = Vec::with_capacity(events.len());
        for e in events {
            cursors.push(self.append_event(e).await?);
        }
        Ok(cursors)
    }
    /// Appends an audit record, chained to the newest one (see [`crate::audit`]). Writers are
    /// serialised, so the head read here is the head the record follows; the head is read once per
    /// transaction and then kept, so many records in one transaction cost one extra read.
    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Appends audit records in order, each chained to the one before. The default appends one at
    /// a time.
    async fn append_audits(&mut self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        for a in entries {
            self.append_audit(a).await?;
        }
        Ok(())
    }
    /// Audit records matching `q`, oldest first, with their chain columns.
    async fn audit_records(&mut self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
    /// The newest audit record, if any.
    async fn audit_head(&mut self) -> Result<Option<AuditHead>, StoreError>;
    /// Seals after position `after_seq`, by position, at most `limit`.
    async fn audit_seals(&mut self, after_seq: i64, limit: u32) -> Result<Vec<AuditSeal>, StoreError>;
    /// The newest seal, if any.
    async fn last_audit_seal(&mut self) -> Result<Option<AuditSeal>, StoreError>;
    /// Stores a seal; `Conflict` if that position is sealed already.
    async fn insert_audit_seal(&mut self, seal: &AuditSeal) -> Result<(), StoreError>;

    /// Inserts a mail job (the outbox: in the transaction of the change it announces).
    async fn insert_mail(&mut self, job: &MailJob) -> Result<(), StoreError>;
    /// Reads a mail job.
    async fn mail(&mut self, id: &str) -> Result<Option<MailJob>, StoreError>;
    /// Replaces a mail job and releases its lease.
    async fn update_mail(&mut self, job: &MailJob) -> Result<(), StoreError>;
    /// Mail jobs matching `q`, newest first.
    async fn mails(&mut self, q: &MailQuery) -> Result<Vec<MailJob>, StoreError>;
    /// The certificate with `serial`, if the hub knows it.
    async fn certificate(&mut self, serial: &Serial) -> Result<Option<IssuedCertificate>, StoreError>;
    /// Every certificate the hub knows, oldest first.
    async fn certificates(&mut self) -> Result<Vec<IssuedCertificate>, StoreError>;
    /// Inserts or replaces the record of a certificate.
    async fn save_certificate(&mut self, cert: &IssuedCertificate) -> Result<(), StoreError>;
    /// How many mails wait (`PENDING`) and how many were given up on (`DEAD`), for the metrics.
    async fn outbox_counts(&mut self) -> Result<OutboxCounts, StoreError>;

    /// The stored response for an idempotency key.
    async fn idempotent(&mut self, scope: &str, key: &str) -> Result<Option<IdempotentResponse>, StoreError>;
    /// Stores the response for an idempotency key.
    async fn remember(&mut self, scope: &str, key: &str, r: &IdempotentResponse, at: Instant)
    -> Result<(), StoreError>;

    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Closed cases whose erasure day is `today` or earlier, by that day, at most `limit`.
    async fn cases_due_for_erasure(&mut self, today: Day, limit: u32) -> Result<Vec<CaseId>, StoreError>;
    /// Erases a case: destroys its data key (and those of its notices), deletes it with its consents,
    /// referrals, notes, notices, mail jobs and events, and stores `erasure` (which holds no personal
    /// data). Returns the number of rows deleted. Audit records stay.
    async fn erase_case(&mut self, erasure: &Erasure) -> Result<u64, StoreError>;
    /// The erasure record of a case.
    async fn erasure(&mut self, case: &CaseId) -> Result<Option<Erasure>, StoreError>;
    /// Every erasure record, oldest first (statistics).
    async fn erasures(&mut self) -> Result<Vec<Erasure>, StoreError>;
    /// Erases up to `limit` notices never taken up into a case whose last update was before
    /// `before`: their data keys and rows. Returns how many.
    async fn erase_untaken_notices(&mut self, before: Instant, limit: u32) -> Result<u64, StoreError>;
    /// Keeps the day a Schonfrist cure was used for `subject` (stored as a keyed hash, never in
    /// plain) until `keep_until`.
    async fn keep_cure(&mut self, subject: &str, cured_on: Day, keep_until: Day) -> Result<(), StoreError>;
    /// The kept cure days of `subject`, oldest first.
    async fn cures(&mut self, subject: &str) -> Result<Vec<Day>, StoreError>;
    /// Deletes kept cures whose time ended before `today`; how many.
    async fn purge_cures(&mut self, today: Day) -> Result<u64, StoreError>;
    /// Re-wraps up to `limit` data keys that the active master key does not wrap yet; how many.
    async fn rewrap_data_keys(&mut self, limit: u32) -> Result<usize, StoreError>;
    /// How many data keys each master key wraps, by master key id.
    async fn data_key_census(&mut self) -> Result<Vec<(String, u64)>, StoreError>;

    // Dashboard accounts and sessions (migration 0006).
    /// The staff account of `username`.
    async fn staff_account(&mut self, username: &Username) -> Result<Option<StaffAccount>, StoreError>;
    /// Every staff account, by username.
    async fn staff_accounts(&mut self) -> Result<Vec<StaffAccount>, StoreError>;
    /// Inserts or replaces a staff account.
    async fn save_staff_account(&mut self, account: &StaffAccount) -> Result<(), StoreError>;
    /// Stores a new session.
    async fn insert_session(&mut self, session: &StaffSession) -> Result<(), StoreError>;
    /// The session with this token hash.
    async fn session(&mut self, token_hash: &str) -> Result<Option<StaffSession>, StoreError>;
    /// Records a request of the session at `at`.
    async fn touch_session(&mut self, token_hash: &str, at: Instant) -> Result<(), StoreError>;
    /// Ends one session (sign-out).
    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of `username` (account disabled or password changed); how many.
    async fn delete_sessions_of(&mut self, username: &Username) -> Result<u64, StoreError>;
    /// Deletes sessions idle since before `idle_before` or signed in before `created_before`; how many.
    async fn purge_sessions(&mut self, idle_before: Instant, created_before: Instant) -> Result<u64, StoreError>;
}

/// What opening a store does about migrations the database has not applied yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MigrationMode {
    /// Apply them (the default; replicas starting at once are safe, see the backends).
    #[default]
    Apply,
    /// Apply nothing and refuse to open, naming them (for controlled roll-outs: `hub migrate` first).
    /// Checks only: on an empty database it creates no tables.
    RequireCurrent,
}

/// Opens (and migrates) the store named by `url`: `sqlite:...` or `postgres:`/`postgresql:...`.
/// Personal data is sealed with keys wrapped by `vault`'s master keys (see [`crate::vault`]).
pub async fn open(url: &str, vault: Arc<Vault>) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, MigrationMode::Apply, vault).await
}

/// Opens the store named by `url`, handling pending migrations as `mode` says. With
/// [`MigrationMode::RequireCurrent`] a database with pending migrations is an error naming them.
/// Either way a migration that was applied with a different checksum (the file changed since), one
/// this hub does not know (a newer hub migrated the database) or a half-applied one is an error.
pub async fn open_with(url: &str, mode: MigrationMode, vault: Arc<Vault>) -> Result<Arc<dyn Store>, StoreError> {
    open_with_timeouts(url, mode, vault, StoreTimeouts::default()).await
}

/// [`open_with`] with the timeouts of the configuration (`[database]`).
pub async fn open_with_timeouts(
    url: &str,
    mode: MigrationMode,
    vault: Arc<Vault>,
    timeouts: StoreTimeouts,
) -> Result<Arc<dyn Store>, StoreError> {
    match backend(url)? {
        Backend::Sqlite => Ok(Arc::new(sqlite::SqliteStore::open_url_with(url, mode, vault).await?)),
        Backend::Postgres => Ok(Arc::new(postgres::PgStore::open_configured(url, mode, vault, timeouts).await?)),
    }
}

/// Applies the pending migrations of the database named by `url` and returns what it applied, as
/// `"<version> <description>"` (e.g. `"0002 notices"`), oldest first; empty when it was up to date.
pub async fn migrate(url: &str) -> Result<Vec<String>, StoreError> {
    match backend(url)? {
        Backend::Sqlite => sqlite::migrate(url).await,
        Backend::Postgres => postgres::migrate(url).await,
    }
}

/// The migrations the database named by `url` has not applied yet, as [`migrate`] names them. Checks
/// only (creates nothing in PostgreSQL; a missing SQLite file is created empty).
pub async fn pending_migrations(url: &str) -> Result<Vec<String>, StoreError> {
    match backend(url)? {
        Backend::Sqlite => sqlite::pending_migrations(url).await,
        Backend::Postgres => postgres::pending_migrations(url).await,
    }
}

enum Backend {
    Sqlite,
    Postgres,
}

fn backend(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL scheme (expected sqlite:, postgres: or postgresql:): '{}'",
            url.split(':').next().unwrap_or_default()
        )))
    }
}

/// Migration bookkeeping shared by both backends, over sqlx's `Migrate` trait (sqlx stays inside the
/// store layer). The same steps as sqlx's `Migrator::run`, but the caller learns what was pending and
/// what was applied, and a check never creates the bookkeeping table.
mod migration {
    use std::collections::HashMap;

    use sqlx::migrate::{Migrate, MigrateError, Migration, Migrator};

    use super::StoreError;

    /// How a migration is named to people: `0002 notices` (file `0002_notices.sql`).
    pub(super) fn name(m: &Migration) -> String {
        format!("{:04} {}", m.version, m.description)
    }

    fn failed(e: MigrateError) -> StoreError {
        tracing::error!(error = %e, "migration failed");
        StoreError::Other(format!("migration failed: {e}"))
    }

    /// The migrations of `migrator` the database has not applied, oldest first. `table_exists` says
    /// whether the bookkeeping table exists (without it nothing was applied, and nothing is created).
    pub(super) async fn pending<'m, C: Migrate>(
        migrator: &'m Migrator,
        conn: &mut C,
        table_exists: bool,
    ) -> Result<Vec<&'m Migration>, StoreError> {
        let ups = migrator.iter().filter(|m| !m.migration_type.is_down_migration());
        if !table_exists {
            return Ok(ups.collect());
        }
        let table = migrator.table_name.as_ref();
        if let Some(v) = conn.dirty_version(table).await.map_err(failed)? {
            return Err(StoreError::Other(format!(
                "migration {v:04} is only partially applied; repair the database and its row in {table}"
            )));
        }
        let applied: HashMap<i64, Vec<u8>> = conn
            .list_applied_migrations(table)
            .await
            .map_err(failed)?
            .into_iter()
            .map(|a| (a.version, a.checksum.into_owned()))
            .collect();
        let mut unknown: Vec<i64> = applied.keys().copied().filter(|v| !migrator.version_exists(*v)).collect();
        unknown.sort_unstable();
        if let Some(v) = unknown.first() {
            return Err(StoreError::Other(format!(
                "the database has migration {v:04} applied, which this hub does not know (was it migrated by a newer \
                 hub version?)"
            )));
        }
        let mut out = Vec::new();
        for m in ups {
            match applied.get(&m.version) {
                Some(sum) if sum.as_slice() != m.checksum.as_ref() => {
                    return Err(StoreError::Other(format!(
                        "migration {} was applied with a different checksum: its file changed after it was applied",
                        name(m)
                    )));
                }
                Some(_) => {}
                None => out.push(m),
            }
        }
        Ok(out)
    }

    /// The error of opening a store in `RequireCurrent` mode with `pending` migrations.
    pub(super) fn refuse(pending: &[&Migration]) -> StoreError {
        let names: Vec<String> = pending.iter().map(|m| name(m)).collect();
        StoreError::Other(format!(
            "the database has {} pending migration(s): {}; auto_migrate is off, so run `hub migrate` first",
            names.len(),
            names.join(", ")
        ))
    }

    /// Applies the pending migrations of `migrator` under the backend's migration lock (an advisory
    /// lock in PostgreSQL; SQLite's writer lock serialises anyway) and names what it applied. On error
    /// the caller must drop the connection, since the lock may still be held by it.
    pub(super) async fn apply<C: Migrate>(migrator: &Migrator, conn: &mut C) -> Result<Vec<String>, StoreError> {
        let table = migrator.table_name.as_ref();
        conn.lock().await.map_err(failed)?;
        conn.ensure_migrations_table(table).await.map_err(failed)?;
        let pending = pending(migrator, conn, true).await?;
        let mut applied = Vec::new();
        for m in pending {
            conn.apply(table, m).await.map_err(failed)?;
            tracing::info!(migration = %name(m), "migration applied");
            applied.push(name(m));
        }
        conn.unlock().await.map_err(failed)?;
        Ok(applied)
    }
}
