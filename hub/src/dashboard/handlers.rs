//! The dashboard's pages and actions: each reads its query or form, calls the service layer as
//! the signed-in staff member, and hands the model to a view. Actions answer with a redirect to
//! the case page (post/redirect/get), so reloading a page never repeats an action.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::DashState;
use super::auth::Staff;
use super::form::FormData;
use super::layout::{Frame, Nav, html, message_page, page, secure_headers};
use super::views;
use crate::domain::FieldError;
use crate::domain::casework::ContactKind;
use crate::domain::consent::ConsentDraft;
use crate::domain::ids::Cents;
use crate::domain::ids::{CaseId, ConsentId, IdempotencyKey, OrgId, PersonId, ReferralId};
use crate::domain::matching::Search;
use crate::domain::notice::{CourtData, NoticeId, TenantContact};
use crate::domain::referral::{Move, Reason};
use crate::domain::staff::Username;
use crate::domain::time::Day;
use crate::domain::vocab::{
    CaseOutcome, ConsentForm, DataCategory, OrgKind, ReasonCode, ReferralCategory, RescueMeans, Stadtbezirk,
    ThreatStage,
};
use crate::key_figures::{self, Format};
use crate::service::Outage;
use crate::service::dashboard::{CaseFilter, HandoffFilter};
use crate::service::{HubError, Idem, NewClosure, NewConsent, NewContact, NewReferral, NewStage, TakeUpTarget};

/// The error page of a failed request. Internal details are logged, never shown.
pub fn error_page(e: HubError, frame: Option<&Frame<'_>>) -> Response {
    let (status, title, text) = error_parts(e);
    message_page(status, title, &text, frame)
}

/// Status, German title and message of a failed request. Only German reaches the page: a rule's own
/// German wording where it has one, otherwise a plain sentence; English texts (meant for API clients)
/// and internal names never do.
fn error_parts(e: HubError) -> (StatusCode, &'static str, String) {
    match e {
        HubError::Invalid(f) => (
            StatusCode::BAD_REQUEST,
            "Eingabe prüfen",
            f.reason_de.unwrap_or_else(|| "Diese Angabe ist nicht gültig.".into()),
        ),
        HubError::Unauthenticated(_) => {
            (StatusCode::UNAUTHORIZED, "Nicht angemeldet", "Bitte melden Sie sich an.".into())
        }
        HubError::PermissionDenied(_) => {
            (StatusCode::FORBIDDEN, "Kein Zugriff", "Dafür haben Sie keine Berechtigung.".into())
        }
        HubError::NotFound(_) => {
            (StatusCode::NOT_FOUND, "Nicht gefunden", "Nicht gefunden, oder Sie haben keinen Zugriff darauf.".into())
        }
        HubError::AlreadyExists(_) => (StatusCode::CONFLICT, "Schon vorhanden", "Das gibt es schon.".into()),
        HubError::FailedPrecondition(r) => (
            StatusCode::CONFLICT,
            "Nicht möglich",
            r.de.unwrap_or_else(|| "Das ist beim jetzigen Stand des Falls nicht möglich.".into()),
        ),
        HubError::Unavailable(outage) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Vorübergehend nicht möglich",
            match outage {
                Outage::Busy => "Das System ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
                Outage::Unreachable => {
                    "Die Datenbank ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Sekunden noch einmal."
                }
                Outage::Full | Outage::Io => {
                    "Der Datenspeicher kann gerade nichts aufnehmen; nichts wurde gespeichert. Bitte versuchen Sie \
                     es später noch einmal und sagen Sie dem IT-Betrieb Bescheid, wenn es so bleibt."
                }
            }
            .into(),
        ),
        HubError::Internal(detail) => {
            tracing::error!(%detail, "dashboard request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Fehler",
                "Ein interner Fehler ist aufgetreten; er wurde protokolliert.".into(),
            )
        }
    }
}

/// A page with its title as the heading (unless the view brings its own, like the key figures).
fn ok_page(staff: &Staff, nav: Nav, title: &str, body: &str) -> Response {
    let body = if body.contains("<h1") { body.to_owned() } else { format!("<h1>{}</h1>\n{body}", views::esc(title)) };
    html(StatusCode::OK, page(title, Some(&staff.frame(nav)), &body))
}

/// GET / : Heute.
pub async fn today(State(state): State<DashState>, staff: Staff) -> Response {
    match state.hub.dash_today(&staff.user.caller).await {
        Ok(m) => ok_page(&staff, Nav::Today, "Heute", &views::today::render(&m, &staff.ctx(&state))),
        Err(e) => error_page(e, Some(&staff.frame(Nav::Today))),
    }
}

