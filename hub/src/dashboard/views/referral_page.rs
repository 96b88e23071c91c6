//! The referral page: one referral as the Fachstelle follows it up. What was sent and on which legal
//! basis, how the partner is reached, what happened so far, the note thread, and the moves the
//! Fachstelle may make (a note; withdrawing the referral with a reason).

use std::fmt::Write as _;

use super::{Ctx, case_link, csrf_field, empty, esc, instant, labels, time_day, who};
use crate::dashboard::form::FormData;
use crate::domain::basis::LegalBasis;
use crate::domain::org::Delivery;
use crate::domain::referral::Move;
use crate::domain::vocab::ReasonCode;
use crate::service::dashboard::ReferralPageModel;

/// A form of the page sent back by a rule: which form, the message, and everything entered.
pub struct PageEcho {
    /// `notiz`, `frist` or `zurueckziehen`.
    pub form: &'static str,
    /// The message, German.
    pub message: String,
    /// The fields as sent.
    pub values: FormData,
}

impl PageEcho {
    fn value(echo: Option<&Self>, name: &str) -> String {
        echo.and_then(|e| e.values.one(name)).unwrap_or_default()
    }
}

/// The page title.
pub fn title(m: &ReferralPageModel) -> String {
    format!("Vermittlung an {}", m.partner.name)
}

/// The body of the referral page; `done` names a finished action (`?erledigt=…`).
pub fn render(m: &ReferralPageModel, ctx: &Ctx, echo: Option<&PageEcho>, done: Option<&str>) -> String {
    let r = &m.view.referral;
    let mut out = String::new();
    let _ = writeln!(out, "<h1>{}</h1>", esc(&title(m)));
    if let Some(text) = done.and_then(done_message) {
        let _ = writeln!(out, "<p class=\"erfolg\" role=\"status\" id=\"erledigt\">{text}</p>");
    }
    out.push_str("<section id=\"ueberblick\">\n<dl class=\"angaben\">\n");
    let mut row = |label: &str, value: String| {
        let _ = writeln!(out, "<dt>{label}</dt><dd>{value}</dd>");
    };
    row("Fall", case_link(&m.case));
    row("Anliegen", esc(labels::category(r.category)));
    row("Status", format!("<span id=\"status\">{}</span>", esc(labels::state(r.state))));
    row("Gesendet am", instant(r.created_at));
    let reply = if m.view.overdue {
        format!("{} <strong class=\"warnung\">überfällig</strong>", time_day(r.reply_by))
    } else {
        time_day(r.reply_by)
    };
    row("Antwort bis", reply);
    if let Some(c) = &r.completion {
        let mut s = esc(labels::result(c.result));
        if let Some(a) = c.amount {
            let _ = write!(s, ", {}", super::euros(a.get()));
        }
        row("Ergebnis", s);
    }
    out.push_str("</dl>\n</section>\n");

    partner(&mut out, m);
    let _ = writeln!(out, "<section id=\"nachricht\">\n<h2>Nachricht an den Partner</h2>");
    if r.message.trim().is_empty() {
        out.push_str(&empty("Ohne Nachricht gesendet."));
    } else {
        let _ = writeln!(out, "<p class=\"text\">{}</p>", esc(&r.message));
    }
    out.push_str("</section>\n");
    data_sent(&mut out, m);
    history(&mut out, m);
    notes(&mut out, m, ctx, echo.filter(|e| e.form == "notiz"));
    reply_by(&mut out, m, ctx, echo.filter(|e| e.form == "frist"));
    withdraw(&mut out, m, ctx, echo.filter(|e| e.form == "zurueckziehen"));
    out
}

fn done_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "notiz" => "Die Notiz ist gespeichert; der Partner sieht sie.",
        "frist" => "Die neue Antwortfrist ist gespeichert; der Partner erhält sie als Notiz.",
        "erinnern" => "Die Erinnerung ist gesendet; der Partner erhält sie als Notiz.",
        "zurueckziehen" => "Die Vermittlung ist zurückgezogen; der Partner wird benachrichtigt.",
        _ => return None,
    })
}

