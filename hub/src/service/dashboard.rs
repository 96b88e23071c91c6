//! Read models of the Fachstelle dashboard: what the "Heute", "Vermittlungen", "Fälle", case and
//! partner pages show, assembled from the store in one transaction each.
//!
//! The models are plain structs over domain types (no proto types), so the views stay pure
//! functions. Authorisation is that of the gRPC API (`Caller::fachstelle`, only the caller's own
//! cases), and every model that carries personal data records one audit entry per case shown in
//! the commit of the transaction that read it, as `get_case` does. Cases whose processing is
//! restricted (Art. 18 GDPR) appear in lists without the tenant's name.

use crate::domain::audit::{AuditAction, AuditDetail};
use std::collections::{BTreeMap, HashMap};

use super::{Caller, Hub, HubError, HubResult, Pending, ReferralView, TriageItem, audit};
use crate::domain::case::{Case, Closure, StageEntry};
use crate::domain::consent::Consent;
use crate::domain::data_request::DataRequest;
use crate::domain::deadline::{CaseDeadline, for_case};
use crate::domain::ids::{Actor, CaseId, Cents, ConsentId, NoticeId, OrgId, ReferralId};
use crate::domain::mail::{JobStatus, MailJob, MailKind};
use crate::domain::matching::Search;
use crate::domain::note::Note;
use crate::domain::notice::{Notice, NoticeData};
use crate::domain::org::Organisation;
use crate::domain::referral::{Move, Reason, Referral, ReferralState, Transition};
use crate::domain::staff::Username;
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::{
    CaseOutcome, Channel, ConsentStatus, DataCategory, OrgKind, ReferralCategory, RouteIn, Stadtbezirk, ThreatStage,
};
use crate::domain::workdays;
use crate::store::{MailQuery, ReferralQuery, Tx};

/// The horizon of the "Heute" page: deadlines within this many working days.
pub const TODAY_HORIZON_WORKING_DAYS: u32 = 15;

/// Rows per store page when a model reads every referral of a query.
const PAGE: u32 = 500;

/// Most open notices the "Heute" page lists.
const NOTICE_LIMIT: usize = 50;

/// Most failed mail jobs read per status for the "Heute" page.
const MAIL_LIMIT: u32 = 500;

/// A case as a list shows it: its id and the main tenant's name, or no name while processing is
/// restricted (Art. 18 GDPR). Never the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLabel {
    /// The case.
    pub id: CaseId,
    /// "Family, Given" of the main tenant; `None` while restricted.
    pub name: Option<String>,
}

impl CaseLabel {
    /// The label of `case`.
    pub fn of(case: &Case) -> Self {
        let name = if case.restriction.is_some() {
            None
        } else {
            case.details
                .persons
                .iter()
                .find(|p| p.role == crate::domain::vocab::PersonRole::MainTenant)
                .map(|p| format!("{}, {}", p.family_name, p.given_name))
        };
        Self { id: case.id.clone(), name }
    }

    /// Whether the label shows personal data.
    pub fn named(&self) -> bool {
        self.name.is_some()
    }
}

/// An organisation by id and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRef {
    /// Id.
    pub id: OrgId,
    /// Display name (the id if the organisation is unknown).
    pub name: String,
}

/// Who did something, with the organisation's display name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// An organisation, with the staff member it named.
    Org {
        /// The organisation.
        org: PartnerRef,
        /// Staff member, if named.
        staff: Option<String>,
    },
    /// The hub operator.
    Operator {
        /// Staff member, if named.
        staff: Option<String>,
    },
    /// The hub itself, acting on a rule (revocation, expiry, closure).
    Hub,
}

/// A deadline of an open case on the "Heute" page.
#[derive(Debug, Clone)]
pub struct DeadlineRow {
    /// The case.
    pub case: CaseLabel,
    /// The deadline.
    pub deadline: CaseDeadline,
    /// Working days from today to the deadline (0: today).
    pub working_days_left: u32,
}

/// The last handoff of a referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastEvent {
    /// The move (`None`: creation).
    pub mv: Option<Move>,
    /// State after it.
    pub to: ReferralState,
    /// When.
    pub at: Instant,
    /// Who.
    pub who: Who,
}

/// A referral in the handoff list (and the overdue list of "Heute").
#[derive(Debug, Clone)]
pub struct HandoffRow {
    /// The referral.
    pub referral_id: ReferralId,
    /// Its case.
    pub case: CaseLabel,
    /// The recipient.
    pub partner: PartnerRef,
    /// What is asked.
    pub category: ReferralCategory,
    /// Current state.
    pub state: ReferralState,
    /// Created.
    pub created_at: Instant,
    /// Whole days since creation.
    pub age_days: i64,
    /// Reply-by day.
    pub reply_by: Day,
    /// Awaiting a decision past the reply-by day.
    pub overdue: bool,
    /// The last handoff.
    pub last_event: Option<LastEvent>,
}

/// Filter of the handoff list (query `?partner=ORG&status=STATE&ueberfaellig=1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandoffFilter {
    /// Only referrals to this partner.
    pub partner: Option<OrgId>,
    /// Only this state (default: every open state).
    pub state: Option<ReferralState>,
    /// Only overdue referrals.
    pub overdue: bool,
}

impl HandoffFilter {
    /// The filter of the query parameters as a browser sends them (empty: not set). A value that
    /// does not parse is ignored: a filter is a convenience, never an error page.
    pub fn from_query(partner: Option<&str>, status: Option<&str>, overdue: Option<&str>) -> Self {
        Self {
            partner: partner.filter(|s| !s.is_empty()).and_then(|s| OrgId::parse(s).ok()),
            state: status.and_then(ReferralState::parse),
            overdue: ticked(overdue),
        }
    }
}

/// The handoff list.
#[derive(Debug, Clone)]
pub struct HandoffsModel {
    /// Matching referrals: overdue first, then by reply-by day.
    pub rows: Vec<HandoffRow>,
    /// Every partner the caller has referred to, by name (for the filter).
    pub partners: Vec<PartnerRef>,
}

/// Filter of a partner's inbox (query `?status=STATE&anliegen=CATEGORY&ueberfaellig=1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxFilter {
    /// Only this state (default: every open state).
    pub state: Option<ReferralState>,
    /// Only this category.
    pub category: Option<ReferralCategory>,
    /// Only referrals not answered by their reply-by day.
    pub overdue: bool,
}

impl InboxFilter {
    /// The filter as a browser sends it; a value that does not parse is ignored, like on every list.
    pub fn from_query(status: Option<&str>, category: Option<&str>, overdue: Option<&str>) -> Self {
        Self {
            state: status.and_then(ReferralState::parse),
            category: category.and_then(ReferralCategory::parse),
            overdue: ticked(overdue),
        }
    }
}

/// Whether a checkbox-like query parameter is set (as a browser or a bookmarked link sends it).
fn ticked(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "on" | "true" | "ja"))
}