/// Filters of the handoffs page.
#[derive(Debug, Deserialize)]
pub struct HandoffQuery {
    partner: Option<String>,
    status: Option<String>,
    ueberfaellig: Option<String>,
}

/// GET /uebergaben : Vermittlungen (every referral sent).
pub async fn handoffs(State(state): State<DashState>, staff: Staff, Query(q): Query<HandoffQuery>) -> Response {
    let filter = HandoffFilter::from_query(q.partner.as_deref(), q.status.as_deref(), q.ueberfaellig.as_deref());
    match state.hub.dash_handoffs(&staff.user.caller, filter.clone()).await {
        Ok(m) => {
            ok_page(&staff, Nav::Handoffs, "Vermittlungen", &views::handoffs::render(&m, &filter, &staff.ctx(&state)))
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Handoffs))),
    }
}

/// GET /faelle : the case list with its filters, search and pages.
pub async fn cases(State(state): State<DashState>, staff: Staff, Query(q): Query<views::cases::CaseQuery>) -> Response {
    let filter = CaseFilter {
        status: q.status(),
        stadtbezirk: q.bezirk.as_deref().and_then(Stadtbezirk::parse),
        stage: q.stufe.as_deref().and_then(ThreatStage::parse),
        search: q.suche.as_deref().and_then(Search::parse),
        assignee: q.mine().then(|| staff.user.account.username.clone()),
        sort: q.sort(),
        page: q.page(),
    };
    match state.hub.dash_cases(&staff.user.caller, &filter).await {
        Ok(m) => ok_page(&staff, Nav::Cases, "Fälle", &views::cases::render(&m, &q, &staff.ctx(&state))),
        Err(e) => error_page(e, Some(&staff.frame(Nav::Cases))),
    }
}

fn case_id(raw: &str) -> Result<CaseId, HubError> {
    CaseId::parse(raw).map_err(|e| HubError::Invalid(e.within("Fall")))
}

/// The confirmation a case page shows after a redirect from a finished action.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    erledigt: Option<String>,
    /// A consent whose renewal the consent form is filled in for.
    verlaengern: Option<String>,
}

/// The consent form filled in from `consent` for its renewal: persons, recipients, data, form and the
/// explicit declarations taken over; evidence and validity left for the new consent.
fn renewal_of(consent: &crate::domain::consent::Consent) -> views::case_page::FormEcho {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for p in &consent.persons {
        q.append_pair("personen", p.as_str());
    }
    for r in &consent.recipients {
        q.append_pair("empfaenger", r.as_str());
    }
    for c in &consent.categories {
        q.append_pair("daten", c.as_str());
    }
    q.append_pair("form", consent.form.as_str());
    if consent.art9_explicit {
        q.append_pair("ausdruecklich", "on");
    }
    if consent.secrecy_release {
        q.append_pair("schweigepflicht", "on");
    }
    views::case_page::FormEcho {
        form: CONSENT.id,
        values: FormData::parse(q.finish().as_bytes()),
        field: None,
        label: None,
        message: String::new(),
    }
}

/// GET /faelle/{id}/druck : the case for the paper file (audited as a read of the case, like the page).
pub async fn case_print(State(state): State<DashState>, staff: Staff, Path(id): Path<String>) -> Response {
    let model = match case_id(&id) {
        Ok(id) => state.hub.dash_case(&staff.user.caller, &id).await,
        Err(e) => Err(e),
    };
    match model {
        Ok(m) => {
            let title = format!("Druckansicht – {}", views::case_page::title(&m));
            ok_page(&staff, Nav::Cases, &title, &views::case_page::render_print(&m, &staff.ctx(&state)))
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Cases))),
    }
}

/// GET /faelle/{id} : the case page.
pub async fn case_page(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let model = match case_id(&id) {
        Ok(id) => state.hub.dash_case(&staff.user.caller, &id).await,
        Err(e) => Err(e),
    };
    match model {
        Ok(m) => {
            let title = views::case_page::title(&m);
            let renew = q.verlaengern.as_deref().and_then(|id| m.consents.iter().find(|c| c.id.as_str() == id));
            let body = match renew {
                Some(consent) => views::case_page::render_with(&m, &staff.ctx(&state), Some(&renewal_of(consent))),
                None => views::case_page::render_done(&m, &staff.ctx(&state), q.erledigt.as_deref()),
            };
            ok_page(&staff, Nav::Cases, &title, &body)
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Cases))),
    }
}

