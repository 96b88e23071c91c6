//! The form for a court notice (MiZi) that arrived by post or fax: the Amtsgericht's notice of an
//! eviction lawsuit for rent arrears. Saved, it becomes a notice like any other: its deadlines
//! (Schonfrist, defence notice) appear on its triage page at once, or it goes straight into the open
//! case of the same tenancy.

use std::fmt::Write as _;

use super::{Ctx, csrf_field, esc, labels};
use crate::dashboard::form::FormData;
use crate::domain::org::Organisation;
use crate::domain::vocab::Stadtbezirk;

/// A form sent back by a rule: the input kept and the message at its field.
pub struct CourtEcho {
    /// The values as sent.
    pub values: FormData,
    /// The field the message belongs to (a form field name), if any.
    pub field: Option<&'static str>,
    /// The message, German.
    pub message: String,
}

/// The page title.
pub const TITLE: &str = "Mitteilung des Gerichts erfassen";

/// The body of the form page. `landlords` are the housing companies of the directory.
pub fn render(landlords: &[Organisation], ctx: &Ctx, echo: Option<&CourtEcho>) -> String {
    let value = |name: &str| echo.and_then(|e| e.values.one(name)).unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(out, "<h1>{TITLE}</h1>");
    out.push_str(
        "<p class=\"hinweis\">Für die Mitteilung des Amtsgerichts über eine Räumungsklage wegen Mietrückständen \
         (§ 22 Abs. 9 SGB II, § 36 Abs. 2 SGB XII), die per Post oder Fax kommt. Pflichtangaben sind mit * \
         markiert.</p>\n",
    );
    if let Some(e) = echo {
        let _ = writeln!(
            out,
            "<div class=\"fehlerliste\" role=\"alert\"><p>Die Mitteilung wurde nicht gespeichert.</p>\
             <p>{}</p></div>",
            esc(&e.message)
        );
    }
    let _ = writeln!(
        out,
        "<form id=\"gericht\" class=\"aktion\" method=\"post\" action=\"/gericht/neu\">{}",
        csrf_field(ctx)
    );
    let field = |out: &mut String, name: &'static str, label: &str, kind: &str, required: bool| {
        let invalid = echo.is_some_and(|e| e.field == Some(name));
        let star = if required { " *" } else { "" };
        let req = if required { " required" } else { "" };
        let aria =
            if invalid { format!(" aria-invalid=\"true\" aria-describedby=\"{name}-fehler\"") } else { String::new() };
        let _ = writeln!(
            out,
            "<label for=\"gericht-{name}\">{label}{star}</label>\
             <input id=\"gericht-{name}\" name=\"{name}\" type=\"{kind}\" value=\"{}\"{req}{aria}>",
            esc(&value(name))
        );
        if invalid && let Some(e) = echo {
            let _ = writeln!(out, "<p class=\"fehler\" id=\"{name}-fehler\">{}</p>", esc(&e.message));
        }
    };
    out.push_str("<fieldset><legend>Verfahren</legend>\n");
    field(&mut out, "aktenzeichen", "Aktenzeichen", "text", true);
    field(&mut out, "eingang", "Klage bei Gericht eingegangen am", "date", true);
    field(&mut out, "zustellung", "Klage zugestellt am (wenn bekannt)", "date", false);
    field(&mut out, "verhandlung", "Verhandlungstermin (wenn bekannt)", "date", false);
    out.push_str("</fieldset>\n<fieldset><legend>Beklagte Person</legend>\n");
    field(&mut out, "nachname", "Familienname", "text", true);
    field(&mut out, "vorname", "Vorname", "text", false);
    field(&mut out, "strasse", "Straße", "text", false);
    field(&mut out, "hausnummer", "Hausnummer", "text", false);
    field(&mut out, "plz", "Postleitzahl", "text", false);
    field(&mut out, "ort", "Ort", "text", false);
    out.push_str("</fieldset>\n<fieldset><legend>Weitere beklagte Person (wenn genannt, gleiche Anschrift)</legend>\n");
    field(&mut out, "nachname2", "Familienname", "text", false);
    field(&mut out, "vorname2", "Vorname", "text", false);
    out.push_str("</fieldset>\n<fieldset><legend>Mietverhältnis und Forderung</legend>\n");
    field(&mut out, "vermieter", "Vermieter (wie in der Klage genannt)", "text", false);
    let chosen = value("vermieter_org");
    let _ = writeln!(
        out,
        "<label for=\"gericht-vermieter_org\">Vermieter im Hub (wenn er teilnimmt)</label>\
         <select id=\"gericht-vermieter_org\" name=\"vermieter_org\"><option value=\"\">– nicht im Hub –</option>"
    );
    for l in landlords {
        let sel = if chosen == l.id.as_str() { " selected" } else { "" };
        let _ = writeln!(out, "<option value=\"{}\"{sel}>{}</option>", esc(l.id.as_str()), esc(&l.name));
    }
    out.push_str("</select>\n");
    field(&mut out, "mietvertrag", "Mietvertragsnummer (wenn bekannt)", "text", false);
    let chosen = value("bezirk");
    out.push_str(
        "<label for=\"gericht-bezirk\">Stadtbezirk</label><select id=\"gericht-bezirk\" name=\"bezirk\">\
         <option value=\"\">– unbekannt –</option>\n",
    );
    super::options(&mut out, Stadtbezirk::ALL, Stadtbezirk::as_str, labels::district, Stadtbezirk::parse(&chosen));
    out.push_str("</select>\n");
    field(&mut out, "miete", "Monatsmiete in € (z. B. 780,00)", "text", false);
    field(&mut out, "rueckstand", "Eingeklagter Mietrückstand in €", "text", false);
    field(&mut out, "nutzung", "Nutzungsentschädigung in €", "text", false);
    out.push_str("</fieldset>\n<button type=\"submit\">Mitteilung speichern</button>\n</form>\n");
    out
}
