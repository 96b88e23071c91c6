//! The housing-company portal: the company's early notices with what it may learn about each, and
//! the form for one notice. The notice is the same `ArrearsData` the API takes, checked by the same
//! use case; this edge only reads the form and shows the rule's message at its field.

use super::*;
use crate::domain::case::Rent;
use crate::domain::notice::ArrearsData;
use crate::service::Submitted;

/// The form field a rule names, by the rule's field path.
const ARREARS_FIELDS: &[(&str, &str)] = &[
    ("tenancy_reference", "mietvertrag"),
    ("stadtbezirk", "bezirk"),
    ("bezirk", "bezirk"),
    ("consent_evidence", "nachweis"),
    ("remark", "bemerkung"),
    ("stage", "stufe"),
    ("stufe", "stufe"),
    ("stage_date", "stufe_datum"),
    ("stufe_datum", "stufe_datum"),
    ("termination_date", "kuendigung"),
    ("kuendigung", "kuendigung"),
    ("claim_served_date", "klage"),
    ("klage", "klage"),
    ("raeumung", "raeumung"),
    ("arrears_total_cents", "rueckstand"),
    ("rueckstand", "rueckstand"),
    ("grundmiete", "grundmiete"),
    ("nebenkosten", "nebenkosten"),
    ("heizkosten", "heizkosten"),
    ("tenant", "nachname"),
    ("tenant.family_name", "nachname"),
    ("tenant.given_name", "vorname"),
    ("tenant.street", "strasse"),
    ("tenant.house_number", "hausnummer"),
    ("tenant.postal_code", "plz"),
    ("tenant.city", "ort"),
    ("tenant.phone", "telefon"),
    ("tenant.email", "email"),
];

/// The portal page, with a refused notice's input and message.
async fn portal_page(
    state: &DashState,
    member: &Member,
    echo: Option<views::portal::NoticeEcho>,
    done: Option<&str>,
) -> Response {
    let frame = member.frame(Nav::Notices);
    match state.hub.notice_statuses(&member.user.caller, &[]).await {
        Ok(rows) => {
            let status = if echo.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            let body = views::portal::render(&rows, &member.ctx(state), echo.as_ref(), done);
            html(status, page(views::portal::TITLE, Some(&frame), &body))
        }
        Err(e) => error_page(e, Some(&frame)),
    }
}

/// GET /rueckstaende : the company's notices and the form for a new one.
pub async fn portal(State(state): State<DashState>, member: Member, Query(q): Query<DoneQuery>) -> Response {
    portal_page(&state, &member, None, q.erledigt.as_deref()).await
}

/// The notice as the form sent it. Names and contact data go with it only when filled in; evidence
/// of the tenant's consent is what makes them lawful (the domain's rule).
fn arrears_data(form: &FormData) -> Result<ArrearsData, HubError> {
    let tenant = TenantContact {
        family_name: form.one("nachname").unwrap_or_default(),
        given_name: form.one("vorname").unwrap_or_default(),
        street: form.one("strasse").unwrap_or_default(),
        house_number: form.one("hausnummer").unwrap_or_default(),
        postal_code: form.one("plz").unwrap_or_default(),
        city: form.one("ort").unwrap_or_default(),
        phone: form.one("telefon").unwrap_or_default(),
        email: form.one("email").unwrap_or_default(),
    };
    Ok(ArrearsData {
        tenancy_reference: form.one("mietvertrag").unwrap_or_default(),
        stadtbezirk: required(parse_one(form, "bezirk", Stadtbezirk::parse)?, "bezirk")?,
        rent: Rent {
            base: form_cents(form, "grundmiete")?,
            service_charge_advance: form_cents(form, "nebenkosten")?,
            heating_advance: form_cents(form, "heizkosten")?,
        },
        ledger: Vec::new(),
        arrears_total: form_cents(form, "rueckstand")?,
        oldest_unpaid_month: None,
        stage: required(parse_one(form, "stufe", ThreatStage::parse)?, "stufe")?,
        stage_date: form_day(form, "stufe_datum")?,
        termination_date: form_day(form, "kuendigung")?,
        claim_served: form_day(form, "klage")?,
        eviction_date: form_day(form, "raeumung")?,
        consent_evidence: form.non_empty("nachweis"),
        tenant: (!tenant.is_empty()).then_some(tenant),
        remark: form.one("bemerkung").unwrap_or_default(),
    })
}

/// POST /rueckstaende : reports one notice; back to the list with what happened, or to the form
/// with the rule's message at its field and everything entered kept.
pub async fn report_arrears(State(state): State<DashState>, member: Member, form: FormData) -> Response {
    if let Err(r) = member.check_csrf(&form) {
        return *r;
    }
    let result = match (arrears_data(&form), form_idem("arrears", &form)) {
        (Ok(data), Ok(idem)) => state.hub.submit_arrears(&member.user.caller, &idem, data).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok((submitted, _)) => {
            let done = match submitted {
                Submitted::Accepted => "neu",
                Submitted::Updated => "aktualisiert",
                Submitted::Unchanged => "unveraendert",
            };
            let mut r = Redirect::to(&format!("/rueckstaende?erledigt={done}")).into_response();
            secure_headers(r.headers_mut());
            r
        }
        Err(e @ (HubError::Invalid(_) | HubError::FailedPrecondition(_))) => {
            let field = match &e {
                HubError::Invalid(f) => ARREARS_FIELDS.iter().find(|(path, _)| *path == f.field).map(|(_, name)| *name),
                _ => None,
            };
            let (_, _, message) = error_parts(e);
            portal_page(&state, &member, Some(views::portal::NoticeEcho { values: form, field, message }), None).await
        }
        Err(e) => error_page(e, Some(&member.frame(Nav::Notices))),
    }
}