/// One referral in a partner's inbox. No personal data: who the household is shows only on the
/// referral's own page, where the legal basis is checked and the read audited.
#[derive(Debug, Clone)]
pub struct InboxRow {
    /// The referral.
    pub referral_id: ReferralId,
    /// Who sent it.
    pub sender: PartnerRef,
    /// What it asks for.
    pub category: ReferralCategory,
    /// Where it stands.
    pub state: ReferralState,
    /// When it arrived.
    pub created_at: Instant,
    /// Answer due by.
    pub reply_by: Day,
    /// Not answered by its reply-by day.
    pub overdue: bool,
}

/// A partner's inbox.
#[derive(Debug, Clone)]
pub struct InboxModel {
    /// Matching referrals: overdue first, then by reply-by day.
    pub rows: Vec<InboxRow>,
    /// Open referrals in the inbox, whatever the filter.
    pub open: usize,
    /// Of which overdue.
    pub overdue: usize,
    /// Requests to erase, restrict or rectify data (Art. 19 GDPR) still to confirm, oldest first.
    pub requests: Vec<DataRequest>,
}

/// A request to a recipient not confirmed in time.
#[derive(Debug, Clone)]
pub struct UnconfirmedRow {
    /// The case, while it exists (an erased case has no name left).
    pub case: Option<CaseLabel>,
    /// Who was asked.
    pub recipient: PartnerRef,
    /// The request.
    pub request: DataRequest,
}

/// An open notice to triage on the "Heute" page.
#[derive(Debug, Clone)]
pub struct NoticeRow {
    /// The notice.
    pub notice_id: NoticeId,
    /// A court notice (MiZi); otherwise a housing company's early notice.
    pub court: bool,
    /// The reporting housing company, for an early notice.
    pub from: Option<PartnerRef>,
    /// The tenant's name, where the notice carries it lawfully (consent, or a court notice).
    pub name: Option<String>,
    /// Stage reported.
    pub stage: ThreatStage,
    /// Arrears reported.
    pub arrears: Cents,
    /// District, if known.
    pub stadtbezirk: Option<Stadtbezirk>,
    /// First received.
    pub received_at: Instant,
    /// The nearest hard deadline still ahead.
    pub nearest: Option<CaseDeadline>,
}

/// A mail that could not be delivered (given up, or failed and waiting for its next attempt).
#[derive(Debug, Clone)]
pub struct MailFailureRow {
    /// Job id (for re-queueing).
    pub job_id: String,
    /// The case it is about.
    pub case: CaseLabel,
    /// Addressee.
    pub to: PartnerRef,
    /// What it announces.
    pub kind: MailKind,
    /// The referral, if any.
    pub referral_id: Option<ReferralId>,
    /// Attempts so far.
    pub attempts: u32,
    /// Last error, in words safe to show.
    pub error: Option<String>,
    /// Given up (dead letter); otherwise it is retried.
    pub dead: bool,
    /// Last change.
    pub at: Instant,
}

/// The "Heute" page.
#[derive(Debug, Clone)]
pub struct TodayModel {
    /// Today.
    pub today: Day,
    /// The last day of the horizon (15 working days ahead).
    pub horizon: Day,
    /// Deadlines of open cases from today to the horizon, nearest first.
    pub deadlines: Vec<DeadlineRow>,
    /// Referrals awaiting a decision past their reply-by day, oldest reply-by first.
    pub overdue: Vec<HandoffRow>,
    /// Notices not yet taken up, most urgent first.
    pub notices: Vec<NoticeRow>,
    /// Failed deliveries about the caller's cases, newest first.
    pub failed_mails: Vec<MailFailureRow>,
    /// Consents of open cases whose last valid day is at most [`CONSENT_WARNING_DAYS`] away, soonest first.
    pub expiring: Vec<ExpiringConsent>,
    /// Follow-ups of closed cases that are due and not yet recorded, oldest first.
    pub follow_ups: Vec<FollowUpRow>,
    /// Requests to recipients (Art. 19 GDPR) not confirmed by their due day, oldest first.
    pub unconfirmed: Vec<UnconfirmedRow>,
    /// Partners' certificates that expire soon, for an administrator (see [`Hub::certificate_warnings`]).
    pub certificates: Vec<CertificateWarning>,
}

/// A partner's certificate that expires within the warning period.
#[derive(Debug, Clone)]
pub struct CertificateWarning {
    /// The partner's name (or its id, if it is not in the directory).
    pub partner: String,
    /// The certificate's serial number, for the hub's IT.
    pub serial: crate::domain::certificate::Serial,
    /// Its last valid day.
    pub valid_until: Day,
    /// Whole days until then.
    pub days_left: i64,
}

/// A follow-up after a kept tenancy that is due.
#[derive(Debug, Clone)]
pub struct FollowUpRow {
    /// The case.
    pub case: CaseLabel,
    /// Months after closing.
    pub months: u8,
    /// Due on.
    pub due: Day,
}

/// Days ahead in which an ending consent appears on "Heute": time to ask the household to renew it
/// before a referral loses its basis.
pub const CONSENT_WARNING_DAYS: i64 = 14;

/// A consent about to end.
#[derive(Debug, Clone)]
pub struct ExpiringConsent {
    /// The case.
    pub case: CaseLabel,
    /// The consent.
    pub consent_id: ConsentId,
    /// Its recipients.
    pub recipients: Vec<PartnerRef>,
    /// Its last valid day.
    pub valid_until: Day,
}

/// Rows per page of the case list.
pub const CASES_PER_PAGE: usize = 50;

/// Which cases the case list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseStatus {
    /// Open cases (the default).
    #[default]
    Open,
    /// Closed cases.
    Closed,
    /// Both.
    All,
}

/// How the case list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseSort {
    /// Newest first (the default).
    #[default]
    Opened,
    /// Nearest deadline first.
    Deadline,
}

/// The case list's filters, search and page.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Open, closed or all.
    pub status: CaseStatus,
    /// Only this district.
    pub stadtbezirk: Option<Stadtbezirk>,
    /// Only cases whose latest stage is this one.
    pub stage: Option<ThreatStage>,
    /// Words to find (see [`Search`]); with a search, open notices are searched too.
    pub search: Option<Search>,
    /// Only the cases of this caseworker ("Meine Fälle").
    pub assignee: Option<Username>,
    /// The sort order.
    pub sort: CaseSort,
    /// The page, from 1.
    pub page: usize,
}

/// The case list: one page of rows, how many there are, and the notices a search found.
#[derive(Debug, Clone)]
pub struct CasesModel {
    /// The rows of this page.
    pub rows: Vec<CaseRow>,
    /// Cases matching the filter.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Pages in all.
    pub pages: usize,
    /// Notices not yet in a case that the search found.
    pub notices: Vec<NoticeRow>,
}

/// A case in the case list.
#[derive(Debug, Clone)]
pub struct CaseRow {
    /// The case.
    pub case: CaseLabel,
    /// Opened.
    pub opened_at: Instant,
    /// Latest threat stage.
    pub stage: Option<ThreatStage>,
    /// Route in.
    pub route_in: RouteIn,
    /// Referrals not yet closed.
    pub open_referrals: usize,
    /// Of them, overdue.
    pub overdue_referrals: usize,
    /// The nearest deadline from today on.
    pub next_deadline: Option<CaseDeadline>,
    /// The district.
    pub stadtbezirk: Stadtbezirk,
    /// Closed on, with the outcome.
    pub closed: Option<(Day, CaseOutcome)>,
    /// The responsible caseworker's name.
    pub assignee: Option<String>,
    /// The household returns after a closed case.
    pub repeat: bool,
}