/// The form field of the court notice a rule names, by the rule's field path (the form's own names
/// for what the page parses itself).
const COURT_FIELDS: &[(&str, &str)] = &[
    ("court_file_number", "aktenzeichen"),
    ("claim_received_date", "eingang"),
    ("claim_served_date", "zustellung"),
    ("hearing_date", "verhandlung"),
    ("tenants", "nachname"),
    ("tenants[0].family_name", "nachname"),
    ("tenants[0].given_name", "vorname"),
    ("tenants[0].street", "strasse"),
    ("tenants[0].house_number", "hausnummer"),
    ("tenants[0].postal_code", "plz"),
    ("tenants[0].city", "ort"),
    ("tenants[1].family_name", "nachname2"),
    ("tenants[1].given_name", "vorname2"),
    ("landlord_name", "vermieter"),
    ("landlord_organisation_id", "vermieter_org"),
    ("tenancy_reference", "mietvertrag"),
    ("aktenzeichen", "aktenzeichen"),
    ("eingang", "eingang"),
    ("zustellung", "zustellung"),
    ("verhandlung", "verhandlung"),
    ("miete", "miete"),
    ("rueckstand", "rueckstand"),
    ("nutzung", "nutzung"),
    ("vermieter_org", "vermieter_org"),
    ("bezirk", "bezirk"),
];

/// The court form page, with a refused attempt's input and message.
async fn court_page(state: &DashState, staff: &Staff, echo: Option<views::court_form::CourtEcho>) -> Response {
    let frame = staff.frame(Nav::Today);
    let landlords = match state.hub.list_orgs(&staff.user.caller, Some(OrgKind::HousingCompany), false).await {
        Ok(l) => l,
        Err(e) => return error_page(e, Some(&frame)),
    };
    let status = if echo.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = views::court_form::render(&landlords, &staff.ctx(state), echo.as_ref());
    html(status, page(views::court_form::TITLE, Some(&frame), &body))
}

/// GET /gericht/neu : the form for a court notice that came by post or fax.
pub async fn court_form(State(state): State<DashState>, staff: Staff) -> Response {
    if let Err(e) = staff.user.caller.fachstelle("record court notices") {
        return error_page(e, Some(&staff.frame(Nav::Today)));
    }
    court_page(&state, &staff, None).await
}

/// A date field of a form: empty is none; anything else must be a date.
fn form_day(form: &FormData, field: &str) -> Result<Option<Day>, HubError> {
    form.non_empty(field)
        .map(|v| {
            crate::domain::notation::day(&v).ok_or_else(|| {
                HubError::Invalid(FieldError::new(field, "is not a date").de("Bitte ein Datum wie 28.01.2026 angeben."))
            })
        })
        .transpose()
}

/// An amount field of a form: empty is 0 €.
fn form_cents(form: &FormData, field: &str) -> Result<Cents, HubError> {
    let raw = form.non_empty(field).unwrap_or_else(|| "0".into());
    crate::domain::notation::euro_cents(&raw).and_then(|c| Cents::parse(c).ok()).ok_or_else(|| {
        HubError::Invalid(FieldError::new(field, "is not an amount").de("Bitte einen Betrag wie 1.560,00 angeben."))
    })
}

/// The court notice as the form sent it (the domain checks it in the use case).
fn court_data(form: &FormData) -> Result<CourtData, HubError> {
    let tenant = |family: &str, given: &str| TenantContact {
        family_name: form.one(family).unwrap_or_default(),
        given_name: form.one(given).unwrap_or_default(),
        street: form.one("strasse").unwrap_or_default(),
        house_number: form.one("hausnummer").unwrap_or_default(),
        postal_code: form.one("plz").unwrap_or_default(),
        city: form.one("ort").unwrap_or_default(),
        ..TenantContact::default()
    };
    let mut tenants = vec![tenant("nachname", "vorname")];
    if form.non_empty("nachname2").is_some() || form.non_empty("vorname2").is_some() {
        tenants.push(tenant("nachname2", "vorname2"));
    }
    let landlord_org = form
        .non_empty("vermieter_org")
        .map(|v| OrgId::parse(&v).map_err(|e| HubError::Invalid(e.within("vermieter_org"))))
        .transpose()?;
    Ok(CourtData {
        court_file_number: form.one("aktenzeichen").unwrap_or_default(),
        claim_received: required(form_day(form, "eingang")?, "eingang")?,
        claim_served: form_day(form, "zustellung")?,
        tenants,
        landlord_name: form.one("vermieter").unwrap_or_default(),
        landlord_org,
        monthly_rent: form_cents(form, "miete")?,
        arrears_claimed: form_cents(form, "rueckstand")?,
        use_compensation: form_cents(form, "nutzung")?,
        hearing: form_day(form, "verhandlung")?,
        stadtbezirk: parse_one(form, "bezirk", Stadtbezirk::parse)?,
        tenancy_reference: form.one("mietvertrag").unwrap_or_default(),
    })
}

