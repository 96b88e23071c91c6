//! The page's HTML: plain strings, German text, minimal inline CSS readable on a phone. Every value that
//! comes from outside this file goes through [`escape`]; the Content-Security-Policy forbids scripts on
//! top of that.

use std::fmt::Write;

use super::{ActionDone, MoveInput, MoveOption, PageView, RequestView, SPECIAL_CATEGORIES_HEADING};

pub(super) use crate::render::escape;

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;line-height:1.5;color:#1a1a1a;\
background:#f6f6f4;margin:0;padding:0}\
main{max-width:44rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh;box-sizing:border-box}\
h1{font-size:1.4rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem;border-bottom:1px solid #ddd}\
h3{font-size:1rem;margin:0 0 .5rem}\
table{width:100%;border-collapse:collapse;margin:.25rem 0}\
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #eee;overflow-wrap:anywhere}\
th{width:38%;font-weight:600;color:#444}\
.text{white-space:pre-wrap;overflow-wrap:anywhere}\
.overdue{color:#b00020;font-weight:700}\
.notice{background:#fff4e5;border-left:4px solid #e8a33d;padding:.5rem .75rem;margin:1rem 0}\
.error{background:#fdecea;border-left:4px solid #b00020;padding:.5rem .75rem;margin:1rem 0}\
form{border:1px solid #ccc;border-radius:6px;padding:.75rem;margin:.75rem 0}\
label{display:block;margin:.5rem 0}\
input,select,textarea{display:block;width:100%;box-sizing:border-box;font:inherit;padding:.4rem;margin-top:.2rem}\
textarea{min-height:5rem}\
button{font:inherit;padding:.55rem 1.1rem;margin-top:.5rem;border:0;border-radius:4px;background:#0b5394;color:#fff}\
.receipt{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all;background:#f3f3f3;padding:.5rem}\
ul{padding-left:1.2rem}li{margin:.25rem 0}\
footer{margin-top:2rem;font-size:.85rem;color:#666}";

/// The frame around every page.
fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\">\
         <title>{title} – Wohnungserhalt Hub</title><style>{STYLE}</style></head>\
         <body><main>{body}<footer>Wohnungserhalt Hub Hannover. Diese Seite ist nur über Ihren persönlichen \
         Link erreichbar; bitte geben Sie ihn nicht weiter.</footer></main></body></html>\n",
        title = escape(title),
    )
}

/// Tokens for the forms of one page view, minted by the route (each form its own).
pub(super) struct FormTokens {
    /// The view token, sent back as `v` for the link back to the page.
    pub view: String,
    /// One Act token per move, in the order of `PageView::moves`.
    pub moves: Vec<String>,
    /// The Act token of the note form, if notes are allowed.
    pub note: Option<String>,
}

/// The referral page. `action` is the (relative) URL the forms post to.
pub(super) fn page(v: &PageView, action: &str, tokens: &FormTokens) -> String {
    let mut b = String::new();
    let _ = write!(b, "<h1>Vermittlung {}</h1>", escape(&v.reference));
    if !v.recipient_org.is_empty() {
        let _ = write!(b, "<p>für {}</p>", escape(&v.recipient_org));
    }

    b.push_str("<table>");
    row(&mut b, "Referenz", &escape(&v.reference));
    row(&mut b, "Kategorie", &escape(&v.category));
    row(&mut b, "Von", &escape(&v.sender_org));
    row(&mut b, "Status", &escape(&v.state));
    let reply_by = match (v.reply_by.is_empty(), v.overdue) {
        (true, _) => "–".to_string(),
        (false, false) => escape(&v.reply_by),
        (false, true) => format!("{} <span class=\"overdue\">(überfällig)</span>", escape(&v.reply_by)),
    };
    row(&mut b, "Antwort bis", &reply_by);
    b.push_str("</table>");

    if !v.message.is_empty() {
        let _ = write!(b, "<h2>Nachricht</h2><p class=\"text\">{}</p>", escape(&v.message));
    }

    for section in &v.sections {
        let _ = write!(b, "<h2>{}</h2><table>", escape(&section.heading));
        for (label, value) in &section.rows {
            let _ = write!(b, "<tr><th>{}</th><td class=\"text\">{}</td></tr>", escape(label), escape(value));
        }
        b.push_str("</table>");
    }

    special_categories(&mut b, v);

    if !v.withheld.is_empty() {
        let names: Vec<String> = v.withheld.iter().map(|w| escape(w)).collect();
        let _ = write!(
            b,
            "<p class=\"notice\">Nicht mehr angezeigt (Einwilligung widerrufen oder abgelaufen): {}</p>",
            names.join(", ")
        );
    }

    b.push_str("<h2>Verlauf</h2>");
    if v.history.is_empty() {
        b.push_str("<p>Noch keine Einträge.</p>");
    } else {
        b.push_str("<ul>");
        for h in &v.history {
            let _ = write!(b, "<li>{} – {}</li>", escape(&h.at), escape(&h.text));
        }
        b.push_str("</ul>");
    }

    b.push_str("<h2>Notizen</h2>");
    if v.notes.is_empty() {
        b.push_str("<p>Noch keine Notizen.</p>");
    } else {
        for n in &v.notes {
            let _ = write!(
                b,
                "<p><strong>{}</strong>, {}</p><p class=\"text\">{}</p>",
                escape(&n.author),
                escape(&n.at),
                escape(&n.text)
            );
        }
    }

    b.push_str("<h2>Aktionen</h2>");
    let mut any = false;
    for (option, token) in v.moves.iter().zip(&tokens.moves) {
        any = true;
        move_form(&mut b, option, action, token, &tokens.view);
    }
    if let Some(token) = &tokens.note {
        any = true;
        form_open(&mut b, action, token, &tokens.view);
        b.push_str(
            "<h3>Notiz hinzufügen</h3><label>Notiz<textarea name=\"text\" required maxlength=\"4000\">\
             </textarea></label><button type=\"submit\">Notiz speichern</button></form>",
        );
    }
    if !any {
        b.push_str("<p>Für diese Vermittlung sind derzeit keine Aktionen möglich.</p>");
    }

    layout(&format!("Vermittlung {}", v.reference), &b)
}

/// The special categories of personal data (Art. 9 GDPR) in a part of their own, never mixed with the
/// other sections: per category whether the explicit consent is there, then the data shown, if any.
fn special_categories(b: &mut String, v: &PageView) {
    if v.special_categories.is_empty() {
        return;
    }
    let _ = write!(b, "<h2 id=\"art9\">{}</h2><table>", escape(SPECIAL_CATEGORIES_HEADING));
    for c in &v.special_categories {
        let consent = if c.explicit_consent { "Ausdrückliche Einwilligung liegt vor" } else { "Nicht angezeigt" };
        let _ = write!(
            b,
            "<tr><th>{}</th><td><strong>{consent}.</strong> {}</td></tr>",
            escape(&c.name),
            escape(&c.status)
        );
        for (label, value) in &c.rows {
            let _ = write!(b, "<tr><th>{}</th><td class=\"text\">{}</td></tr>", escape(label), escape(value));
        }
    }
    b.push_str("</table>");
}

fn row(b: &mut String, label: &str, html_value: &str) {
    let _ = write!(b, "<tr><th>{label}</th><td>{html_value}</td></tr>");
}

fn form_open(b: &mut String, action: &str, token: &str, view_token: &str) {
    let _ = write!(
        b,
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
         <input type=\"hidden\" name=\"v\" value=\"{}\">",
        escape(action),
        escape(token),
        escape(view_token)
    );
}

fn move_form(b: &mut String, option: &MoveOption, action: &str, token: &str, view_token: &str) {
    form_open(b, action, token, view_token);
    let label = escape(&option.label);
    let _ = write!(b, "<h3>{label}</h3>");
    match &option.input {
        MoveInput::Plain => {}
        MoveInput::Reason { codes } => {
            select(b, "Grund", "reason_code", codes);
            b.push_str(
                "<label>Erläuterung (optional)<textarea name=\"reason_text\" maxlength=\"2000\"></textarea></label>",
            );
        }
        MoveInput::Outcome { results } => {
            select(b, "Ergebnis", "result", results);
            b.push_str(
                "<label>Betrag in Euro (falls zutreffend)<input type=\"text\" name=\"amount\" inputmode=\"decimal\" \
                 maxlength=\"32\"></label>\
                 <label>Wirksam ab<input type=\"date\" name=\"effective_date\"></label>\
                 <label>Zusammenfassung<textarea name=\"summary\" maxlength=\"4000\"></textarea></label>",
            );
        }
    }
    let _ = write!(b, "<button type=\"submit\">{label}</button></form>");
}

fn select(b: &mut String, label: &str, name: &str, options: &[(String, String)]) {
    let _ = write!(b, "<label>{label}<select name=\"{name}\" required><option value=\"\">Bitte wählen</option>");
    for (code, text) in options {
        let _ = write!(b, "<option value=\"{}\">{}</option>", escape(code), escape(text));
    }
    b.push_str("</select></label>");
}

/// A request to erase, restrict or rectify data, with the form that confirms it (while open).
pub(super) fn request(v: &RequestView, action: &str, token: &str) -> String {
    let mut b = String::new();
    let _ = write!(b, "<h1>{}</h1><table>", escape(&v.heading));
    for (label, value) in &v.rows {
        row(&mut b, &escape(label), &escape(value));
    }
    b.push_str("</table>");
    match &v.confirmed {
        Some(when) => {
            let _ = write!(b, "<p class=\"notice\">Bereits bestätigt {}.</p>", escape(when));
        }
        None => {
            let _ = write!(
                b,
                "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
                 <p>Bitte bestätigen Sie erst, wenn Sie es in Ihren Unterlagen erledigt haben. Sie erhalten eine \
                 Quittung.</p><button type=\"submit\">{}</button></form>",
                escape(action),
                escape(token),
                escape(&v.button)
            );
        }
    }
    layout(&v.heading, &b)
}

/// The page after an action: its receipt, or for a replayed token the original receipt under a notice that
/// nothing was done again. `back` is the (relative) link back to the referral page, if still valid.
pub(super) fn receipt(done: &ActionDone, back: Option<&str>) -> String {
    let mut b = String::new();
    let title = if done.replayed {
        b.push_str(
            "<h1>Diese Aktion wurde bereits ausgeführt</h1><p class=\"notice\">Das Formular wurde schon einmal \
             abgeschickt. Es wurde nichts erneut geändert; unten steht die Quittung der ersten Ausführung.</p>",
        );
        "Bereits ausgeführt"
    } else {
        b.push_str("<h1>Quittung</h1>");
        "Quittung"
    };
    let _ = write!(b, "<p><strong>{}</strong></p>", escape(&done.done));
    if done.replayed {
        b.push_str("<h2>Quittung</h2>");
    }
    let _ = write!(
        b,
        "<p>Bitte bewahren Sie diese Quittung als Nachweis auf:</p><p class=\"receipt\">{}</p>",
        escape(&done.receipt)
    );
    back_link(&mut b, back);
    layout(title, &b)
}

/// An error page: a title, one explaining sentence (both German), and optionally the link back.
pub(super) fn error(title: &str, message: &str, back: Option<&str>) -> String {
    let mut b = String::new();
    let _ = write!(b, "<h1>{}</h1><p class=\"error\">{}</p>", escape(title), escape(message));
    back_link(&mut b, back);
    layout(title, &b)
}

fn back_link(b: &mut String, back: Option<&str>) {
    if let Some(href) = back {
        let _ = write!(b, "<p><a href=\"{}\">Zurück zur Vermittlung</a></p>", escape(href));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{HistoryLine, NoteLine, Section, SpecialCategory};
    use super::*;

    #[test]
    fn escape_covers_the_special_characters() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("Grüße, Straße 5"), "Grüße, Straße 5");
        assert_eq!(escape(""), "");
    }

    fn view() -> PageView {
        PageView {
            reference: "V-1<b>".into(),
            category: "Schuldnerberatung".into(),
            sender_org: "Jobcenter & Co".into(),
            recipient_org: "Beratung \"Nord\"".into(),
            state: "offen".into(),
            reply_by: "23.01.2026".into(),
            overdue: true,
            message: "Bitte <script>alert(1)</script> melden".into(),
            sections: vec![Section { heading: "Haushalt".into(), rows: vec![("Personen".into(), "3 > 2".into())] }],
            withheld: vec!["Beratungsnotizen".into(), "Einkommen".into()],
            special_categories: vec![SpecialCategory {
                name: "Gesundheitsdaten".into(),
                explicit_consent: true,
                status: "Übermittelt mit ausdrücklicher Einwilligung <E-1>.".into(),
                rows: vec![("Notiz".into(), "Kur <beantragt>".into())],
            }],
            notes: vec![NoteLine { author: "A'B".into(), at: "01.01.2026".into(), text: "x".into() }],
            history: vec![HistoryLine { at: "02.01.2026".into(), text: "angelegt".into() }],
            moves: vec![
                MoveOption { code: "ACCEPT".into(), label: "Annehmen".into(), input: MoveInput::Plain },
                MoveOption {
                    code: "DECLINE".into(),
                    label: "Ablehnen".into(),
                    input: MoveInput::Reason { codes: vec![("FULL".into(), "Keine Kapazität".into())] },
                },
                MoveOption {
                    code: "CLOSE".into(),
                    label: "Abschließen".into(),
                    input: MoveInput::Outcome { results: vec![("SECURED".into(), "Wohnung gesichert".into())] },
                },
            ],
            can_note: true,
        }
    }

    #[test]
    fn page_escapes_and_shows_everything() {
        let tokens = FormTokens {
            view: "L1.view".into(),
            moves: vec!["L1.a".into(), "L1.b".into(), "L1.c".into()],
            note: Some("L1.n".into()),
        };
        let html = page(&view(), "./ref-1", &tokens);
        assert!(html.contains("Vermittlung V-1&lt;b&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Jobcenter &amp; Co"));
        assert!(html.contains("Beratung &quot;Nord&quot;"));
        assert!(html.contains("23.01.2026 <span class=\"overdue\">(überfällig)</span>"));
        assert!(html.contains("3 &gt; 2"));
        assert!(
            html.contains(
                "Nicht mehr angezeigt (Einwilligung widerrufen oder abgelaufen): Beratungsnotizen, Einkommen"
            )
        );
        assert!(html.contains("A&#39;B"));
        assert!(html.contains("angelegt"));
        assert_eq!(html.matches("<form ").count(), 4);
        assert_eq!(html.matches("name=\"v\" value=\"L1.view\"").count(), 4);
        for t in ["L1.a", "L1.b", "L1.c", "L1.n"] {
            assert!(html.contains(&format!("name=\"t\" value=\"{t}\"")));
        }
        assert!(html.contains("name=\"reason_code\""));
        assert!(html.contains("<option value=\"SECURED\">Wohnung gesichert</option>"));
        assert!(html.contains("name=\"effective_date\""));
        assert!(html.contains("name=\"text\""));
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"de\">"));
    }

    #[test]
    fn page_without_actions_says_so() {
        let mut v = view();
        v.moves.clear();
        v.can_note = false;
        v.overdue = false;
        v.withheld.clear();
        let html = page(&v, "./r", &FormTokens { view: "L1.v".into(), moves: vec![], note: None });
        assert!(html.contains("keine Aktionen möglich"));
        assert!(!html.contains("<form"));
        assert!(!html.contains("überfällig"));
        assert!(!html.contains("Nicht mehr angezeigt"));
    }

    #[test]
    fn special_categories_have_their_own_part_after_the_other_data() {
        let tokens = FormTokens { view: "L1.v".into(), moves: vec![], note: None };
        let html = page(&view(), "./r", &tokens);
        let heading = format!("<h2 id=\"art9\">{}</h2>", escape(SPECIAL_CATEGORIES_HEADING));
        let at = html.find(&heading).expect("the Art. 9 part has its own heading");
        assert!(html.find("<h2>Haushalt</h2>").is_some_and(|h| h < at), "other data comes first");
        let part = &html[at..html[at..].find("</table>").map_or(html.len(), |e| at + e)];
        assert!(part.contains("<th>Gesundheitsdaten</th><td><strong>Ausdrückliche Einwilligung liegt vor.</strong>"));
        assert!(part.contains("Übermittelt mit ausdrücklicher Einwilligung &lt;E-1&gt;."), "{part}");
        assert!(part.contains("Kur &lt;beantragt&gt;"), "{part}");
        assert!(!part.contains("Personen"), "no other data in the Art. 9 part: {part}");

        let mut without = view();
        without.special_categories[0] = SpecialCategory {
            name: "Gesundheitsdaten".into(),
            explicit_consent: false,
            status: "Nicht Teil dieser Vermittlung.".into(),
            rows: vec![],
        };
        let html = page(&without, "./r", &tokens);
        assert!(html.contains(&heading));
        assert!(html.contains("<strong>Nicht angezeigt.</strong> Nicht Teil"));
        assert!(!html.contains("Kur"));
        without.special_categories.clear();
        assert!(!page(&without, "./r", &tokens).contains("Art. 9 DSGVO"));
    }

    #[test]
    fn receipt_and_error_pages() {
        let done =
            ActionDone { receipt: "Q1.abc.def".into(), done: "Vermittlung <angenommen>".into(), replayed: false };
        let html = receipt(&done, Some("./r?t=L1.x"));
        assert!(html.contains("<h1>Quittung</h1>"));
        assert!(html.contains("Q1.abc.def"));
        assert!(html.contains("Vermittlung &lt;angenommen&gt;"));
        assert!(html.contains("href=\"./r?t=L1.x\""));
        let replayed = receipt(&ActionDone { replayed: true, ..done }, None);
        assert!(replayed.contains("Diese Aktion wurde bereits ausgeführt"));
        assert!(replayed.contains("Q1.abc.def"));
        assert!(!replayed.contains("Zurück zur Vermittlung"));
        let err = error("Ungültig", "Feld <x>", None);
        assert!(err.contains("Feld &lt;x&gt;"));
    }
}