fn partner(out: &mut String, m: &ReferralPageModel) {
    let p = &m.partner;
    out.push_str("<section id=\"partner\">\n<h2>Partner</h2>\n<dl class=\"angaben\">\n");
    let _ = writeln!(out, "<dt>Name</dt><dd>{}</dd>", esc(&p.name));
    let _ = writeln!(out, "<dt>Art</dt><dd>{}</dd>", esc(labels::org_kind(p.kind)));
    let reach = match &p.delivery {
        Delivery::Email(a) => {
            format!("per E-Mail: <a href=\"mailto:{0}\">{0}</a>", esc(a.as_str()))
        }
        Delivery::Grpc => "über seine Fachsoftware (Schnittstelle)".to_owned(),
    };
    let _ = writeln!(out, "<dt>Erreichbar</dt><dd>{reach}</dd>");
    let hours = if p.office_hours.trim().is_empty() { "nicht hinterlegt".to_owned() } else { esc(&p.office_hours) };
    let _ = writeln!(out, "<dt>Sprechzeiten</dt><dd>{hours}</dd>");
    out.push_str("</dl>\n</section>\n");
}

fn data_sent(out: &mut String, m: &ReferralPageModel) {
    out.push_str("<section id=\"daten\">\n<h2>Weitergegebene Daten</h2>\n");
    out.push_str(
        "<table>\n<thead><tr><th>Daten</th><th>Rechtsgrundlage</th><th>Gilt noch</th></tr></thead>\n<tbody>\n",
    );
    for (i, d) in m.view.referral.disclosures.iter().enumerate() {
        let bases: Vec<String> = d
            .bases
            .iter()
            .map(|b| match b {
                LegalBasis::Consent(id) => match m.consents.iter().find(|c| &c.id == id) {
                    Some(c) => format!("Einwilligung vom {}", super::day(c.recorded_at.day())),
                    None => "Einwilligung".to_owned(),
                },
                LegalBasis::Statute(s) => s.citation().replace('§', "§ "),
            })
            .collect();
        let in_force = m.view.in_force.get(i).is_some_and(|v| v.iter().any(|b| *b));
        let _ = writeln!(
            out,
            "<tr class=\"daten\"><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(labels::data_category(d.category)),
            esc(&bases.join(" und ")),
            if in_force { "ja" } else { "<strong class=\"warnung\">nein</strong>" }
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn history(out: &mut String, m: &ReferralPageModel) {
    out.push_str("<section id=\"verlauf\">\n<h2>Verlauf</h2>\n<ol class=\"verlauf\">\n");
    for (t, by) in &m.history {
        let what = match t.mv {
            Some(mv) => labels::move_done(mv).to_owned(),
            None => format!("Vermittlung gesendet ({})", labels::state(t.to)),
        };
        let reason = t
            .reason
            .as_ref()
            .map(|r| {
                let code = r.code.map(labels::reason).unwrap_or_default();
                let text = [code, r.text.trim()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
                format!(": {}", esc(&text.join(" – ")))
            })
            .unwrap_or_default();
        let _ = writeln!(out, "<li class=\"ereignis\">{} – {}{reason} ({})</li>", instant(t.at), esc(&what), who(by));
    }
    out.push_str("</ol>\n</section>\n");
}

fn notes(out: &mut String, m: &ReferralPageModel, ctx: &Ctx, echo: Option<&PageEcho>) {
    out.push_str("<section id=\"notizen\">\n<h2>Notizen</h2>\n");
    if m.notes.is_empty() {
        out.push_str(&empty("Noch keine Notiz."));
    } else {
        out.push_str("<ul class=\"notizen\">\n");
        for (n, by) in &m.notes {
            let _ = writeln!(
                out,
                "<li class=\"notiz\"><p class=\"wer\">{} – {}</p><p class=\"text\">{}</p></li>",
                instant(n.created_at),
                who(by),
                esc(&n.text)
            );
        }
        out.push_str("</ul>\n");
    }
    let id = esc(m.view.referral.id.as_str());
    let _ = writeln!(
        out,
        "<form id=\"notiz\" class=\"aktion\" method=\"post\" action=\"/vermittlungen/{id}/notiz\">{}",
        csrf_field(ctx)
    );
    let (invalid, message) = field_error(echo, "notiz-fehler");
    let _ = writeln!(
        out,
        "<label for=\"notiz-text\">Notiz an den Partner (er sieht sie)</label>{message}\
         <textarea id=\"notiz-text\" name=\"text\" rows=\"3\" maxlength=\"4000\" required{invalid}>{}</textarea>\n\
         <button type=\"submit\">Notiz senden</button>\n</form>\n</section>",
        esc(&PageEcho::value(echo, "text"))
    );
}

/// A reminder of the reply-by date, and a new date for an open referral (the follow-up of an overdue
/// one), both told to the partner.
fn reply_by(out: &mut String, m: &ReferralPageModel, ctx: &Ctx, echo: Option<&PageEcho>) {
    if !m.view.referral.state.is_open() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"erinnern\">\n<h2>Erinnern</h2>\n\
         <form id=\"erinnern-form\" class=\"aktion\" method=\"post\" action=\"/vermittlungen/{}/erinnern\">{}\n\
         <p>Der Partner erhält eine Notiz mit der Bitte um Antwort bis {}.</p>\n\
         <button type=\"submit\">Erinnerung senden</button>\n</form>\n</section>",
        esc(m.view.referral.id.as_str()),
        csrf_field(ctx),
        time_day(m.view.referral.reply_by)
    );
    let id = esc(m.view.referral.id.as_str());
    let (invalid, message) = field_error(echo, "frist-fehler");
    let latest = ctx.today.plus_days(crate::domain::referral::MAX_REPLY_DAYS);
    let _ = writeln!(
        out,
        "<section id=\"frist\">\n<h2>Neue Antwortfrist</h2>\n\
         <form id=\"frist-form\" class=\"aktion\" method=\"post\" action=\"/vermittlungen/{id}/frist\">{}\n\
         <label for=\"frist-datum\">Antwort bis</label>{message}\
         <input type=\"date\" id=\"frist-datum\" name=\"datum\" min=\"{}\" max=\"{latest}\" required value=\"{}\"{invalid}>\n\
         <label for=\"frist-text\">Nachricht dazu (optional; der Partner liest sie)</label>\
         <textarea id=\"frist-text\" name=\"text\" rows=\"2\" maxlength=\"3000\">{}</textarea>\n\
         <button type=\"submit\">Neue Frist senden</button>\n</form>\n</section>",
        csrf_field(ctx),
        ctx.today,
        esc(&PageEcho::value(echo, "datum")),
        esc(&PageEcho::value(echo, "text"))
    );
}

fn withdraw(out: &mut String, m: &ReferralPageModel, ctx: &Ctx, echo: Option<&PageEcho>) {
    if !m.view.allowed_moves.contains(&Move::Cancel) {
        return;
    }
    let id = esc(m.view.referral.id.as_str());
    let (invalid, message) = field_error(echo, "zurueckziehen-fehler");
    let _ = writeln!(
        out,
        "<section id=\"zurueckziehen\">\n<h2>Vermittlung zurückziehen</h2>\n\
         <form id=\"zurueckziehen-form\" class=\"aktion\" method=\"post\" action=\"/vermittlungen/{id}/zurueckziehen\">{}\n\
         <label for=\"zurueckziehen-code\">Grund</label><select id=\"zurueckziehen-code\" name=\"code\" required>{}</select>\n\
         <label for=\"zurueckziehen-grund\">In Worten (der Partner liest es)</label>{message}\
         <textarea id=\"zurueckziehen-grund\" name=\"grund\" rows=\"2\" maxlength=\"1000\" required{invalid}>{}</textarea>\n\
         <p class=\"hinweis\">Der Partner wird benachrichtigt und gebeten, die erhaltenen Daten zu löschen, soweit \
         er sie nicht aus eigenem Recht braucht.</p>\n\
         <button type=\"submit\">Zurückziehen</button>\n</form>\n</section>",
        csrf_field(ctx),
        reason_options(ReasonCode::parse(&PageEcho::value(echo, "code"))),
        esc(&PageEcho::value(echo, "grund"))
    );
}

/// The reasons a sender may give (the hub's own ones, like a revoked consent, are not offered).
fn reason_options(chosen: Option<ReasonCode>) -> String {
    let offered: Vec<ReasonCode> = ReasonCode::ALL.iter().copied().filter(|c| !c.is_hub_only()).collect();
    let mut out = String::from("<option value=\"\">Bitte wählen</option>\n");
    super::options(&mut out, &offered, ReasonCode::as_str, labels::reason, chosen);
    out
}

/// The `aria-invalid` attributes and the message paragraph of a field sent back with `echo`.
fn field_error(echo: Option<&PageEcho>, id: &str) -> (String, String) {
    match echo {
        Some(e) => (
            format!(" aria-invalid=\"true\" aria-describedby=\"{id}\""),
            format!("<p class=\"fehler\" id=\"{id}\" role=\"alert\">{}</p>", esc(&e.message)),
        ),
        None => (String::new(), String::new()),
    }
}