/// POST /gericht/neu : records the court notice; on to the case it joined, or to its triage page.
pub async fn record_court(State(state): State<DashState>, staff: Staff, form: FormData) -> Response {
    if let Err(r) = staff.check_csrf(&form) {
        return *r;
    }
    let result = match (court_data(&form), form_idem("court", &form)) {
        (Ok(data), Ok(idem)) => state.hub.record_court_notice(&staff.user.caller, &idem, data).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok((_, _, Some(case))) => {
            let mut r = Redirect::to(&format!("/faelle/{case}?erledigt=gericht")).into_response();
            secure_headers(r.headers_mut());
            r
        }
        Ok((_, notice, None)) => {
            let mut r = Redirect::to(&format!("/meldungen/{notice}?erledigt=gericht")).into_response();
            secure_headers(r.headers_mut());
            r
        }
        Err(e @ (HubError::Invalid(_) | HubError::FailedPrecondition(_))) => {
            let field = match &e {
                HubError::Invalid(f) => COURT_FIELDS.iter().find(|(path, _)| *path == f.field).map(|(_, name)| *name),
                _ => None,
            };
            let (_, _, message) = error_parts(e);
            court_page(&state, &staff, Some(views::court_form::CourtEcho { values: form, field, message })).await
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Today))),
    }
}

fn notice_id(raw: &str) -> Result<NoticeId, HubError> {
    NoticeId::parse(raw).map_err(|e| HubError::Invalid(e.within("Meldung")))
}

/// The triage page of a notice, with `error` (a refused take-up) above the choice.
async fn triage_page(state: &DashState, staff: &Staff, id: &NoticeId, error: Option<String>) -> Response {
    triage_page_done(state, staff, id, error, false).await
}

/// The triage page; `recorded` says the notice was just entered by hand.
async fn triage_page_done(
    state: &DashState,
    staff: &Staff,
    id: &NoticeId,
    error: Option<String>,
    recorded: bool,
) -> Response {
    let frame = staff.frame(Nav::Today);
    let triage = match state.hub.notice_triage(&staff.user.caller, id).await {
        Ok(t) => t,
        Err(e) => return error_page(e, Some(&frame)),
    };
    let from_org = match &triage.item.notice.data {
        crate::domain::notice::NoticeData::Arrears(_) => triage.item.notice.reporter.clone(),
        crate::domain::notice::NoticeData::Court(c) => c.landlord_org.clone(),
    };
    let from = match from_org {
        Some(org) => state.hub.organisation(&org).await.ok().flatten().map(|o| o.name),
        None => None,
    };
    let status = if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    let page_model = views::triage::TriagePage { triage: &triage, from, error, recorded };
    let body = views::triage::render(&page_model, &staff.ctx(state));
    html(status, page(views::triage::title(), Some(&frame), &body))
}

/// GET /meldungen/{id} : triage of a new notice.
pub async fn notice_page(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    match notice_id(&id) {
        Ok(id) => triage_page_done(&state, &staff, &id, None, q.erledigt.is_some()).await,
        Err(e) => error_page(e, Some(&staff.frame(Nav::Today))),
    }
}

/// POST /meldungen/{id}/uebernehmen : takes the notice up into the chosen case or a new one.
pub async fn take_up(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    if let Err(r) = staff.check_csrf(&form) {
        return *r;
    }
    let id = match notice_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(e, Some(&staff.frame(Nav::Today))),
    };
    let target = match form.one("ziel").as_deref() {
        Some("neu") => Ok(TakeUpTarget::NewCase),
        Some(v) => v
            .strip_prefix("fall:")
            .and_then(|c| CaseId::parse(c).ok())
            .map(TakeUpTarget::Case)
            .ok_or_else(|| "Diese Auswahl gibt es nicht; bitte neu wählen.".to_owned()),
        None => Err("Bitte wählen Sie, wohin die Meldung gehört.".to_owned()),
    };
    let result = match target {
        Ok(target) => match form_idem("take_up", &form) {
            Ok(idem) => state.hub.take_up_notice(&staff.user.caller, &idem, &id, None, target).await,
            Err(e) => Err(e),
        },
        Err(message) => return triage_page(&state, &staff, &id, Some(message)).await,
    };
    match result {
        Ok((case, _)) => {
            let mut r = Redirect::to(&format!("/faelle/{}?erledigt=meldung", case.id)).into_response();
            secure_headers(r.headers_mut());
            r
        }
        Err(e @ (HubError::FailedPrecondition(_) | HubError::Invalid(_))) => {
            let (_, _, message) = error_parts(e);
            triage_page(&state, &staff, &id, Some(message)).await
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Today))),
    }
}

