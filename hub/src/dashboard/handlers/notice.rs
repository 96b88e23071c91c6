//! Notices in the browser: the form for a court notice from the post, the triage page of a new notice
//! and its take-up.

use super::*;

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
