//! The access report as documents: JSON for programs and the German HTML document the person
//! receives, in which every value is escaped and every vocabulary comes from the label catalogue.

use std::fmt::Write as _;

use super::{AccessReport, BasisItem, Format, OrgRef, ReportError};
use crate::domain::audit::AuditAction;
use crate::domain::data_request::{DataRequestAsk, DataRequestCause};
use crate::domain::vocab::DataCategory;
use crate::labels;
use crate::reports::html::escape;

impl AccessReport {
    /// The report in `format`, one of [`FORMATS`](super::FORMATS).
    pub fn render(&self, format: Format) -> Result<String, ReportError> {
        match format {
            Format::Html => Ok(self.to_html()),
            Format::Json => Ok(self.to_json()),
            Format::Csv => Err(super::refused(format)),
        }
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }

    /// The report as a German HTML document; every value is escaped.
    pub fn to_html(&self) -> String {
        let mut h = Html::default();
        let s = &self.subject;
        let name = format!("{} {}", s.given_name, s.family_name);
        h.raw("<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.raw("<title>Auskunft nach Art. 15 DSGVO</title>\n<style>");
        h.raw("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}");
        h.raw("table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #999;padding:.2em .5em;");
        h.raw("text-align:left;vertical-align:top}th{background:#eee}.note{white-space:pre-wrap}");
        h.raw("</style>\n</head>\n<body>\n");
        h.raw("<h1>Auskunft nach Art. 15 DSGVO</h1>\n<p>Über: <strong>");
        h.text(&name);
        h.raw("</strong><br>Fall: ");
        h.text(&self.case_id);
        h.raw("<br>Erstellt am: ");
        h.text(&labels::instant(self.generated_at));
        h.raw("</p>\n");

        // 1. Controller, purposes, legal bases.
        h.raw("<h2>1. Verantwortliche Stelle, Zweck und Rechtsgrundlagen</h2>\n<p>Verantwortlich ist ");
        h.text(&self.controller.name);
        h.raw(" (Kennung ");
        h.text(&self.controller.id);
        h.raw("). ");
        h.raw(
            "Zweck der Verarbeitung ist die Wohnungssicherung: der Erhalt Ihrer Wohnung durch die Vermittlung \
             von Hilfen (zum Beispiel Mietschuldenübernahme, Schuldnerberatung, Vereinbarung mit dem \
             Vermieter).</p>\n<ul>\n\
             <li>Ihre Daten sind Sozialdaten und unterliegen dem Sozialgeheimnis (§ 35 SGB I). Ihre Verarbeitung \
             und Übermittlung richtet sich nach §§ 67–85a SGB X.</li>\n\
             <li>Zwischen Sozialleistungsträgern (Fachstelle, Jobcenter, Sozialamt) dürfen Daten zur Erfüllung \
             ihrer gesetzlichen Aufgaben übermittelt werden (§ 69 Abs. 1 Nr. 1 SGB X).</li>\n\
             <li>An private Stellen (Vermieter, Schuldnerberatung, soziale Träger) werden Daten nur mit Ihrer \
             Einwilligung übermittelt (Art. 6 Abs. 1 lit. a DSGVO, § 67b SGB X).</li>\n\
             <li>Gesundheitsdaten werden nur mit Ihrer gesonderten, ausdrücklichen Einwilligung übermittelt \
             (Art. 9 Abs. 2 lit. a DSGVO).</li>\n</ul>\n",
        );

        // 2. Stored data.
        h.raw("<h2>2. Gespeicherte Daten</h2>\n<h3>Angaben zu Ihrer Person</h3>\n<table>\n");
        h.row("Name", &name);
        h.row("Geburtsjahr", &s.birth_year.map(|y| y.to_string()).unwrap_or_else(|| "nicht bekannt".into()));
        h.row("Rolle im Haushalt", labels::role(s.role));
        h.row("Geschlecht", labels::gender(s.gender));
        h.raw("</table>\n<h3>Haushalt und Wohnung</h3>\n<table>\n");
        let hh = &self.household;
        h.row("Anschrift", &format!("{}, {}", hh.address_street, hh.address_city));
        if hh.schutzsperre {
            h.row("Schutzsperre", "ja: die Anschrift wird an keine andere Stelle übermittelt");
        }
        if let Some(p) = &hh.phone {
            h.row("Telefon", p);
        }
        if let Some(e) = &hh.email {
            h.row("E-Mail", e);
        }
        h.row("Stadtbezirk", labels::district(hh.stadtbezirk));
        h.row("Haushalt", labels::household(hh.household_type));
        h.row("Herkunft der Daten (Zugangsweg)", labels::route_in(hh.route_in));
        h.row("Fall eröffnet am", &labels::instant(hh.case_opened_at));
        if let Some(r) = &hh.restriction {
            h.row(
                "Verarbeitung eingeschränkt (Art. 18 DSGVO)",
                &format!("seit {}: {}", labels::instant(r.since), r.reason),
            );
        }
        match &hh.closure {
            Some(c) => {
                let mut outcome = labels::outcome(c.outcome).to_owned();
                if let Some(m) = c.rescue_means {
                    outcome.push_str(&format!(" ({})", labels::rescue_means(m)));
                }
                h.row("Fall abgeschlossen am", &labels::instant(c.at));
                h.row("Ergebnis", &outcome);
                if !c.note.is_empty() {
                    h.row("Vermerk zum Abschluss", &c.note);
                }
            }
            None => h.row("Stand", "Fall in Bearbeitung"),
        }
        h.raw("</table>\n<h3>Mietverhältnis</h3>\n<table>\n");
        h.row("Vermieter", hh.landlord.as_ref().map_or("nicht im Verbund", |l| l.name.as_str()));
        h.row("Vertragsnummer des Vermieters", &hh.tenancy_reference);
        h.row("Mietbeginn", &hh.tenancy_start.map(labels::day).unwrap_or_else(|| "nicht bekannt".into()));
        h.row("Grundmiete", &hh.base_rent_cents.to_string());
        h.row("Nebenkostenvorauszahlung", &hh.service_charge_advance_cents.to_string());
        h.row("Heizkostenvorauszahlung", &hh.heating_advance_cents.to_string());
        h.row("Mietrückstand", &hh.arrears_cents.to_string());
        h.raw("</table>\n");
        if !hh.stages.is_empty() {
            h.raw("<h4>Stand der Gefährdung</h4>\n");
            h.head(&["Datum", "Stufe", "Bis", "Quelle", "Erfasst von"]);
            for st in &hh.stages {
                h.cells(&[
                    &labels::day(st.date),
                    labels::stage(st.stage),
                    &st.end_date.map(labels::day).unwrap_or_default(),
                    &st.source,
                    &st.recorded_by.name,
                ]);
            }
            h.raw("</table>\n");
        }
        h.raw("<h3>Vermerke zum Haushalt</h3>\n<table>\n");
        h.note_row("Einkommen und Sozialleistungen", &hh.income_benefits_note);
        h.note_row("Beratungsnotizen", &hh.counselling_note);
        h.raw("</table>\n");
        h.raw("<h3 id=\"art9-daten\">");
        h.text(labels::SPECIAL_CATEGORIES);
        h.raw("</h3>\n<p>");
        h.text(&categories_de(&self.special_categories));
        h.raw(
            " gehören zu den besonderen Kategorien personenbezogener Daten (Art. 9 DSGVO). Sie werden nur mit \
             Ihrer gesonderten, ausdrücklichen Einwilligung übermittelt (Art. 9 Abs. 2 lit. a DSGVO).</p>\n<table>\n",
        );
        h.note_row(labels::data_category(DataCategory::Health), &hh.health_note);
        let explicit: Vec<&str> = self
            .consents
            .iter()
            .filter(|c| c.art9_explicit && !c.special_categories.is_empty())
            .map(|c| c.consent_id.as_str())
            .collect();
        h.row(
            "Ausdrückliche Einwilligung",
            &if explicit.is_empty() {
                "nicht erteilt: diese Daten werden an keine andere Stelle übermittelt".to_owned()
            } else {
                format!("erteilt (Einwilligung {})", explicit.join(", "))
            },
        );
        h.raw("</table>\n");

        h.raw("<h3>Ihre Einwilligungen</h3>\n");
        if self.consents.is_empty() {
            h.raw("<p>Keine.</p>\n");
        }
        for c in &self.consents {
            h.raw("<table>\n");
            h.row("Einwilligung", &c.consent_id);
            h.row("Empfänger", &names(&c.recipients));
            h.row("Datenkategorien", &or_keine(categories_de(&c.categories)));
            h.row(labels::SPECIAL_CATEGORIES, &special_consent_de(&c.special_categories, c.art9_explicit));
            h.row("Zweck", "Wohnungssicherung");
            h.row("Form", labels::consent_form(c.form));
            h.row("Nachweis", &c.evidence);
            h.row("Schweigepflichtentbindung", if c.secrecy_release { "erteilt" } else { "nicht erteilt" });
            h.row("Erteilt am", &labels::instant(c.recorded_at));
            h.row("Gültig bis", &labels::day(c.valid_until));
            h.row("Status", labels::consent_status(c.status));
            if let Some(at) = c.revoked_at {
                h.row("Widerrufen am", &labels::instant(at));
            }
            h.raw("</table>\n");
        }

        h.raw("<h3>Meldungen zum Mietverhältnis</h3>\n");
        if self.notices.is_empty() {
            h.raw("<p>Keine.</p>\n");
        } else {
            h.head(&["Eingegangen am", "Art", "Von", "Stufe", "Rückstand"]);
            for n in &self.notices {
                let kind = n
                    .court_file_number
                    .as_deref()
                    .map_or_else(|| labels::ARREARS_NOTICE.to_owned(), labels::court_notice);
                h.cells(&[
                    &labels::instant(n.received_at),
                    &kind,
                    n.reporter.as_ref().map_or("", |r| r.name.as_str()),
                    labels::stage(n.stage),
                    &n.arrears_cents.to_string(),
                ]);
            }
            h.raw("</table>\n");
        }

        // 3. Disclosures.
        h.raw("<h2>3. Übermittlungen an andere Stellen</h2>\n");
        if self.referrals.is_empty() {
            h.raw("<p>Keine.</p>\n");
        }
        for r in &self.referrals {
            h.raw("<h3>Vermittlung an ");
            h.text(&r.recipient.name);
            h.raw("</h3>\n<table>\n");
            h.row("Empfänger", &r.recipient.name);
            h.row("Übermittelt von", &r.sender.name);
            h.row("Übermittelt am", &labels::instant(r.created_at));
            h.row("Anliegen", labels::category(r.category));
            h.row("Antwort erbeten bis", &labels::day(r.reply_by));
            h.row("Stand", labels::state(r.state));
            h.note_row("Nachricht an den Empfänger", &r.message);
            match r.subject_identity_disclosed {
                Some(true) => h.row("Ihre Personalien", "übermittelt"),
                Some(false) => h.row(
                    "Ihre Personalien",
                    "nicht übermittelt: Sie haben in diese Weitergabe nicht eingewilligt (weitergegeben wurden \
                     nur die Personalien der Personen, die eingewilligt haben)",
                ),
                None => {}
            }
            if let Some(c) = &r.completion {
                let mut result = labels::result(c.result).to_owned();
                if let Some(a) = c.amount_cents {
                    result.push_str(&format!(", {a}"));
                }
                if let Some(d) = c.effective_date {
                    result.push_str(&format!(", zum {}", labels::day(d)));
                }
                h.row("Ergebnis", &result);
                h.note_row("Rückmeldung", &c.summary);
            }
            h.raw("</table>\n<p>Übermittelte Daten und Rechtsgrundlage:</p>\n");
            if r.disclosures.is_empty() {
                h.raw("<p>Keine.</p>\n");
            } else {
                h.head(&["Datenkategorie", "Rechtsgrundlage"]);
                for d in &r.disclosures {
                    let bases: Vec<String> = d.bases.iter().map(basis_de).collect();
                    h.cells(&[labels::data_category(d.category), &bases.join("; ")]);
                }
                h.raw("</table>\n");
            }
            h.raw("<h4 class=\"art9\">");
            h.text(labels::SPECIAL_CATEGORIES);
            h.raw("</h4>\n");
            if r.special_category_disclosures.is_empty() {
                h.raw("<p>Keine übermittelt.</p>\n");
            } else {
                h.head(&[
                    "Datenkategorie",
                    "Rechtsgrundlage",
                    "Ausdrückliche Einwilligung (Art. 9 Abs. 2 lit. a DSGVO)",
                ]);
                for d in &r.special_category_disclosures {
                    let bases: Vec<String> = d.bases.iter().map(basis_de).collect();
                    h.cells(&[
                        labels::data_category(d.category),
                        &bases.join("; "),
                        if d.art9_explicit { "liegt vor" } else { "liegt nicht vor" },
                    ]);
                }
                h.raw("</table>\n");
            }
            h.raw("<p>Verlauf:</p>\n");
            h.head(&["Zeitpunkt", "Vorgang", "Durch", "Grund"]);
            for t in &r.history {
                let what = t.mv.map_or(labels::REFERRAL_SENT, labels::move_done);
                let reason = [t.reason_code.map(|c| labels::reason(c).to_owned()), t.reason_text.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                h.cells(&[&labels::instant(t.at), what, &actor_de(&t.by), &reason]);
            }
            h.raw("</table>\n");
            if !r.notes.is_empty() {
                h.raw("<p>Notizen zwischen den Stellen:</p>\n");
                h.head(&["Zeitpunkt", "Von", "Text"]);
                for n in &r.notes {
                    h.cells(&[&labels::instant(n.at), &n.author.name, &n.text]);
                }
                h.raw("</table>\n");
            }
        }

        h.raw("<h3>Abrufe durch andere Stellen</h3>\n");
        if self.partner_reads.is_empty() {
            h.raw("<p>Keine.</p>\n");
        } else {
            h.head(&[
                "Zeitpunkt",
                "Stelle",
                "Vorgang",
                "Abgerufene Daten",
                "Rechtsgrundlage",
                labels::SPECIAL_CATEGORIES,
            ]);
            for r in &self.partner_reads {
                let (special_basis, basis) = split_recorded_basis(&r.legal_basis);
                let data = if r.categories.is_empty() && r.special_categories.is_empty() {
                    "keine Falldaten".to_owned()
                } else {
                    or_keine(categories_de(&r.categories))
                };
                let special = match (r.special_categories.is_empty(), special_basis.is_empty()) {
                    (true, _) => "keine".to_owned(),
                    (false, true) => categories_de(&r.special_categories),
                    (false, false) => recorded_basis_de(&special_basis),
                };
                h.cells(&[
                    &labels::instant(r.at),
                    &r.org.name,
                    action_de(&r.action),
                    &data,
                    &recorded_basis_de(&basis),
                    &special,
                ]);
            }
            h.raw("</table>\n");
        }

        h.raw("<h3>Löschen und Berichtigen bei Empfängern (Art. 19 DSGVO)</h3>\n");
        if self.recipient_requests.is_empty() {
            h.raw("<p>Keine.</p>\n");
        } else {
            h.head(&["Mitgeteilt am", "Stelle", "Bitte", "Anlass", "Bestätigt"]);
            for r in &self.recipient_requests {
                let ask = DataRequestAsk::parse(&r.ask).map_or("", labels::data_request_ask);
                let cause = DataRequestCause::parse(&r.cause).map_or("", labels::data_request_cause);
                let confirmed = match r.confirmed_at {
                    Some(at) => format!("am {}", labels::instant(at)),
                    None => "noch nicht".to_owned(),
                };
                h.cells(&[
                    &labels::instant(r.requested_at),
                    &r.recipient.name,
                    &format!("{ask}: {}", labels::data_request_categories(&r.categories)),
                    cause,
                    &confirmed,
                ]);
            }
            h.raw("</table>\n");
        }

        // 4. Retention and rights.
        h.raw("<h2>4. Speicherdauer und Ihre Rechte</h2>\n<p>");
        h.raw(
            "Ihre Daten werden gespeichert, solange der Fall bearbeitet wird. Nach Abschluss des Falls und \
             Ablauf der Aufbewahrungsfrist werden sie gelöscht (Art. 17 DSGVO, § 84 SGB X). Aufbewahrt wird danach \
             nur, was eine spätere Entscheidung rechtlich braucht: das Datum, an dem eine Schonfrist-Zahlung \
             (§ 569 Abs. 3 Nr. 2 BGB) genutzt wurde, für zwei Jahre, dazu anonyme Statistik. Eine Einwilligung gilt \
             bis zum Abschluss des Falls, höchstens zwölf Monate.</p>\n<p>",
        );
        h.raw(
            "Sie haben das Recht auf Berichtigung unrichtiger Daten (Art. 16 DSGVO), auf Löschung, soweit keine \
             gesetzliche Pflicht zur Aufbewahrung besteht (Art. 17 DSGVO), auf Einschränkung der Verarbeitung \
             (Art. 18 DSGVO) und auf Widerspruch aus Gründen, die sich aus Ihrer besonderen Situation ergeben \
             (Art. 21 DSGVO). Eine Einwilligung können Sie jederzeit mit Wirkung für die Zukunft widerrufen \
             (Art. 7 Abs. 3 DSGVO); alle bisherigen Empfänger werden dann benachrichtigt. Sie können sich bei einer \
             Datenschutz-Aufsichtsbehörde beschweren (Art. 77 DSGVO), in Niedersachsen bei der oder dem \
             Landesbeauftragten für den Datenschutz Niedersachsen.</p>\n",
        );
        h.raw("</body>\n</html>\n");
        h.0
    }
}

/// An HTML document being written: markup goes in as is, values through [`escape`].
#[derive(Default)]
struct Html(String);

impl Html {
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }
    fn text(&mut self, s: &str) {
        self.0.push_str(&escape(s));
    }
    fn row(&mut self, label: &str, value: &str) {
        let _ = writeln!(self.0, "<tr><th>{}</th><td>{}</td></tr>", escape(label), escape(value));
    }
    /// A row with free text (line breaks kept), or "keine" when empty.
    fn note_row(&mut self, label: &str, value: &str) {
        let value = if value.trim().is_empty() { "keine" } else { value };
        let _ = writeln!(self.0, "<tr><th>{}</th><td class=\"note\">{}</td></tr>", escape(label), escape(value));
    }
    /// Opens a table with a header row.
    fn head(&mut self, labels: &[&str]) {
        self.0.push_str("<table>\n<tr>");
        for l in labels {
            let _ = write!(self.0, "<th>{}</th>", escape(l));
        }
        self.0.push_str("</tr>\n");
    }
    fn cells(&mut self, values: &[&str]) {
        self.0.push_str("<tr>");
        for v in values {
            let _ = write!(self.0, "<td class=\"note\">{}</td>", escape(v));
        }
        self.0.push_str("</tr>\n");
    }
}

fn names(orgs: &[OrgRef]) -> String {
    orgs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn categories_de(cs: &[DataCategory]) -> String {
    cs.iter().map(|c| labels::data_category(*c)).collect::<Vec<_>>().join(", ")
}

/// "keine" for an empty list.
fn or_keine(list: String) -> String {
    if list.is_empty() { "keine".to_owned() } else { list }
}

/// What a consent says about the special categories: which it covers and whether the separate
/// explicit consent was given.
fn special_consent_de(special: &[DataCategory], explicit: bool) -> String {
    let given = labels::explicit_consent(explicit);
    match (special.is_empty(), explicit) {
        (true, _) => format!("keine umfasst ({given})"),
        (false, true) => format!("{}: {given}", categories_de(special)),
        (false, false) => {
            format!("{}: {given}, daher nicht übermittelt", categories_de(special))
        }
    }
}

/// Splits a recorded legal basis (`CATEGORY=bases; ...`) into the parts for special categories and
/// the rest; a basis without categories stays in the rest.
fn split_recorded_basis(raw: &str) -> (String, String) {
    let (special, rest): (Vec<&str>, Vec<&str>) = raw.split("; ").partition(|part| {
        part.split_once('=').and_then(|(cat, _)| DataCategory::parse(cat)).is_some_and(|c| c.is_special())
    });
    (special.join("; "), rest.join("; "))
}

fn basis_de(b: &BasisItem) -> String {
    match b.kind {
        "consent" => format!("Einwilligung {}", b.reference),
        _ => b.reference.clone(),
    }
}

/// The legal basis of an audit record in German: `IDENTITY=consent:X|statute:Y; ...` becomes
/// `Personalien: Einwilligung X / Y; ...`; other values are shown as recorded.
fn recorded_basis_de(raw: &str) -> String {
    let one = |b: &str| {
        if let Some(id) = b.strip_prefix("consent:") {
            format!("Einwilligung {id}")
        } else if let Some(s) = b.strip_prefix("statute:") {
            s.to_owned()
        } else {
            match b {
                "party" => "Beteiligung an der Vermittlung".to_owned(),
                "sender" => "Absender der Vermittlung".to_owned(),
                other => other.to_owned(),
            }
        }
    };
    raw.split("; ")
        .map(|part| match part.split_once('=') {
            Some((cat, bases)) => {
                let cat: &str = match DataCategory::parse(cat) {
                    Some(c) => labels::data_category(c),
                    None => cat,
                };
                format!("{cat}: {}", bases.split('|').map(one).collect::<Vec<_>>().join(" / "))
            }
            None => one(part),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn actor_de(a: &OrgRef) -> String {
    match a.id.as_str() {
        "hub" => labels::HUB.to_owned(),
        "operator" => labels::OPERATOR.to_owned(),
        _ => a.name.clone(),
    }
}

/// A partner's read in German; an action without a label is shown as recorded.
fn action_de(action: &str) -> &str {
    AuditAction::parse(action).and_then(labels::read_action).unwrap_or(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_bases_read_in_german() {
        assert_eq!(
            recorded_basis_de("IDENTITY=consent:abc|statute:§69 Abs. 1 Nr. 1 SGB X; ARREARS=consent:abc"),
            "Personalien: Einwilligung abc / §69 Abs. 1 Nr. 1 SGB X; Mietrückstände: Einwilligung abc"
        );
        assert_eq!(recorded_basis_de("party"), "Beteiligung an der Vermittlung");
    }

    #[test]
    fn special_categories_are_split_off_recorded_bases_and_consents() {
        let (special, rest) = split_recorded_basis("IDENTITY=consent:a; HEALTH=consent:a; ARREARS=statute:x");
        assert_eq!(special, "HEALTH=consent:a");
        assert_eq!(rest, "IDENTITY=consent:a; ARREARS=statute:x");
        assert_eq!(split_recorded_basis("party"), (String::new(), "party".to_owned()));
        assert_eq!(
            special_consent_de(&[DataCategory::Health], true),
            "Gesundheitsdaten: ausdrückliche Einwilligung erteilt"
        );
        assert_eq!(special_consent_de(&[], false), "keine umfasst (keine ausdrückliche Einwilligung)");
        assert!(special_consent_de(&[DataCategory::Health], false).ends_with("daher nicht übermittelt"));
    }
}