fn referral_id(raw: &str) -> Result<ReferralId, HubError> {
    ReferralId::parse(raw).map_err(|e| HubError::Invalid(e.within("Vermittlung")))
}

/// The referral page, with `echo` (a refused note or withdrawal) and `done` (a finished one).
async fn referral_view(
    state: &DashState,
    staff: &Staff,
    id: &ReferralId,
    echo: Option<views::referral_page::PageEcho>,
    done: Option<&str>,
) -> Response {
    let frame = staff.frame(Nav::Handoffs);
    match state.hub.dash_referral(&staff.user.caller, id).await {
        Ok(m) => {
            let status = if echo.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            let body = views::referral_page::render(&m, &staff.ctx(state), echo.as_ref(), done);
            html(status, page(&views::referral_page::title(&m), Some(&frame), &body))
        }
        Err(e) => error_page(e, Some(&frame)),
    }
}

/// GET /vermittlungen/{id} : one referral, to follow it up.
pub async fn referral_page(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    match referral_id(&id) {
        Ok(id) => referral_view(&state, &staff, &id, None, q.erledigt.as_deref()).await,
        Err(e) => error_page(e, Some(&staff.frame(Nav::Handoffs))),
    }
}

/// Runs an action on a referral: back to its page with a confirmation, or with the rule's message at
/// the form's text and the text kept.
async fn referral_action<Fut>(
    state: &DashState,
    staff: Staff,
    id: String,
    form: FormData,
    which: (&'static str, &'static str),
    act: impl FnOnce(ReferralId, Idem, String) -> Fut,
) -> Response
where
    Fut: Future<Output = Result<(), HubError>>,
{
    if let Err(r) = staff.check_csrf(&form) {
        return *r;
    }
    let (name, field) = which;
    let id = match referral_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(e, Some(&staff.frame(Nav::Handoffs))),
    };
    let text = form.one(field).unwrap_or_default();
    let result = match form_idem(name, &form) {
        Ok(idem) => act(id.clone(), idem, text.clone()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            let mut r = Redirect::to(&format!("/vermittlungen/{id}?erledigt={name}")).into_response();
            secure_headers(r.headers_mut());
            r
        }
        Err(e @ (HubError::Invalid(_) | HubError::FailedPrecondition(_))) => {
            let (_, _, message) = error_parts(e);
            let code = form.one("code").and_then(|c| ReasonCode::parse(&c));
            let echo = views::referral_page::PageEcho { form: name, message, text, code };
            referral_view(state, &staff, &id, Some(echo), None).await
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Handoffs))),
    }
}

/// POST /vermittlungen/{id}/notiz : a note to the partner.
pub async fn referral_note(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    referral_action(&state, staff, id, form, ("notiz", "text"), |id, idem, text| async move {
        hub.add_note(&caller, &idem, &id, text).await.map(|_| ())
    })
    .await
}

/// POST /vermittlungen/{id}/erinnern : reminds the partner of the reply-by date (a note).
pub async fn remind(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    referral_action(&state, staff, id, form, ("erinnern", "text"), |id, idem, _| async move {
        hub.remind_partner(&caller, &idem, &id).await.map(|_| ())
    })
    .await
}

/// POST /vermittlungen/{id}/frist : a new reply-by date, told to the partner as a note.
pub async fn referral_reply_by(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    let day = form_day(&form, "datum");
    let words = form.one("text").unwrap_or_default();
    referral_action(&state, staff, id, form, ("frist", "datum"), |id, idem, _| async move {
        let day = required(day?, "datum")?;
        hub.change_reply_by(&caller, &idem, &id, day, words).await.map(|_| ())
    })
    .await
}

/// POST /vermittlungen/{id}/zurueckziehen : the Fachstelle withdraws the referral, with a reason.
pub async fn withdraw(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    let code = parse_one(&form, "code", ReasonCode::parse);
    referral_action(&state, staff, id, form, ("zurueckziehen", "grund"), |id, idem, text| async move {
        // Whether a reason is needed, and which, is the domain's rule (`check_move`).
        let reason = Reason { code: code?, text };
        hub.transition(&caller, &idem, &id, Move::Cancel, Some(reason), None).await.map(|_| ())
    })
    .await
}

/// GET /partner : Partner.
pub async fn partners(State(state): State<DashState>, staff: Staff) -> Response {
    match state.hub.dash_partners(&staff.user.caller).await {
        Ok(rows) => ok_page(&staff, Nav::Partners, "Partner", &views::partners::render(&rows, &staff.ctx(&state))),
        Err(e) => error_page(e, Some(&staff.frame(Nav::Partners))),
    }
}

/// The year of the key figures pages.
#[derive(Debug, Deserialize)]
pub struct YearQuery {
    jahr: Option<String>,
}

