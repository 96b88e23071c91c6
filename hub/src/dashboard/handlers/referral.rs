//! The referral page and its actions: a note, a reminder, a new reply-by date, a withdrawal.

use super::*;

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
            let echo = views::referral_page::PageEcho { form: name, message, values: form };
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
