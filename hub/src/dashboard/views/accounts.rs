//! "Mitarbeitende": the staff accounts of the administrator's organisation, a form for a new one,
//! and per account disabling, enabling and a new password. Passwords are never shown or sent back.

use super::{Ctx, count, instant, render_template};
use crate::dashboard::form::FormData;
use crate::domain::staff::{StaffAccount, Username};
use crate::domain::time::Instant;
use crate::service::staff::MIN_PASSWORD_CHARS;

/// A form of the page sent back by a rule.
pub struct AccountEcho {
    /// `neu`, or `konto-USERNAME` for one account's forms.
    pub form: String,
    /// The page's field name at fault (`benutzer`, `name`, `passwort`), empty for the form as a whole.
    pub field: &'static str,
    /// The message, German.
    pub message: String,
    /// The fields as sent.
    pub values: FormData,
}

/// One account in words.
struct Row {
    username: String,
    name: String,
    role: &'static str,
    status: String,
    disabled: bool,
    own: bool,
}

/// The page as its template (`templates/dashboard/accounts.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/accounts.html")]
struct Page<'a> {
    org_name: &'a str,
    csrf: &'a str,
    rows: Vec<Row>,
    count: String,
    done: Option<&'static str>,
    echo: Option<&'a AccountEcho>,
    min_password: usize,
}

impl Page<'_> {
    /// The message of `form` at `field` ("" for the form as a whole), if a rule refused it.
    fn error(&self, form: &str, field: &str) -> Option<&str> {
        self.echo.filter(|e| e.form == form && e.field == field).map(|e| e.message.as_str())
    }

    /// What was entered in `field` of the new-account form (never the password).
    fn value(&self, field: &str) -> String {
        self.echo
            .filter(|e| e.form == "neu" && field != "passwort")
            .and_then(|e| e.values.one(field))
            .unwrap_or_default()
    }

    /// Whether the new-account form came back with "Administration" ticked.
    fn admin_ticked(&self) -> bool {
        self.echo.is_some_and(|e| e.form == "neu" && e.values.one("admin").is_some())
    }
}

/// The body of the page.
pub fn render(
    accounts: &[StaffAccount],
    org_name: &str,
    me: &Username,
    ctx: &Ctx,
    now: Instant,
    echo: Option<&AccountEcho>,
    done: Option<&str>,
) -> String {
    let mut rows: Vec<Row> = accounts
        .iter()
        .map(|a| Row {
            username: a.username.to_string(),
            name: a.display_name.as_str().to_owned(),
            role: if a.admin { "Administration" } else { "Mitarbeit" },
            status: match a.locked_until {
                _ if a.disabled => "deaktiviert".to_owned(),
                Some(until) if a.locked_at(now) => format!("gesperrt bis {} Uhr (Fehlversuche)", instant(until)),
                _ => "aktiv".to_owned(),
            },
            disabled: a.disabled,
            own: a.username == *me,
        })
        .collect();
    rows.sort_by(|a, b| a.disabled.cmp(&b.disabled).then(a.name.cmp(&b.name)));
    render_template(&Page {
        org_name,
        csrf: &ctx.csrf,
        count: count(rows.len(), "Konto", "Konten"),
        rows,
        done: done.and_then(|d| match d {
            "neu" => Some("Das Konto ist angelegt. Geben Sie das Passwort persönlich weiter."),
            "deaktiviert" => Some("Das Konto ist deaktiviert; seine Anmeldungen sind beendet."),
            "aktiviert" => Some("Das Konto ist wieder aktiv."),
            "passwort" => Some("Das neue Passwort gilt ab sofort; bisherige Anmeldungen sind beendet."),
            _ => None,
        }),
        echo,
        min_password: MIN_PASSWORD_CHARS,
    })
}
