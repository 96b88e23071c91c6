//! The triage page of one new notice ("Meldung sichten"): what was reported, the deadlines it starts,
//! whether the tenant consented, the cases it may belong to, and the choice where it goes.

use std::fmt::Write as _;

use super::{Ctx, case_link, csrf_field, empty, esc, euros, instant, labels, time_day};
use crate::domain::matching::MatchReason;
use crate::domain::notice::NoticeData;
use crate::service::NoticeTriage;

/// What the page needs besides the triage model.
pub struct TriagePage<'a> {
    /// The triage model.
    pub triage: &'a NoticeTriage,
    /// The reporting housing company's or the landlord's name, when known.
    pub from: Option<String>,
    /// A refusal of the last take-up attempt, shown above the choice.
    pub error: Option<String>,
    /// The notice was just entered by hand (a court notice from the post).
    pub recorded: bool,
}

/// The page title.
pub fn title() -> &'static str {
    "Meldung sichten"
}

/// The body of the triage page.
pub fn render(p: &TriagePage<'_>, ctx: &Ctx) -> String {
    let t = p.triage;
    let n = &t.item.notice;
    let mut out = String::new();
    let _ = writeln!(out, "<h1>Meldung sichten</h1>");
    if p.recorded {
        out.push_str(
            "<p class=\"erfolg\" role=\"status\" id=\"erledigt\">Die Mitteilung ist gespeichert. Ihre Fristen \
             stehen unten; bitte ordnen Sie sie einem Fall zu.</p>\n",
        );
    }
    out.push_str("<section id=\"gemeldet\">\n<h2>Gemeldet</h2>\n<dl class=\"angaben\">\n");
    let mut row = |label: &str, value: String| {
        let _ = writeln!(out, "<dt>{label}</dt><dd>{value}</dd>");
    };
    row("Eingang", instant(n.received_at));
    match &n.data {
        NoticeData::Arrears(a) => {
            row("Von", p.from.as_deref().map_or_else(|| "–".to_owned(), esc));
            row(
                "Name",
                a.tenant.as_ref().filter(|_| a.consent_evidence.is_some()).map_or_else(
                    || "<em>nicht übermittelt (ohne Einwilligung)</em>".to_owned(),
                    |t| esc(&t.display_name()),
                ),
            );
            row("Stufe", esc(labels::stage(a.stage)));
            if let Some(d) = a.stage_date {
                row("Stufe erreicht am", time_day(d));
            }
            row("Mietvertragsnummer", esc(&a.tenancy_reference));
            row("Stadtbezirk", esc(labels::district(a.stadtbezirk)));
            row("Mietrückstand", euros(a.arrears_total.get()));
            row("Monatsmiete", euros(a.rent.total_cents()));
            if let Some(d) = a.termination_date {
                row("Kündigung zugegangen am", time_day(d));
            }
            if let Some(d) = a.claim_served {
                row("Räumungsklage zugestellt am", time_day(d));
            }
            if let Some(d) = a.eviction_date {
                row("Räumungstermin", time_day(d));
            }
        }
        NoticeData::Court(c) => {
            row("Von", "Amtsgericht (MiZi)".to_owned());
            let names: Vec<String> = c.tenants.iter().map(|t| esc(&t.display_name())).collect();
            row("Beklagte", names.join("<br>"));
            row("Aktenzeichen", esc(&c.court_file_number));
            row("Vermieter", esc(&c.landlord_name));
            row("Klage eingegangen am", time_day(c.claim_received));
            row("Klage zugestellt am", c.claim_served.map_or_else(|| "noch nicht bekannt".to_owned(), time_day));
            if let Some(h) = c.hearing {
                row("Verhandlungstermin", time_day(h));
            }
            row("Monatsmiete", euros(c.monthly_rent.get()));
            row("Eingeklagter Rückstand", euros(c.arrears_claimed.get()));
            row("Nutzungsentschädigung", euros(c.use_compensation.get()));
            if !c.tenancy_reference.is_empty() {
                row("Mietvertragsnummer", esc(&c.tenancy_reference));
            }
        }
    }
    out.push_str("</dl>\n</section>\n");

    consent(&mut out, &n.data);
    deadlines(&mut out, t);
    suggestions(&mut out, t);
    choice(&mut out, p, ctx);
    out
}

fn consent(out: &mut String, data: &NoticeData) {
    out.push_str("<section id=\"einwilligung\">\n<h2>Rechtsgrundlage</h2>\n");
    let text = match data {
        NoticeData::Arrears(a) => match &a.consent_evidence {
            Some(e) => format!(
                "Die Mieterin oder der Mieter hat in die Meldung eingewilligt (Nachweis des Vermieters: {}). \
                 Name und Kontaktdaten dürfen verwendet werden.",
                esc(e)
            ),
            None => "Ohne Einwilligung gemeldet: Die Meldung enthält keinen Namen und keine Kontaktdaten. \
                     Die Fachstelle kann den Haushalt über den Vermieter erreichen oder über eine Mitteilung \
                     des Gerichts."
                .to_owned(),
        },
        NoticeData::Court(_) => "Mitteilung des Amtsgerichts über eine Räumungsklage wegen Mietrückständen \
                                 (§ 22 Abs. 9 SGB II, § 36 Abs. 2 SGB XII): Namen und Anschrift dürfen für das \
                                 Hilfeangebot verwendet werden."
            .to_owned(),
    };
    let _ = writeln!(out, "<p>{text}</p>\n</section>");
}