/// A partner as the case page's forms offer it.
#[derive(Debug, Clone)]
pub struct PartnerOption {
    /// Id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: OrgKind,
    /// Categories it accepts.
    pub accepted: Vec<ReferralCategory>,
    /// What it can take on, where it said it is not open.
    pub capacity: Vec<crate::domain::org::CategoryCapacity>,
}

/// A referral of the case page, with its thread.
#[derive(Debug, Clone)]
pub struct CaseReferral {
    /// The referral with its history.
    pub referral: Referral,
    /// The recipient.
    pub partner: PartnerRef,
    /// Overdue today.
    pub overdue: bool,
    /// Notes, oldest first.
    pub notes: Vec<Note>,
    /// The last handoff.
    pub last_event: Option<LastEvent>,
}

/// What happened on a case, for the timeline.
#[derive(Debug, Clone)]
pub enum TimelineEvent {
    /// The case was opened.
    CaseOpened,
    /// A notice that was taken up into the case arrived.
    NoticeReceived {
        /// The notice.
        notice_id: NoticeId,
        /// From a court (otherwise from `from`).
        court: bool,
        /// The reporting housing company.
        from: Option<PartnerRef>,
    },
    /// The housing company withdrew its notice: the arrears were paid.
    NoticeWithdrawn {
        /// The reporting housing company.
        from: Option<PartnerRef>,
    },
    /// A threat stage was reached.
    Stage(StageEntry),
    /// A consent was recorded.
    ConsentGiven {
        /// The consent.
        consent_id: ConsentId,
        /// Its recipients.
        recipients: Vec<PartnerRef>,
        /// Its categories.
        categories: Vec<DataCategory>,
    },
    /// A consent ended.
    ConsentEnded {
        /// The consent.
        consent_id: ConsentId,
        /// When it was given, so the entry says which consent ended.
        given: Instant,
        /// Revoked, expired, ended with the case or replaced.
        status: ConsentStatus,
    },
    /// A referral was sent.
    ReferralCreated {
        /// The referral.
        referral_id: ReferralId,
        /// To whom.
        partner: PartnerRef,
        /// What it asks.
        category: ReferralCategory,
    },
    /// A referral moved.
    ReferralMoved {
        /// The referral.
        referral_id: ReferralId,
        /// Its recipient.
        partner: PartnerRef,
        /// The move.
        mv: Option<Move>,
        /// State after it.
        to: ReferralState,
        /// Reason given, if any.
        reason: Option<Reason>,
    },
    /// A note was written on a referral.
    NoteAdded {
        /// The referral.
        referral_id: ReferralId,
        /// Its recipient.
        partner: PartnerRef,
        /// The note.
        text: String,
    },
    /// A mail about a referral was delivered.
    MailSent {
        /// Addressee.
        to: PartnerRef,
        /// What it announced.
        kind: MailKind,
        /// The referral.
        referral_id: Option<ReferralId>,
    },
    /// A mail about a referral failed.
    MailFailed {
        /// Addressee.
        to: PartnerRef,
        /// What it announced.
        kind: MailKind,
        /// The referral.
        referral_id: Option<ReferralId>,
        /// Why.
        error: Option<String>,
        /// Given up.
        dead: bool,
    },
    /// Processing was restricted (Art. 18 GDPR).
    Restricted {
        /// Why.
        reason: String,
    },
    /// The case was closed.
    Closed(Closure),
}

/// One timeline item.
#[derive(Debug, Clone)]
pub struct TimelineEntry {
    /// When (a day's start in UTC for events known by day only).
    pub at: Instant,
    /// Known by day only (threat stages): show the date without a time.
    pub day_only: bool,
    /// Who did it, where known.
    pub who: Option<Who>,
    /// What.
    pub event: TimelineEvent,
}

/// The case page.
#[derive(Debug, Clone)]
pub struct CasePageModel {
    /// The case with its details.
    pub case: Case,
    /// Today.
    pub today: Day,
    /// Computed deadlines, nearest first.
    pub deadlines: Vec<CaseDeadline>,
    /// Consents, oldest first.
    pub consents: Vec<Consent>,
    /// Referrals with history and notes, oldest first.
    pub referrals: Vec<CaseReferral>,
    /// Mails about the case's referrals, newest first.
    pub mails: Vec<MailJob>,
    /// Everything above merged, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Active partners the forms offer, by name.
    pub partners: Vec<PartnerOption>,
    /// Display names of every organisation, by id.
    pub org_names: BTreeMap<OrgId, String>,
    /// What closing the case now would have to confirm.
    pub open_items: crate::domain::case::OpenItems,
    /// Colleagues the case can be given to.
    pub colleagues: Vec<super::Colleague>,
    /// The case's documents (without content), oldest first.
    pub documents: Vec<crate::domain::document::DocumentMeta>,
    /// Requests to recipients to erase, restrict or rectify data of the case (Art. 19 GDPR), oldest first.
    pub data_requests: Vec<DataRequest>,
}

impl CasePageModel {
    /// The display name of `id` (the id itself if unknown).
    pub fn org_name<'a>(&'a self, id: &'a OrgId) -> &'a str {
        self.org_names.get(id).map_or(id.as_str(), String::as_str)
    }
}

/// The referral page: one referral as its sender follows it up.
#[derive(Debug, Clone)]
pub struct ReferralPageModel {
    /// The referral, the moves the Fachstelle may make, and whether each basis still holds.
    pub view: ReferralView,
    /// Its case.
    pub case: CaseLabel,
    /// The recipient, with its office hours and how it is reached.
    pub partner: Organisation,
    /// The notes, oldest first, with their authors.
    pub notes: Vec<(Note, Who)>,
    /// The history, oldest first, with who made each move.
    pub history: Vec<(Transition, Who)>,
    /// The case's consents (a disclosure names the one it rests on).
    pub consents: Vec<Consent>,
}

/// A partner's figures on the partner page.
#[derive(Debug, Clone)]
pub struct PartnerRow {
    /// The partner.
    pub partner: PartnerRef,
    /// Kind.
    pub kind: OrgKind,
    /// How it is reached.
    pub channel: Channel,
    /// Active in the directory.
    pub active: bool,
    /// Referrals the caller sent it, any state.
    pub total: usize,
    /// Of them, open.
    pub open: usize,
    /// Of them, overdue today.
    pub overdue: usize,
    /// Median days from sending to the first acknowledgement (RECEIVED).
    pub median_ack_days: Option<f64>,
    /// Median days from sending to the first decision (ACCEPTED or DECLINED).
    pub median_decide_days: Option<f64>,
    /// What it can take on, where it said it is not open.
    pub capacity: Vec<crate::domain::org::CategoryCapacity>,
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] })
}

