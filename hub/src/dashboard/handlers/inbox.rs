//! A partner's inbox: the referrals addressed to its organisation, one referral's page with exactly
//! the data its legal basis allows, and the moves and notes its clerks make there. The page shows
//! what the mailed one-referral link shows ([`crate::email::desk::recipient_view`]), and an action
//! is parsed by the same function ([`crate::email::desk::link_act`]); every rule is the use case's.

use email_adapter::web::{ActionInput, DeskError};

use super::*;
use crate::domain::ids::DataRequestId;
use crate::email::desk::{link_act, page_field, recipient_view};
use crate::service::LinkAct;
use crate::service::dashboard::InboxFilter;

/// Filters of the inbox.
#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    status: Option<String>,
    #[serde(rename = "anliegen")]
    category: Option<String>,
    #[serde(rename = "ueberfaellig")]
    overdue: Option<String>,
}

/// GET /eingang : the referrals addressed to the signed-in account's organisation.
pub async fn inbox(State(state): State<DashState>, member: Member, Query(q): Query<InboxQuery>) -> Response {
    let filter = InboxFilter::from_query(q.status.as_deref(), q.category.as_deref(), q.overdue.as_deref());
    match state.hub.dash_inbox(&member.user.caller, &filter).await {
        Ok(m) => ok_page(&member, Nav::Inbox, "Eingang", &views::inbox::render(&m, &filter, &member.ctx(&state))),
        Err(e) => error_page(e, Some(&member.frame(Nav::Inbox))),
    }
}

fn referral_id(raw: &str) -> Result<ReferralId, HubError> {
    ReferralId::parse(raw).map_err(|e| HubError::Invalid(e.within("Vermittlung")))
}

/// The page of one referral in the inbox, with `echo` (a refused action) and `done` (a finished one).
async fn inbox_referral_view(
    state: &DashState,
    member: &Member,
    id: &ReferralId,
    echo: Option<views::inbox::ActionEcho>,
    done: Option<&str>,
) -> Response {
    let frame = member.frame(Nav::Inbox);
    match recipient_view(&state.hub, &member.user.caller, id).await {
        Ok(v) => {
            let status = if echo.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            let body = views::inbox::render_referral(&v, id, &member.ctx(state), echo.as_ref(), done);
            html(status, page(&format!("Vermittlung {}", v.category), Some(&frame), &body))
        }
        Err(e) => error_page(e, Some(&frame)),
    }
}

/// GET /eingang/{id}
pub async fn inbox_referral(
    State(state): State<DashState>,
    member: Member,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    match referral_id(&id) {
        Ok(id) => inbox_referral_view(&state, &member, &id, None, q.erledigt.as_deref()).await,
        Err(e) => error_page(e, Some(&member.frame(Nav::Inbox))),
    }
}

/// POST /eingang/{id}/aktion : a move (`aktion` = the move's code) or a note (`aktion` = `NOTE`).
/// Back to the page with a confirmation, or with the rule's message at its field and the input kept.
pub async fn inbox_action(
    State(state): State<DashState>,
    member: Member,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Err(r) = member.check_csrf(&form) {
        return *r;
    }
    let id = match referral_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(e, Some(&member.frame(Nav::Inbox))),
    };
    let action = form.one("aktion").unwrap_or_default();
    let input = ActionInput {
        reason_code: form.non_empty("reason_code"),
        reason_text: form.non_empty("reason_text"),
        result: form.non_empty("result"),
        amount: form.non_empty("amount"),
        effective_date: form.non_empty("effective_date"),
        summary: form.non_empty("summary"),
        text: form.non_empty("text"),
    };
    let refused = |field: String, message: String| views::inbox::ActionEcho {
        action: action.clone(),
        field,
        message,
        values: form.clone(),
    };
    let act = match link_act(&action, &input) {
        Ok(act) => act,
        Err(DeskError::Invalid { field, message }) => {
            return inbox_referral_view(&state, &member, &id, Some(refused(field, message)), None).await;
        }
        Err(_) => return error_page(HubError::NotFound("action"), Some(&member.frame(Nav::Inbox))),
    };
    let caller = &member.user.caller;
    let result = match form_idem(&action, &form) {
        Ok(idem) => match act {
            LinkAct::Move { mv, reason, completion } => {
                state.hub.transition(caller, &idem, &id, mv, reason, completion).await.map(|_| ())
            }
            LinkAct::Note { text } => state.hub.add_note(caller, &idem, &id, text).await.map(|_| ()),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            let to = format!(
                "/eingang/{id}?erledigt={}",
                form_urlencoded::byte_serialize(action.as_bytes()).collect::<String>()
            );
            let mut r = Redirect::to(&to).into_response();
            secure_headers(r.headers_mut());
            r
        }
        Err(HubError::Invalid(f)) => {
            let message = f.reason_de.unwrap_or_else(|| "Diese Angabe ist nicht gültig.".into());
            inbox_referral_view(&state, &member, &id, Some(refused(page_field(&f.field), message)), None).await
        }
        Err(e @ HubError::FailedPrecondition(_)) => {
            let (_, _, message) = error_parts(e);
            inbox_referral_view(&state, &member, &id, Some(refused(String::new(), message)), None).await
        }
        Err(e) => error_page(e, Some(&member.frame(Nav::Inbox))),
    }
}

fn data_request_id(raw: &str) -> Result<DataRequestId, HubError> {
    DataRequestId::parse(raw).map_err(|e| HubError::Invalid(e.within("Bitte")))
}

/// GET /eingang/bitten/{id} : one request to erase, restrict or rectify data, with its receipt once
/// confirmed.
pub async fn data_request_page(
    State(state): State<DashState>,
    member: Member,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let frame = member.frame(Nav::Inbox);
    let found = match data_request_id(&id) {
        Ok(id) => state.hub.data_request_to(&member.user.caller, &id).await,
        Err(e) => Err(e),
    };
    match found {
        Ok(r) => {
            let body = views::inbox::render_request(&r, &member.ctx(&state), q.erledigt.is_some());
            html(StatusCode::OK, page("Bitte um Löschung oder Berichtigung", Some(&frame), &body))
        }
        Err(e) => error_page(e, Some(&frame)),
    }
}

/// POST /eingang/bitten/{id} : the organisation confirms it did what the request asks; on to the
/// receipt.
pub async fn confirm_data_request(
    State(state): State<DashState>,
    member: Member,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Err(r) = member.check_csrf(&form) {
        return *r;
    }
    let done = match data_request_id(&id) {
        Ok(id) => state.hub.confirm_data_request(&member.user.caller, &id).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(c) => {
            let mut r = Redirect::to(&format!("/eingang/bitten/{}?erledigt=1", c.request.id)).into_response();
            secure_headers(r.headers_mut());
            r
        }
        Err(e) => error_page(e, Some(&member.frame(Nav::Inbox))),
    }
}