impl YearQuery {
    fn year(&self, today: Day) -> Result<i32, HubError> {
        match self.jahr.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(today.year()),
            Some(s) => s
                .parse::<i32>()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .ok_or_else(|| FieldError::new("jahr", "erwartet ein Jahr wie 2026").into()),
        }
    }
}

/// Builds the caller's key figures and records who looked at them.
async fn figures(
    state: &DashState,
    staff: &Staff,
    year: i32,
    format: Format,
) -> Result<key_figures::KeyFigures, HubError> {
    state.hub.key_figures_for(&staff.user.caller, year, format, "on the dashboard").await
}

/// GET /kennzahlen?jahr=Y
pub async fn key_figures_page(State(state): State<DashState>, staff: Staff, Query(q): Query<YearQuery>) -> Response {
    let frame = staff.frame(Nav::Figures);
    let year = match q.year(state.hub.clock_today()) {
        Ok(y) => y,
        Err(e) => return error_page(e, Some(&frame)),
    };
    match figures(&state, &staff, year, Format::Html).await {
        Ok(f) => ok_page(
            &staff,
            Nav::Figures,
            &format!("Kennzahlen {year}"),
            &views::figures::render(&f, year, &staff.ctx(&state)),
        ),
        Err(e) => error_page(e, Some(&frame)),
    }
}

/// GET /kennzahlen.csv?jahr=Y : a download.
pub async fn key_figures_csv(State(state): State<DashState>, staff: Staff, Query(q): Query<YearQuery>) -> Response {
    let year = match q.year(state.hub.clock_today()) {
        Ok(y) => y,
        Err(e) => return error_page(e, Some(&staff.frame(Nav::Figures))),
    };
    match figures(&state, &staff, year, Format::Csv).await {
        Ok(f) => {
            let mut r = (StatusCode::OK, f.to_csv_de()).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"kennzahlen-{year}.csv\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            secure_headers(h);
            r
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Figures))),
    }
}

/// An idempotency key for one form submission: a fresh key (the redirect after the action keeps a
/// reload from repeating it), fingerprinted over the form like the gRPC edge does.
fn form_idem(action: &str, form: &FormData) -> Result<Idem, HubError> {
    let key = IdempotencyKey::parse(&format!("dashboard-{}", uuid::Uuid::new_v4()))?;
    let mut h = Sha256::new();
    h.update(action.as_bytes());
    h.update(format!("{form:?}").as_bytes());
    Ok(Idem { key, fingerprint: hex::encode(h.finalize()) })
}

fn parse_all<T>(form: &FormData, field: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, HubError> {
    form.all(field)
        .iter()
        .map(|v| {
            parse(v).ok_or_else(|| {
                FieldError::new(field, format!("unknown value '{v}'"))
                    .de("Diesen Wert gibt es nicht; bitte neu wählen.")
                    .into()
            })
        })
        .collect()
}

fn parse_one<T>(form: &FormData, field: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, HubError> {
    Ok(parse_all(form, field, parse)?.into_iter().next())
}

fn required<T>(v: Option<T>, field: &str) -> Result<T, HubError> {
    v.ok_or_else(|| FieldError::new(field, "missing").de("Bitte ausfüllen.").into())
}

/// A form of the case page: its id, and which of its fields shows a rule's message, by the field path the
/// rule names (proto names from the domain, or the form's own names from parsing above), with the field's
/// label for the summary at the top of the page.
struct CaseForm {
    id: &'static str,
    fields: &'static [(&'static str, &'static str, &'static str)],
}

const REFER: CaseForm = CaseForm {
    id: "ueberweisen",
    fields: &[
        ("recipient_organisation_id", "empfaenger", "Empfänger"),
        ("category", "kategorie", "Anliegen"),
        ("data_categories", "daten", "Daten"),
        ("reply_by", "antwort_bis", "Antwort bis"),
        ("message", "nachricht", "Nachricht"),
        ("confirm_duplicate", "zweite_bestaetigt", "Zweite Vermittlung"),
    ],
};

const CONSENT: CaseForm = CaseForm {
    id: "einwilligung",
    fields: &[
        ("person_ids", "personen", "Einwilligende Personen"),
        ("recipient_organisation_ids", "empfaenger", "Empfänger"),
        ("categories", "daten", "Daten"),
        ("evidence_reference", "nachweis", "Nachweis"),
        ("valid_until", "gueltig_bis", "Gültig bis"),
        ("art9_explicit", "ausdruecklich", "Ausdrückliche Einwilligung"),
        ("secrecy_release", "schweigepflicht", "Schweigepflichtentbindung"),
    ],
};