/// Days (fractional) from a referral's creation to its first transition into one of `states`.
pub fn days_to_first(r: &Referral, states: &[ReferralState]) -> Option<f64> {
    r.history
        .iter()
        .find(|t| t.from.is_some() && states.contains(&t.to))
        .map(|t| (t.at.millis() - r.created_at.millis()) as f64 / 86_400_000.0)
}

/// The first instant of `day` (UTC), to place day-only facts on the timeline.
fn start_of(day: Day) -> Instant {
    Instant::from_millis(day.date().midnight().assume_utc().unix_timestamp() * 1000)
}

fn partner(names: &BTreeMap<OrgId, String>, id: &OrgId) -> PartnerRef {
    PartnerRef { id: id.clone(), name: names.get(id).cloned().unwrap_or_else(|| id.to_string()) }
}

fn who(names: &BTreeMap<OrgId, String>, actor: &Actor) -> Who {
    let staff = actor.staff().map(|s| s.as_str().to_owned());
    match actor {
        Actor::Org { org, .. } => Who::Org { org: partner(names, org), staff },
        Actor::Operator { .. } => Who::Operator { staff },
        Actor::Hub => Who::Hub,
    }
}

fn last_event(names: &BTreeMap<OrgId, String>, r: &Referral) -> Option<LastEvent> {
    r.history.last().map(|t| LastEvent { mv: t.mv, to: t.to, at: t.at, who: who(names, &t.actor) })
}

/// The row of `r` in the handoff list, as of `now`.
pub fn handoff_row(names: &BTreeMap<OrgId, String>, case: CaseLabel, r: &Referral, now: Instant) -> HandoffRow {
    HandoffRow {
        referral_id: r.id.clone(),
        case,
        partner: partner(names, &r.recipient),
        category: r.category,
        state: r.state,
        created_at: r.created_at,
        age_days: r.created_at.day().days_until(now.day()).max(0),
        reply_by: r.reply_by,
        overdue: r.is_overdue(now.day()),
        last_event: last_event(names, r),
    }
}

fn open_states() -> Vec<ReferralState> {
    ReferralState::ALL.iter().copied().filter(|s| s.is_open()).collect()
}

/// Every referral matching `q`, read page by page.
async fn all_referrals(tx: &mut dyn Tx, mut q: ReferralQuery) -> HubResult<Vec<Referral>> {
    q.limit = PAGE;
    let mut out = Vec::new();
    loop {
        let rows = tx.referrals(&q).await?;
        let full = rows.len() == PAGE as usize;
        if let Some((seq, _)) = rows.last() {
            q.after_seq = *seq;
        }
        out.extend(rows.into_iter().map(|(_, r)| r));
        if !full {
            return Ok(out);
        }
    }
}

async fn org_names(tx: &mut dyn Tx) -> HubResult<(Vec<Organisation>, BTreeMap<OrgId, String>)> {
    let orgs = tx.orgs().await?;
    let names = orgs.iter().map(|o| (o.id.clone(), o.name.clone())).collect();
    Ok((orgs, names))
}

/// The caller's cases read so far, so that a case shown in several rows is read once.
struct Cases {
    owner: OrgId,
    known: HashMap<CaseId, Option<Case>>,
}

impl Cases {
    fn new(owner: &OrgId) -> Self {
        Self { owner: owner.clone(), known: HashMap::new() }
    }

    fn preload(owner: &OrgId, cases: &[Case]) -> Self {
        let mut c = Self::new(owner);
        for case in cases {
            c.known.insert(case.id.clone(), Some(case.clone()));
        }
        c
    }

    /// The case, if it exists and the caller owns it.
    async fn get(&mut self, tx: &mut dyn Tx, id: &CaseId) -> HubResult<Option<&Case>> {
        if !self.known.contains_key(id) {
            let case = tx.case(id).await?.filter(|c| c.owner == self.owner);
            self.known.insert(id.clone(), case);
        }
        Ok(self.known.get(id).and_then(Option::as_ref))
    }
}

