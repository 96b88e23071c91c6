//! "Mitarbeitende": an organisation's administrator manages its staff accounts (add, disable,
//! enable, new password). Which accounts an administrator may touch is the service's rule
//! ([`crate::service::staff::AccountAdmin`]); this edge reads the forms and shows the answers.

use super::*;
use crate::service::staff::{AccountAdmin, NewStaff};

/// The administrator behind `member`, or the "Kein Zugriff" page.
fn admin_of(member: &Member) -> Result<AccountAdmin, Box<Response>> {
    AccountAdmin::of_session(&member.user).map_err(|e| Box::new(error_page(e, Some(&member.frame(Nav::Accounts)))))
}

/// The page, with `echo` (a refused form) and `done` (a finished action).
async fn accounts_view(
    state: &DashState,
    member: &Member,
    admin: &AccountAdmin,
    echo: Option<views::accounts::AccountEcho>,
    done: Option<&str>,
) -> Response {
    let frame = member.frame(Nav::Accounts);
    let org_name = match state.hub.organisation(&member.user.account.org).await {
        Ok(o) => o.map_or_else(|| member.user.account.org.to_string(), |o| o.name),
        Err(e) => return error_page(e, Some(&frame)),
    };
    match state.hub.list_staff(admin).await {
        Ok(accounts) => {
            let status = if echo.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            let body = views::accounts::render(
                &accounts,
                &org_name,
                &member.user.account.username,
                &member.ctx(state),
                state.hub.clock_now(),
                echo.as_ref(),
                done,
            );
            html(status, page("Mitarbeitende", Some(&frame), &body))
        }
        Err(e) => error_page(e, Some(&frame)),
    }
}

/// GET /mitarbeitende
pub async fn accounts(State(state): State<DashState>, member: Member, Query(q): Query<DoneQuery>) -> Response {
    match admin_of(&member) {
        Ok(admin) => accounts_view(&state, &member, &admin, None, q.erledigt.as_deref()).await,
        Err(r) => *r,
    }
}

/// Runs an account action: back to the page with a confirmation, or with the rule's message at its
/// field and the input kept (never a password).
async fn account_action<Fut>(
    state: &DashState,
    member: Member,
    form: FormData,
    which: (String, &'static str),
    act: impl FnOnce(AccountAdmin) -> Fut,
) -> Response
where
    Fut: Future<Output = Result<(), HubError>>,
{
    if let Err(r) = member.check_csrf(&form) {
        return *r;
    }
    let admin = match admin_of(&member) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let (form_id, done) = which;
    match act(admin.clone()).await {
        Ok(()) => {
            let mut r = Redirect::to(&format!("/mitarbeitende?erledigt={done}")).into_response();
            secure_headers(r.headers_mut());
            r
        }
        Err(HubError::Invalid(f)) => {
            let field = match f.field.as_str() {
                "username" => "benutzer",
                "password" => "passwort",
                "name" => "name",
                _ => "",
            };
            let message = f.reason_de.unwrap_or_else(|| "Diese Angabe ist nicht gültig.".into());
            let echo = views::accounts::AccountEcho { form: form_id, field, message, values: form };
            accounts_view(state, &member, &admin, Some(echo), None).await
        }
        Err(e @ HubError::FailedPrecondition(_)) => {
            let (_, _, message) = error_parts(e);
            let echo = views::accounts::AccountEcho { form: form_id, field: "", message, values: form };
            accounts_view(state, &member, &admin, Some(echo), None).await
        }
        Err(e) => error_page(e, Some(&member.frame(Nav::Accounts))),
    }
}

/// POST /mitarbeitende : a new account of the administrator's organisation.
pub async fn add_account(State(state): State<DashState>, member: Member, form: FormData) -> Response {
    let new = NewStaff {
        username: form.one("benutzer").unwrap_or_default(),
        display_name: form.one("name").unwrap_or_default(),
        org: member.user.account.org.to_string(),
        password: form.one("passwort").unwrap_or_default(),
        admin: form.one("admin").is_some(),
    };
    let hub = state.hub.clone();
    account_action(&state, member, form, ("neu".into(), "neu"), |admin| async move {
        hub.add_staff(&admin, new).await.map(|_| ())
    })
    .await
}

/// Disables or enables `user` (its sessions end when disabled).
async fn set_disabled(state: &DashState, member: Member, user: String, form: FormData, disabled: bool) -> Response {
    let hub = state.hub.clone();
    let done = if disabled { "deaktiviert" } else { "aktiviert" };
    account_action(state, member, form, (format!("konto-{user}"), done), |admin| async move {
        hub.set_staff_disabled(&admin, &user, disabled).await
    })
    .await
}

/// POST /mitarbeitende/{user}/deaktivieren
pub async fn disable_account(
    State(state): State<DashState>,
    member: Member,
    Path(user): Path<String>,
    form: FormData,
) -> Response {
    set_disabled(&state, member, user, form, true).await
}

/// POST /mitarbeitende/{user}/aktivieren
pub async fn enable_account(
    State(state): State<DashState>,
    member: Member,
    Path(user): Path<String>,
    form: FormData,
) -> Response {
    set_disabled(&state, member, user, form, false).await
}

/// POST /mitarbeitende/{user}/passwort : a new password, to hand over in person.
pub async fn reset_password(
    State(state): State<DashState>,
    member: Member,
    Path(user): Path<String>,
    form: FormData,
) -> Response {
    let hub = state.hub.clone();
    let password = form.one("passwort").unwrap_or_default();
    account_action(&state, member, form, (format!("konto-{user}"), "passwort"), |admin| async move {
        hub.set_staff_password(&admin, &user, &password).await
    })
    .await
}