const REVOKE: CaseForm = CaseForm {
    id: "widerruf",
    fields: &[("consent_id", "einwilligung", "Einwilligung"), ("note", "notiz", "Wie und wann widerrufen")],
};

const STAGE: CaseForm = CaseForm {
    id: "stufe",
    fields: &[
        ("stage", "stufe", "Stufe"),
        ("date", "datum", "Erreicht am"),
        ("end_date", "ende", "Endet am"),
        ("source", "quelle", "Woher bekannt"),
    ],
};

const ASSIGN: CaseForm = CaseForm { id: "zustaendig", fields: &[("assignee", "zustaendig", "Zuständig")] };

const CONTACT: CaseForm = CaseForm {
    id: "kontakt",
    fields: &[("kind", "wie", "Wie"), ("day", "datum", "Datum"), ("note", "notiz", "Notiz")],
};

const FOLLOW_UP: CaseForm = CaseForm { id: "wiedervorlage", fields: &[("months", "monate", "Wiedervorlage")] };

const CLOSE: CaseForm = CaseForm {
    id: "abschliessen",
    fields: &[("outcome", "ergebnis", "Ergebnis"), ("rescue_means", "mittel", "Mittel"), ("note", "notiz", "Notiz")],
};

impl CaseForm {
    /// The form field (name and label) a rule's field path belongs to (`person_ids[1]` to `personen`).
    fn field_of(&self, path: &str) -> Option<(&'static str, &'static str)> {
        // `entry.date` of a stage names its field last; `person_ids[1]` first.
        let head = path.split(['[', '.']).next().unwrap_or(path);
        let last = path.rsplit('.').next().unwrap_or(path);
        [head, last]
            .into_iter()
            .find_map(|part| self.fields.iter().find(|(proto, name, _)| *proto == part || *name == part))
            .map(|(_, name, label)| (*name, *label))
    }
}

/// Runs an action on a case and redirects back to its page. When a rule refuses it, the case page comes
/// back with everything the caseworker entered in `form`, the message at the field it concerns and a
/// summary at the top; other failures get an error page.
async fn case_action<F, Fut>(
    state: &DashState,
    staff: Staff,
    id: String,
    which: CaseForm,
    form: FormData,
    act: F,
) -> Response
where
    F: FnOnce(CaseId, FormData) -> Fut,
    Fut: Future<Output = Result<(), HubError>>,
{
    if let Err(r) = staff.check_csrf(&form) {
        return *r;
    }
    let case = match case_id(&id) {
        Ok(case) => case,
        Err(e) => return error_page(e, Some(&staff.frame(Nav::Cases))),
    };
    let error = match act(case.clone(), form.clone()).await {
        Ok(()) => {
            let to = format!("/faelle/{case}?erledigt={}#{}", which.id, views::case_page::section_of(which.id));
            let mut r = Redirect::to(&to).into_response();
            secure_headers(r.headers_mut());
            return r;
        }
        Err(e) => e,
    };
    let field = match &error {
        HubError::Invalid(f) => which.field_of(&f.field),
        HubError::FailedPrecondition(_) => None,
        _ => return error_page(error, Some(&staff.frame(Nav::Cases))),
    };
    let (status, _, message) = error_parts(error);
    match state.hub.dash_case(&staff.user.caller, &case).await {
        Ok(model) => {
            let echo = views::case_page::FormEcho {
                form: which.id,
                values: form,
                field: field.map(|(name, _)| name),
                label: field.map(|(_, label)| label),
                message,
            };
            let title = format!("Nicht gespeichert – {}", views::case_page::title(&model));
            let body = views::case_page::render_with(&model, &staff.ctx(state), Some(&echo));
            let body = if body.contains("<h1") { body } else { format!("<h1>{}</h1>\n{body}", views::esc(&title)) };
            html(status, page(&title, Some(&staff.frame(Nav::Cases)), &body))
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Cases))),
    }
}