/// What one page showed of each case, for its audit entry.
#[derive(Default)]
struct Shown(BTreeMap<CaseId, (bool, Vec<&'static str>)>);

impl Shown {
    fn add(&mut self, case: &CaseLabel, what: &'static str) {
        let e = self.0.entry(case.id.clone()).or_insert((false, Vec::new()));
        e.0 |= case.named();
        if !e.1.contains(&what) {
            e.1.push(what);
        }
    }

    /// One audit entry per case shown, naming the page and what of the case it showed.
    fn audit(self, hub: &Hub, caller: &Caller, page: &str, p: &mut Pending) {
        let now = hub.now();
        for (case, (named, what)) in self.0 {
            let mut shown: Vec<String> = Vec::new();
            if named {
                shown.push("name".into());
            }
            shown.extend(what.into_iter().map(str::to_owned));
            p.audit.push(audit(
                &caller.actor(),
                now,
                AuditAction::DashboardView,
                Some(&case),
                None,
                "owner".into(),
                AuditDetail::Listed { page: page.into(), shown },
            ));
        }
    }
}

impl Hub {
    /// The partners' certificates that expire within [`EXPIRY_WARNING_DAYS`], soonest first, for the
    /// Fachstelle's administrators: the hub's operator works at the city's IT, and an administrator is who
    /// tells them (and the partner) before a partner's software stops reaching the hub. Empty for
    /// everyone else.
    ///
    /// [`EXPIRY_WARNING_DAYS`]: crate::domain::certificate::EXPIRY_WARNING_DAYS
    pub async fn certificate_warnings(&self, user: &super::staff::SessionUser) -> HubResult<Vec<CertificateWarning>> {
        if !user.account.admin || user.caller.fachstelle("see certificate warnings").is_err() {
            return Ok(Vec::new());
        }
        let soon = self.expiring_certificates().await?;
        let mut tx = self.store.begin_read().await?;
        let (_, names) = org_names(tx.as_mut()).await?;
        let now = self.now();
        Ok(soon
            .into_iter()
            .filter_map(|c| {
                let end = c.not_after?;
                let partner = c.org.as_ref().map_or_else(
                    || "unbekannte Stelle".to_owned(),
                    |o| names.get(o).cloned().unwrap_or_else(|| o.as_str().to_owned()),
                );
                Some(CertificateWarning {
                    partner,
                    serial: c.serial,
                    valid_until: end.day(),
                    days_left: (end.millis() - now.millis()) / 86_400_000,
                })
            })
            .collect())
    }

    /// The "Heute" page: deadlines of the caller's open cases in the next 15 working days, its
    /// overdue referrals, open notices to triage and failed deliveries. Audited per case shown.
    pub async fn dash_today(&self, caller: &Caller) -> HubResult<TodayModel> {
        let org = caller.fachstelle("use the dashboard")?;
        // Before our own transaction: it runs (and audits named notices in) its own.
        let notices = self.open_notices(caller, NOTICE_LIMIT).await?;
        let now = self.now();
        let today = now.day();
        let horizon = workdays::add_working_days(today, TODAY_HORIZON_WORKING_DAYS);
        let mut tx = self.store.begin().await?;
        let (_, names) = org_names(tx.as_mut()).await?;
        let own: Vec<Case> = tx.cases().await?.into_iter().filter(|c| c.owner == org.id).collect();
        let mut shown = Shown::default();

        let mut deadlines = Vec::new();
        for case in own.iter().filter(|c| c.closure.is_none()) {
            let label = CaseLabel::of(case);
            for d in for_case(case).into_iter().filter(|d| d.date >= today && d.date <= horizon) {
                shown.add(&label, "Fristen");
                deadlines.push(DeadlineRow {
                    case: label.clone(),
                    working_days_left: workdays::working_days_between(today, d.date),
                    deadline: d,
                });
            }
        }
        deadlines.sort_by(|a, b| a.deadline.date.cmp(&b.deadline.date).then(a.case.id.cmp(&b.case.id)));

        let mut cases = Cases::preload(&org.id, &own);
        let query = ReferralQuery { sender: Some(org.id.clone()), overdue_on: Some(today), ..ReferralQuery::default() };
        let mut overdue = Vec::new();
        for r in all_referrals(tx.as_mut(), query).await? {
            let Some(case) = cases.get(tx.as_mut(), &r.case_id).await? else { continue };
            let label = CaseLabel::of(case);
            shown.add(&label, "Vermittlungen");
            overdue.push(handoff_row(&names, label, &r, now));
        }
        overdue.sort_by(|a, b| a.reply_by.cmp(&b.reply_by).then(a.created_at.cmp(&b.created_at)));

        let mut failed_mails = Vec::new();
        for status in [JobStatus::Dead, JobStatus::Pending] {
            let q = MailQuery { status: Some(status), limit: MAIL_LIMIT, ..MailQuery::default() };
            for job in tx.mails(&q).await? {
                if job.last_error.is_none() && status == JobStatus::Pending {
                    continue;
                }
                let Some(case) = cases.get(tx.as_mut(), &job.case_id).await? else { continue };
                let label = CaseLabel::of(case);
                shown.add(&label, "Zustellfehler");
                failed_mails.push(MailFailureRow {
                    job_id: job.id.clone(),
                    case: label,
                    to: partner(&names, &job.org),
                    kind: job.kind,
                    referral_id: job.referral_id.clone(),
                    attempts: job.attempts,
                    error: job.last_error.clone(),
                    dead: status == JobStatus::Dead,
                    at: job.updated_at,
                });
            }
        }
        failed_mails.sort_by_key(|m| std::cmp::Reverse(m.at));

        let mut expiring = Vec::new();
        for c in tx.consents_expired_before(today.plus_days(CONSENT_WARNING_DAYS + 1)).await? {
            let Some(case) = own.iter().find(|k| k.id == c.case_id && k.closure.is_none()) else { continue };
            let label = CaseLabel::of(case);
            shown.add(&label, "Einwilligungen");
            expiring.push(ExpiringConsent {
                case: label,
                consent_id: c.id.clone(),
                recipients: c.recipients.iter().map(|o| partner(&names, o)).collect(),
                valid_until: c.valid_until,
            });
        }
        expiring.sort_by(|a, b| a.valid_until.cmp(&b.valid_until).then(a.case.id.cmp(&b.case.id)));

        let mut follow_ups = Vec::new();
        for case in own.iter().filter(|c| c.closure.is_some()) {
            for f in case.follow_ups.iter().filter(|f| f.result.is_none() && f.due <= today) {
                let label = CaseLabel::of(case);
                shown.add(&label, "Wiedervorlagen");
                follow_ups.push(FollowUpRow { case: label, months: f.months, due: f.due });
            }
        }
        follow_ups.sort_by(|a, b| a.due.cmp(&b.due).then(a.case.id.cmp(&b.case.id)));

        let mut unconfirmed = Vec::new();
        let open_requests = crate::store::DataRequestQuery {
            owner: Some(org.id.clone()),
            open_only: true,
            ..crate::store::DataRequestQuery::default()
        };
        for request in tx.data_requests(&open_requests).await?.into_iter().filter(|r| r.is_overdue(today)) {
            // An erased case has no name left to show; the request itself stays as evidence.
            let case = own.iter().find(|c| c.id == request.case_id).map(CaseLabel::of);
            if let Some(label) = &case {
                shown.add(label, "Ausstehende Bestätigungen");
            }
            unconfirmed.push(UnconfirmedRow { case, recipient: partner(&names, &request.recipient), request });
        }

        let notices = notices.into_iter().map(|i| notice_row(&names, i)).collect();
        let mut p = Pending::new();
        shown.audit(self, caller, "Heute", &mut p);
        self.finish(tx, caller, None, None, p).await?;
        Ok(TodayModel {
            today,
            horizon,
            deadlines,
            overdue,
            notices,
            failed_mails,
            expiring,
            follow_ups,
            unconfirmed,
            certificates: Vec::new(),
        })
    }

    /// The handoff list: referrals sent by the caller (open ones unless the filter names a
    /// state), with partner, state, age, reply-by and last handoff. Audited per case shown.
    pub async fn dash_handoffs(&self, caller: &Caller, filter: HandoffFilter) -> HubResult<HandoffsModel> {
        let org = caller.fachstelle("use the dashboard")?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (_, names) = org_names(tx.as_mut()).await?;
        let query = ReferralQuery {
            sender: Some(org.id.clone()),
            recipient: filter.partner.clone(),
            states: filter.state.map_or_else(open_states, |s| vec![s]),
            overdue_on: filter.overdue.then_some(now.day()),
            ..ReferralQuery::default()
        };
        let mut cases = Cases::new(&org.id);
        let mut shown = Shown::default();
        let mut rows = Vec::new();
        for r in all_referrals(tx.as_mut(), query).await? {
            let Some(case) = cases.get(tx.as_mut(), &r.case_id).await? else { continue };
            let label = CaseLabel::of(case);
            shown.add(&label, "Vermittlungen");
            rows.push(handoff_row(&names, label, &r, now));
        }
        rows.sort_by(|a, b| {
            b.overdue.cmp(&a.overdue).then(a.reply_by.cmp(&b.reply_by)).then(a.created_at.cmp(&b.created_at))
        });
        let sent_to =
            all_referrals(tx.as_mut(), ReferralQuery { sender: Some(org.id.clone()), ..ReferralQuery::default() })
                .await?;
        let mut partners: Vec<PartnerRef> = Vec::new();
        for r in &sent_to {
            if !partners.iter().any(|p| p.id == r.recipient) {
                partners.push(partner(&names, &r.recipient));
            }
        }
        partners.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let mut p = Pending::new();
        shown.audit(self, caller, "Vermittlungen", &mut p);
        self.finish(tx, caller, None, None, p).await?;
        Ok(HandoffsModel { rows, partners })
    }

    /// The referrals addressed to the caller's organisation, for its staff signed in to the
    /// partner inbox: open ones unless the filter names a state.
    pub async fn dash_inbox(&self, caller: &Caller, filter: &InboxFilter) -> HubResult<InboxModel> {
        let org = caller.org()?;
        let today = self.today();
        let mut tx = self.store.begin_read().await?;
        let (_, names) = org_names(tx.as_mut()).await?;
        let all =
            all_referrals(tx.as_mut(), ReferralQuery { recipient: Some(org.id.clone()), ..ReferralQuery::default() })
                .await?;
        drop(tx);
        let open: Vec<&Referral> = all.iter().filter(|r| r.state.is_open()).collect();
        let overdue = open.iter().filter(|r| r.is_overdue(today)).count();
        let mut rows: Vec<InboxRow> = all
            .iter()
            .filter(|r| filter.state.map_or(r.state.is_open(), |s| r.state == s))
            .filter(|r| filter.category.is_none_or(|c| r.category == c))
            .filter(|r| !filter.overdue || r.is_overdue(today))
            .map(|r| InboxRow {
                referral_id: r.id.clone(),
                sender: partner(&names, &r.sender),
                category: r.category,
                state: r.state,
                created_at: r.created_at,
                reply_by: r.reply_by,
                overdue: r.is_overdue(today),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.overdue.cmp(&a.overdue).then(a.reply_by.cmp(&b.reply_by)).then(a.created_at.cmp(&b.created_at))
        });
        let requests = self.data_requests_to(caller, true).await?;
        Ok(InboxModel { rows, open: open.len(), overdue, requests })
    }

    /// The list of the caller's open cases, newest first, with stage, open and overdue referrals
    /// and the next deadline. Audited per case shown.
    pub async fn dash_cases(&self, caller: &Caller, filter: &CaseFilter) -> HubResult<CasesModel> {
        let org = caller.fachstelle("use the dashboard")?;
        let today = self.today();
        let mut tx = self.store.begin().await?;
        let mut own: Vec<Case> = tx
            .cases()
            .await?
            .into_iter()
            .filter(|c| c.owner == org.id)
            .filter(|c| match filter.status {
                CaseStatus::Open => c.closure.is_none(),
                CaseStatus::Closed => c.closure.is_some(),
                CaseStatus::All => true,
            })
            .filter(|c| filter.stadtbezirk.is_none_or(|b| c.details.stadtbezirk == b))
            .filter(|c| filter.stage.is_none_or(|s| c.latest_stage() == Some(s)))
            .filter(|c| filter.assignee.as_ref().is_none_or(|u| c.assignee.as_ref().is_some_and(|a| &a.username == u)))
            .collect();
        let mut found_notices = Vec::new();
        if let Some(search) = &filter.search {
            let mut kept = Vec::with_capacity(own.len());
            for case in own {
                let mut files = Vec::new();
                for n in &case.notice_ids {
                    if let Some(Notice { data: NoticeData::Court(c), .. }) = tx.notice(n).await? {
                        files.push(c.court_file_number);
                    }
                }
                let files: Vec<&str> = files.iter().map(String::as_str).collect();
                if search.matches_case(&case, &files) {
                    kept.push(case);
                }
            }
            own = kept;
            let (_, names) = org_names(tx.as_mut()).await?;
            for notice in tx.open_notices().await?.into_iter().filter(|n| search.matches_notice(n)) {
                let deadlines = crate::domain::deadline::for_notice(&notice, notice.received_at.day());
                let nearest = deadlines.iter().filter(|d| d.date >= today).min_by_key(|d| d.date).cloned();
                found_notices.push(notice_row(&names, TriageItem { notice, deadlines, nearest }));
            }
        }
        let query = ReferralQuery { sender: Some(org.id.clone()), states: open_states(), ..ReferralQuery::default() };
        let mut open: HashMap<CaseId, (usize, usize)> = HashMap::new();
        for r in all_referrals(tx.as_mut(), query).await? {
            let e = open.entry(r.case_id.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(r.is_overdue(today));
        }
        let mut rows: Vec<CaseRow> = own
            .iter()
            .map(|case| {
                let (open_referrals, overdue_referrals) = open.get(&case.id).copied().unwrap_or_default();
                CaseRow {
                    case: CaseLabel::of(case),
                    opened_at: case.opened_at,
                    stage: case.latest_stage(),
                    route_in: case.details.route_in,
                    open_referrals,
                    overdue_referrals,
                    next_deadline: for_case(case).into_iter().find(|d| d.date >= today),
                    stadtbezirk: case.details.stadtbezirk,
                    closed: case.closure.as_ref().map(|c| (c.at.day(), c.outcome)),
                    assignee: case.assignee.as_ref().map(|a| a.name.clone()),
                    repeat: case.repeat_of.is_some(),
                }
            })
            .collect();
        match filter.sort {
            CaseSort::Opened => rows.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then(a.case.id.cmp(&b.case.id))),
            CaseSort::Deadline => rows.sort_by(|a, b| {
                let day =
                    |r: &CaseRow| r.next_deadline.as_ref().map_or(Day::parse("9999-12-31").ok(), |d| Some(d.date));
                day(a).cmp(&day(b)).then(b.opened_at.cmp(&a.opened_at))
            }),
        }
        let total = rows.len();
        let pages = total.div_ceil(CASES_PER_PAGE).max(1);
        let page = filter.page.clamp(1, pages);
        let rows: Vec<CaseRow> = rows.into_iter().skip((page - 1) * CASES_PER_PAGE).take(CASES_PER_PAGE).collect();
        let mut shown = Shown::default();
        for r in &rows {
            shown.add(&r.case, "Stand");
        }
        let mut p = Pending::new();
        if filter.search.is_some() {
            // A search reads personal data: who searched, and how much it found (never the words).
            p.audit.push(audit(
                &caller.actor(),
                self.now(),
                AuditAction::Search,
                None,
                None,
                "owner".into(),
                AuditDetail::Count { n: (total + found_notices.len()) as u64, of: "cases and notices found".into() },
            ));
        }
        shown.audit(self, caller, "Fälle", &mut p);
        self.finish(tx, caller, None, None, p).await?;
        Ok(CasesModel { rows, total, page, pages, notices: found_notices })
    }

    /// The referral page: one referral of the caller's case with its history, notes, the data sent
    /// and its bases, and the recipient's contact. Audited as over the API (the referral read, the
    /// notes read).
    pub async fn dash_referral(&self, caller: &Caller, id: &ReferralId) -> HubResult<ReferralPageModel> {
        let org = caller.fachstelle("follow up referrals")?.clone();
        // Both read and audit in their own transactions, as over the API.
        let view = self.get_referral(caller, id).await?;
        let notes = self.list_notes(caller, id).await?;
        let mut tx = self.store.begin_read().await?;
        let case = self.owned_case(tx.as_mut(), &org.id, &view.referral.case_id).await?;
        let (orgs, names) = org_names(tx.as_mut()).await?;
        let partner = orgs.into_iter().find(|o| o.id == view.referral.recipient).ok_or_else(|| {
            HubError::Internal(format!("recipient {} of a referral is not registered", view.referral.recipient))
        })?;
        let consents = tx.consents_of_case(&case.id).await?;
        let notes = notes
            .into_iter()
            .map(|n| {
                let w = who(&names, &n.author);
                (n, w)
            })
            .collect();
        let history = view.referral.history.iter().map(|t| (t.clone(), who(&names, &t.actor))).collect();
        Ok(ReferralPageModel { case: CaseLabel::of(&case), partner, notes, history, consents, view })
    }

    /// The case page: the case with its deadlines, consents, referrals (history, notes), the mails
    /// about its referrals, all merged into a timeline, and what the forms offer. Audited as a read
    /// of the case ("case.read"), like [`Hub::get_case`].
    pub async fn dash_case(&self, caller: &Caller, id: &CaseId) -> HubResult<CasePageModel> {
        let org = caller.fachstelle("read cases")?;
        let today = self.today();
        let mut tx = self.store.begin().await?;
        let case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        let (orgs, names) = org_names(tx.as_mut()).await?;
        let consents = tx.consents_of_case(&case.id).await?;
        let mut referrals = Vec::new();
        let mut mails = Vec::new();
        for r in tx.referrals_of_case(&case.id).await? {
            let notes = tx.notes(&r.id).await?;
            let q = MailQuery { referral: Some(r.id.clone()), limit: MAIL_LIMIT, ..MailQuery::default() };
            mails.extend(tx.mails(&q).await?);
            referrals.push(CaseReferral {
                partner: partner(&names, &r.recipient),
                overdue: r.is_overdue(today),
                last_event: last_event(&names, &r),
                notes,
                referral: r,
            });
        }
        mails.sort_by_key(|m| std::cmp::Reverse(m.created_at));
        let mut notices = Vec::new();
        for n in &case.notice_ids {
            if let Some(n) = tx.notice(n).await? {
                notices.push(n);
            }
        }
        let mut timeline = Vec::new();
        let owner_who = Who::Org { org: partner(&names, &case.owner), staff: None };
        timeline.push(TimelineEntry {
            at: case.opened_at,
            day_only: false,
            who: Some(owner_who.clone()),
            event: TimelineEvent::CaseOpened,
        });
        for n in &notices {
            let court = matches!(n.data, NoticeData::Court(_));
            timeline.push(TimelineEntry {
                at: n.received_at,
                day_only: false,
                who: n.reporter.as_ref().map(|o| Who::Org { org: partner(&names, o), staff: None }),
                event: TimelineEvent::NoticeReceived {
                    notice_id: n.id.clone(),
                    court,
                    from: n.reporter.as_ref().map(|o| partner(&names, o)),
                },
            });
            if let Some(at) = n.withdrawn_at {
                timeline.push(TimelineEntry {
                    at,
                    day_only: false,
                    who: n.reporter.as_ref().map(|o| Who::Org { org: partner(&names, o), staff: None }),
                    event: TimelineEvent::NoticeWithdrawn { from: n.reporter.as_ref().map(|o| partner(&names, o)) },
                });
            }
        }
        for s in &case.stages {
            timeline.push(TimelineEntry {
                at: start_of(s.date),
                day_only: true,
                who: Some(Who::Org { org: partner(&names, &s.recorded_by), staff: None }),
                event: TimelineEvent::Stage(s.clone()),
            });
        }
        for c in &consents {
            timeline.push(TimelineEntry {
                at: c.recorded_at,
                day_only: false,
                who: Some(c.recorded_by.as_ref().map_or_else(|| owner_who.clone(), |a| who(&names, a))),
                event: TimelineEvent::ConsentGiven {
                    consent_id: c.id.clone(),
                    recipients: c.recipients.iter().map(|o| partner(&names, o)).collect(),
                    categories: c.categories.clone(),
                },
            });
            if let Some(end) = c.ended_at {
                timeline.push(TimelineEntry {
                    at: end,
                    day_only: false,
                    who: c.ended_by.as_ref().map(|a| who(&names, a)),
                    event: TimelineEvent::ConsentEnded {
                        consent_id: c.id.clone(),
                        given: c.recorded_at,
                        status: c.status,
                    },
                });
            }
        }
        for cr in &referrals {
            let r = &cr.referral;
            for t in &r.history {
                let event = if t.from.is_none() {
                    TimelineEvent::ReferralCreated {
                        referral_id: r.id.clone(),
                        partner: cr.partner.clone(),
                        category: r.category,
                    }
                } else {
                    TimelineEvent::ReferralMoved {
                        referral_id: r.id.clone(),
                        partner: cr.partner.clone(),
                        mv: t.mv,
                        to: t.to,
                        reason: t.reason.clone(),
                    }
                };
                timeline.push(TimelineEntry { at: t.at, day_only: false, who: Some(who(&names, &t.actor)), event });
            }
            for n in &cr.notes {
                timeline.push(TimelineEntry {
                    at: n.created_at,
                    day_only: false,
                    who: Some(who(&names, &n.author)),
                    event: TimelineEvent::NoteAdded {
                        referral_id: r.id.clone(),
                        partner: cr.partner.clone(),
                        text: n.text.clone(),
                    },
                });
            }
        }
        for m in &mails {
            let to = partner(&names, &m.org);
            let entry = match (m.status, m.sent_at, &m.last_error) {
                (JobStatus::Sent, Some(at), _) => {
                    Some((at, TimelineEvent::MailSent { to, kind: m.kind, referral_id: m.referral_id.clone() }))
                }
                (JobStatus::Dead, _, error) | (JobStatus::Pending, _, error @ Some(_)) => Some((
                    m.updated_at,
                    TimelineEvent::MailFailed {
                        to,
                        kind: m.kind,
                        referral_id: m.referral_id.clone(),
                        error: error.clone(),
                        dead: m.status == JobStatus::Dead,
                    },
                )),
                _ => None,
            };
            if let Some((at, event)) = entry {
                timeline.push(TimelineEntry { at, day_only: false, who: None, event });
            }
        }
        if let Some(r) = &case.restriction {
            timeline.push(TimelineEntry {
                at: r.since,
                day_only: false,
                who: Some(owner_who.clone()),
                event: TimelineEvent::Restricted { reason: r.reason.clone() },
            });
        }
        if let Some(c) = &case.closure {
            timeline.push(TimelineEntry {
                at: c.at,
                day_only: false,
                who: Some(owner_who),
                event: TimelineEvent::Closed(c.clone()),
            });
        }
        // Stable: events of one instant keep the order they were added in (creation before moves).
        timeline.sort_by_key(|e| e.at);

        let mut partners: Vec<PartnerOption> = orgs
            .iter()
            .filter(|o| o.active && o.id != org.id)
            .map(|o| PartnerOption {
                id: o.id.clone(),
                name: o.name.clone(),
                kind: o.kind,
                accepted: o.accepted.clone(),
                capacity: o.capacity.clone(),
            })
            .collect();
        partners.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));

        let colleagues = super::casework::colleagues_of(tx.as_mut(), &org.id).await?;
        let documents = tx.documents_of_case(&case.id).await?;
        let data_requests = tx
            .data_requests(&crate::store::DataRequestQuery {
                owner: Some(org.id.clone()),
                case_id: Some(case.id.clone()),
                ..crate::store::DataRequestQuery::default()
            })
            .await?;
        self.finish_case_read(tx, caller, &case.id, "dashboard case page").await?;
        let plain: Vec<_> = referrals.iter().map(|r| r.referral.clone()).collect();
        let open_items = crate::domain::case::OpenItems::of(&case, &plain, today);
        Ok(CasePageModel {
            open_items,
            deadlines: for_case(&case),
            case,
            today,
            consents,
            referrals,
            mails,
            timeline,
            partners,
            org_names: names,
            colleagues,
            documents,
            data_requests,
        })
    }

    /// The partner page: per organisation the caller referred to (and every other active one),
    /// its open and overdue referrals and the median days to acknowledge and to decide. No
    /// personal data, so nothing is audited.
    pub async fn dash_partners(&self, caller: &Caller) -> HubResult<Vec<PartnerRow>> {
        let org = caller.fachstelle("use the dashboard")?;
        let today = self.today();
        let mut tx = self.store.begin_read().await?;
        let (orgs, names) = org_names(tx.as_mut()).await?;
        let sent =
            all_referrals(tx.as_mut(), ReferralQuery { sender: Some(org.id.clone()), ..ReferralQuery::default() })
                .await?;
        drop(tx);
        let mut by_partner: BTreeMap<&OrgId, Vec<&Referral>> = BTreeMap::new();
        for r in &sent {
            by_partner.entry(&r.recipient).or_default().push(r);
        }
        let mut rows: Vec<PartnerRow> = orgs
            .iter()
            .filter(|o| o.id != org.id && (o.active || by_partner.contains_key(&o.id)))
            .map(|o| partner_row(&names, o, by_partner.get(&o.id).map_or(&[][..], Vec::as_slice), today))
            .collect();
        rows.sort_by(|a, b| a.partner.name.cmp(&b.partner.name).then(a.partner.id.cmp(&b.partner.id)));
        Ok(rows)
    }
}