fn deadlines(out: &mut String, t: &NoticeTriage) {
    out.push_str("<section id=\"fristen\">\n<h2>Fristen</h2>\n");
    if t.item.deadlines.is_empty() {
        out.push_str(&empty("Aus dieser Meldung ergeben sich noch keine Fristen."));
    } else {
        out.push_str("<table>\n<thead><tr><th>Datum</th><th>Frist</th><th>Hinweis</th></tr></thead>\n<tbody>\n");
        for d in &t.item.deadlines {
            let mut notes: Vec<String> = Vec::new();
            if d.provisional {
                notes.push("vorläufig (Datum nicht bestätigt)".into());
            }
            notes.extend(d.warnings.iter().map(|w| esc(&w.de())));
            let _ = writeln!(
                out,
                "<tr class=\"frist\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                time_day(d.date),
                esc(&labels::deadline_kind(&d.kind)),
                notes.join("<br>")
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn reason(r: MatchReason) -> &'static str {
    match r {
        MatchReason::SameTenancy => "gleicher Mietvertrag",
        MatchReason::SimilarName => "Name klingt gleich",
        MatchReason::SimilarNameSameAddress => "Nachname klingt gleich, gleiche Anschrift",
    }
}

fn suggestions(out: &mut String, t: &NoticeTriage) {
    out.push_str("<section id=\"vorschlaege\">\n<h2>Passende Fälle</h2>\n");
    if t.suggestions.is_empty() {
        out.push_str(&empty("Kein bestehender Fall passt zu dieser Meldung."));
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Fall</th><th>Eröffnet</th><th>Stand</th><th>Mietvertragsnummer</th>\
             <th>Warum vorgeschlagen</th></tr></thead>\n<tbody>\n",
        );
        for (s, c) in &t.suggestions {
            let state = match c.closed {
                Some(d) => format!("abgeschlossen am {} – erneut gemeldet", time_day(d)),
                None => "offen".to_owned(),
            };
            let both = s.reasons.contains(&MatchReason::SimilarName);
            let why: Vec<&str> = s
                .reasons
                .iter()
                .map(|r| match r {
                    // The name is already said to sound alike: only the address is new.
                    MatchReason::SimilarNameSameAddress if both => "gleiche Anschrift",
                    r => reason(*r),
                })
                .collect();
            let _ = writeln!(
                out,
                "<tr class=\"vorschlag\" data-case=\"{}\"><td>{}</td><td>{}</td><td>{state}</td><td>{}</td><td>{}</td></tr>",
                esc(s.case_id.as_str()),
                case_link(&c.label),
                time_day(c.opened),
                esc(&c.tenancy_reference),
                why.join(", ")
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn choice(out: &mut String, p: &TriagePage<'_>, ctx: &Ctx) {
    let t = p.triage;
    let open: Vec<_> = t.suggestions.iter().filter(|(_, c)| c.closed.is_none()).collect();
    let _ = writeln!(
        out,
        "<section id=\"entscheidung\">\n<h2>Wohin gehört die Meldung?</h2>\n\
         <form id=\"uebernehmen\" class=\"aktion\" method=\"post\" action=\"/meldungen/{}/uebernehmen\">{}",
        esc(t.item.notice.id.as_str()),
        csrf_field(ctx)
    );
    if let Some(e) = &p.error {
        let _ = writeln!(out, "<p class=\"fehler\" role=\"alert\" id=\"uebernehmen-fehler\">{}</p>", esc(e));
    }
    out.push_str("<fieldset><legend>Bitte wählen</legend>\n");
    for (i, (s, c)) in open.iter().enumerate() {
        let checked = if i == 0 { " checked" } else { "" };
        let name = c.label.name.as_deref().map_or_else(|| "Fall (Name nicht angezeigt)".to_owned(), esc);
        let _ = writeln!(
            out,
            "<label><input type=\"radio\" name=\"ziel\" value=\"fall:{}\"{checked}> Zum Fall {name} \
             (eröffnet am {}) hinzufügen</label>",
            esc(s.case_id.as_str()),
            time_day(c.opened)
        );
    }
    let checked = if open.is_empty() { " checked" } else { "" };
    let _ = writeln!(
        out,
        "<label><input type=\"radio\" name=\"ziel\" value=\"neu\"{checked}> Neuen Fall eröffnen</label>\n</fieldset>"
    );
    if !open.is_empty() {
        out.push_str(
            "<p class=\"hinweis\">Wer einen neuen Fall eröffnet, lehnt die Vorschläge ab; das wird protokolliert.</p>\n",
        );
    }
    out.push_str("<button type=\"submit\">Übernehmen</button>\n</form>\n</section>\n");
}