/// POST /faelle/{id}/ueberweisen : a referral.
pub async fn refer(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, REFER, form, |case_id, form| async move {
        let idem = form_idem("refer", &form)?;
        let recipient = OrgId::parse(&required(form.non_empty("empfaenger"), "empfaenger")?)
            .map_err(|e| HubError::Invalid(e.within("empfaenger")))?;
        let category = required(parse_one(&form, "kategorie", ReferralCategory::parse)?, "kategorie")?;
        let data = parse_all(&form, "daten", DataCategory::parse)?;
        let new = NewReferral {
            case_id,
            recipient,
            category,
            data,
            message: form.one("nachricht").unwrap_or_default(),
            reply_by: form_day(&form, "antwort_bis")?,
            confirm_duplicate: form.one("zweite_bestaetigt").is_some(),
        };
        hub.create_referral(&caller, &idem, new).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/einwilligung : a consent.
pub async fn consent(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, CONSENT, form, |case_id, form| async move {
        let idem = form_idem("consent", &form)?;
        let recipients = form
            .all("empfaenger")
            .iter()
            .map(|v| OrgId::parse(v).map_err(|e| HubError::Invalid(e.within("empfaenger"))))
            .collect::<Result<Vec<_>, _>>()?;
        let categories = parse_all(&form, "daten", DataCategory::parse)?;
        let persons = form
            .all("personen")
            .iter()
            .map(|v| PersonId::parse(v).map_err(|e| HubError::Invalid(e.within("personen"))))
            .collect::<Result<Vec<_>, _>>()?;
        let new = NewConsent {
            case_id,
            draft: ConsentDraft {
                persons,
                recipients,
                art9_explicit: categories.iter().any(|c| c.is_special()) && form.one("ausdruecklich").is_some(),
                categories,
                form: required(parse_one(&form, "form", ConsentForm::parse)?, "form")?,
                evidence: form.one("nachweis").unwrap_or_default(),
                valid_until: required(form_day(&form, "gueltig_bis")?, "gueltig_bis")?,
                secrecy_release: form.one("schweigepflicht").is_some(),
            },
        };
        hub.record_consent(&caller, &idem, new).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/widerruf : records that the household revoked a consent.
pub async fn revoke(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, REVOKE, form, |_, form| async move {
        let idem = form_idem("revoke", &form)?;
        let consent = ConsentId::parse(&required(form.non_empty("einwilligung"), "einwilligung")?)
            .map_err(|e| HubError::Invalid(e.within("einwilligung")))?;
        hub.revoke_consent(&caller, &idem, &consent, form.one("notiz").unwrap_or_default()).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/stufe : records a threat stage with its date and source.
pub async fn stage(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, STAGE, form, |case_id, form| async move {
        let idem = form_idem("stage", &form)?;
        let new = NewStage {
            stage: required(parse_one(&form, "stufe", ThreatStage::parse)?, "stufe")?,
            date: required(form_day(&form, "datum")?, "datum")?,
            end_date: form_day(&form, "ende")?,
            source: form.one("quelle").unwrap_or_default(),
        };
        hub.record_stage(&caller, &idem, &case_id, new).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/zustaendig : gives the case to a colleague (or to nobody).
pub async fn assign(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, ASSIGN, form, |case_id, form| async move {
        let idem = form_idem("assign", &form)?;
        let to = form
            .non_empty("zustaendig")
            .map(|u| Username::parse(&u).map_err(|e| HubError::Invalid(e.within("zustaendig"))))
            .transpose()?;
        hub.assign_case(&caller, &idem, &case_id, to).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/kontakt : a try to reach the household.
pub async fn contact(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, CONTACT, form, |case_id, form| async move {
        let idem = form_idem("contact", &form)?;
        let new = NewContact {
            kind: required(parse_one(&form, "wie", ContactKind::parse)?, "wie")?,
            day: required(form_day(&form, "datum")?, "datum")?,
            reached: form.one("erreicht").is_some(),
            note: form.one("notiz").unwrap_or_default(),
        };
        hub.record_contact(&caller, &idem, &case_id, new).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/wiedervorlage : whether a kept tenancy still held at a follow-up.
pub async fn follow_up(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, FOLLOW_UP, form, |case_id, form| async move {
        let idem = form_idem("follow_up", &form)?;
        let months = form.one("monate").and_then(|m| m.parse::<u8>().ok());
        let months = required(months, "monate")?;
        let held = match form.one("gehalten").as_deref() {
            Some("ja") => true,
            Some("nein") => false,
            _ => return Err(FieldError::new("gehalten", "missing").de("Bitte wählen: gehalten oder nicht.").into()),
        };
        hub.record_follow_up(&caller, &idem, &case_id, months, held).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/abschliessen : closes the case.
pub async fn close(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, CLOSE, form, |case_id, form| async move {
        let idem = form_idem("close", &form)?;
        let outcome = required(parse_one(&form, "ergebnis", CaseOutcome::parse)?, "ergebnis")?;
        let means = parse_one(&form, "mittel", RescueMeans::parse)?;
        let close = NewClosure {
            outcome,
            rescue_means: means,
            note: form.one("notiz").unwrap_or_default(),
            confirm_open_items: form.one("offenes_bestaetigt").is_some(),
        };
        hub.close_case(&caller, &idem, &case_id, close).await.map(|_| ())
    })
    .await
}

/// Any other path.
pub async fn not_found() -> Response {
    message_page(StatusCode::NOT_FOUND, "Nicht gefunden", "Diese Seite gibt es nicht.", None)
}