/// The figures of one partner from the referrals the caller sent it.
pub fn partner_row(names: &BTreeMap<OrgId, String>, o: &Organisation, sent: &[&Referral], today: Day) -> PartnerRow {
    use ReferralState as S;
    PartnerRow {
        partner: partner(names, &o.id),
        kind: o.kind,
        channel: o.delivery.channel(),
        active: o.active,
        total: sent.len(),
        open: sent.iter().filter(|r| r.state.is_open()).count(),
        overdue: sent.iter().filter(|r| r.is_overdue(today)).count(),
        median_ack_days: median(sent.iter().filter_map(|r| days_to_first(r, &[S::Received])).collect()),
        median_decide_days: median(sent.iter().filter_map(|r| days_to_first(r, &[S::Accepted, S::Declined])).collect()),
        capacity: o.capacity.clone(),
    }
}

fn notice_row(names: &BTreeMap<OrgId, String>, item: TriageItem) -> NoticeRow {
    let n = item.notice;
    let (court, name, stadtbezirk) = match &n.data {
        NoticeData::Arrears(a) => (
            false,
            a.tenant
                .as_ref()
                .filter(|_| a.consent_evidence.is_some())
                .map(|t| format!("{}, {}", t.family_name, t.given_name)),
            Some(a.stadtbezirk),
        ),
        NoticeData::Court(c) => {
            (true, c.tenants.first().map(|t| format!("{}, {}", t.family_name, t.given_name)), c.stadtbezirk)
        }
    };
    NoticeRow {
        notice_id: n.id.clone(),
        court,
        from: n.reporter.as_ref().map(|o| partner(names, o)),
        name,
        stage: n.stage(),
        arrears: n.arrears(),
        stadtbezirk,
        received_at: n.received_at,
        nearest: item.nearest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::StaffMember;

    const DAY: i64 = 86_400_000;

    #[test]
    fn median_of_odd_even_and_no_values() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 10.0]), Some(3.0));
    }

    fn referral(created: Instant, reply_by: &str, moves: &[(ReferralState, i64)]) -> Referral {
        let org = |s: &str| OrgId::parse(s).unwrap();
        let mut history = vec![Transition {
            from: None,
            to: ReferralState::Requested,
            mv: None,
            actor: Actor::Org { org: org("fachstelle"), staff: None },
            at: created,
            reason: None,
        }];
        let mut state = ReferralState::Requested;
        for (to, after_ms) in moves {
            history.push(Transition {
                from: Some(state),
                to: *to,
                mv: None,
                actor: Actor::Org { org: org("jobcenter"), staff: Some(StaffMember::parse("Herr M").unwrap()) },
                at: Instant::from_millis(created.millis() + after_ms),
                reason: None,
            });
            state = *to;
        }
        let mut r = Referral::request(
            crate::domain::referral::ReferralDraft {
                case_id: CaseId::new(),
                sender: org("fachstelle"),
                recipient: org("jobcenter"),
                category: ReferralCategory::RentDebtTakeoverSgb2,
                disclosures: vec![],
                message: String::new(),
                reply_by: Day::parse(reply_by).unwrap(),
            },
            Actor::Org { org: org("fachstelle"), staff: None },
            created,
        );
        r.state = state;
        r.history = history;
        r
    }

    #[test]
    fn days_to_acknowledge_and_decide_count_from_sending() {
        let t0 = Instant::from_millis(1_767_949_200_000);
        let r = referral(t0, "2026-01-16", &[(ReferralState::Received, DAY / 2), (ReferralState::Accepted, 3 * DAY)]);
        assert_eq!(days_to_first(&r, &[ReferralState::Received]), Some(0.5));
        assert_eq!(days_to_first(&r, &[ReferralState::Accepted, ReferralState::Declined]), Some(3.0));
        let sent = referral(t0, "2026-01-16", &[]);
        assert_eq!(days_to_first(&sent, &[ReferralState::Received]), None, "creation is no acknowledgement");
    }

    #[test]
    fn handoff_row_is_overdue_only_while_awaiting_a_decision_past_reply_by() {
        let names = BTreeMap::from([(OrgId::parse("jobcenter").unwrap(), "Jobcenter".to_owned())]);
        let t0 = Instant::from_millis(1_767_949_200_000);
        let label = CaseLabel { id: CaseId::new(), name: None };
        let later = Instant::from_millis(t0.millis() + 10 * DAY);
        let waiting = referral(t0, "2026-01-16", &[(ReferralState::Received, DAY)]);
        let row = handoff_row(&names, label.clone(), &waiting, later);
        assert!(row.overdue);
        assert_eq!(row.age_days, 10);
        assert_eq!(row.partner.name, "Jobcenter");
        let last = row.last_event.expect("last handoff");
        assert_eq!(last.to, ReferralState::Received);
        assert!(
            matches!(last.who, Who::Org { ref org, staff: Some(ref s) } if org.name == "Jobcenter" && s == "Herr M")
        );
        assert!(!handoff_row(&names, label.clone(), &waiting, t0).overdue, "not before the reply-by day");
        let decided = referral(t0, "2026-01-16", &[(ReferralState::Received, DAY), (ReferralState::Accepted, DAY)]);
        assert!(!handoff_row(&names, label, &decided, later).overdue, "decided in time or late: not overdue");
    }
}
