//! The case page: household, address (unless a Schutzsperre blocks it), deadlines, consents,
//! referrals, the timeline of everything that happened, and the forms of what the Fachstelle may
//! do next (refer, record consent, close).

use std::fmt::Write as _;

use super::super::form::FormData;
use super::{Ctx, csrf_field, empty, esc, instant, labels, partner_name, time_day, who};
use crate::domain::casework::ContactKind;
use crate::domain::time::Day;
use crate::domain::vocab::{
    CaseOutcome, ConsentForm, ConsentStatus, DataCategory, ReferralCategory, RescueMeans, ThreatStage,
};
use crate::service::dashboard::{CasePageModel, CaseReferral, TimelineEntry, TimelineEvent};

/// What the address paragraph says under a Schutzsperre (§51 BMG).
pub const ADDRESS_BLOCKED: &str = "Auskunftssperre (Schutzsperre): Die Adresse sieht nur die Fachstelle. Sie geht an \
                                   keinen Partner, auch nicht mit Einwilligung, und steht in keiner Liste.";

/// The page title as plain text (the layout escapes it): "Fall " and the main tenant's name, or
/// the case id while processing is restricted.
pub fn title(m: &CasePageModel) -> String {
    let label = crate::service::dashboard::CaseLabel::of(&m.case);
    match label.name {
        Some(n) => format!("Fall {n}"),
        None => format!("Fall {}", m.case.id),
    }
}

/// The body of the case page.
pub fn render(m: &CasePageModel, ctx: &Ctx) -> String {
    render_with(m, ctx, None)
}

/// The body of the case page after an action succeeded: the confirmation of what was saved at the
/// top of the section the action belongs to (the redirect's `#section` scrolls there).
pub fn render_done(m: &CasePageModel, ctx: &Ctx, done: Option<&str>) -> String {
    let page = render_with(m, ctx, None);
    let Some(text) = done.and_then(done_message) else { return page };
    let message = format!("<p class=\"erfolg\" role=\"status\" id=\"erledigt\">{text}</p>\n");
    let section = done.map(section_of).unwrap_or("haushalt");
    let open = format!("<section id=\"{section}\">");
    let at = page.find(&open).map(|i| {
        let after = i + open.len();
        page[after..].find("</h2>").filter(|_| page[after..].starts_with("\n<h2>")).map_or(after, |h| after + h + 5)
    });
    match at {
        Some(at) => format!("{}\n{message}{}", &page[..at], &page[at..]),
        None => format!("{message}{page}"),
    }
}

/// The section of the case page an action belongs to, by its key.
pub fn section_of(key: &str) -> &'static str {
    match key {
        "ueberweisen" => "vermittlungen",
        "einwilligung" | "widerruf" => "einwilligungen",
        "stufe" | "gericht" => "fristen",
        "zustaendig" | "kontakt" | "wiedervorlage" => "kontakt",
        "dokument" => "dokumente",
        _ => "haushalt",
    }
}

/// The confirmation of a finished action, by the key its redirect names (`?erledigt=…`).
fn done_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "meldung" => "Die Meldung ist diesem Fall zugeordnet.",
        "gericht" => {
            "Die Mitteilung des Gerichts ist gespeichert und diesem Fall zugeordnet; die Fristen sind neu berechnet."
        }
        "stufe" => "Die Stufe ist eingetragen; die Fristen sind neu berechnet.",
        "zustaendig" => "Die Zuständigkeit ist gespeichert.",
        "dokument" => "Das Dokument ist gespeichert.",
        "kontakt" => "Der Kontaktversuch ist gespeichert.",
        "wiedervorlage" => "Das Ergebnis der Wiedervorlage ist gespeichert.",
        "einwilligung" => "Die Einwilligung ist gespeichert.",
        "ueberweisen" => "Die Vermittlung ist gesendet; der Partner wird benachrichtigt.",
        "abschliessen" => "Der Fall ist abgeschlossen.",
        "widerruf" => "Der Widerruf ist gespeichert; betroffene Partner werden benachrichtigt.",
        _ => return None,
    })
}

/// The body of the case page, with a form sent back by a rule (`echo`): a summary at the top, the
/// caseworker's input kept, the message at its field.
pub fn render_with(m: &CasePageModel, ctx: &Ctx, echo: Option<&FormEcho>) -> String {
    let mut out = String::new();
    if let Some(e) = echo {
        error_summary(&mut out, e);
    }
    summary(&mut out, m, ctx);
    deadlines(&mut out, m, ctx);
    household(&mut out, m);
    casework(&mut out, m, ctx, echo, true);
    documents(&mut out, m, ctx, echo, true);
    consents(&mut out, m, ctx);
    referrals(&mut out, &m.referrals);
    timeline(&mut out, &m.timeline);
    actions(&mut out, m, ctx, echo);
    out
}

/// What needs attention first, and the page's sections to jump to.
fn summary(out: &mut String, m: &CasePageModel, ctx: &Ctx) {
    let c = &m.case;
    out.push_str("<section id=\"ueberblick\">\n<dl class=\"angaben\">\n");
    let next = m.deadlines.iter().find(|d| d.date >= ctx.today).map_or_else(
        || "keine".to_owned(),
        |d| format!("{} – {}", time_day(d.date), esc(&labels::deadline_kind(&d.kind))),
    );
    let _ = writeln!(out, "<dt>Nächste Frist</dt><dd>{next}</dd>");
    let overdue = m.referrals.iter().filter(|r| r.overdue).count();
    if overdue > 0 {
        let _ = writeln!(
            out,
            "<dt>Überfällig</dt><dd><strong class=\"warnung\">{}</strong></dd>",
            super::count(overdue, "Vermittlung wartet auf Antwort", "Vermittlungen warten auf Antwort")
        );
    }
    let who = c.assignee.as_ref().map_or_else(|| "noch niemand".to_owned(), |a| esc(&a.name));
    let _ = writeln!(out, "<dt>Zuständig</dt><dd>{who}</dd>\n</dl>");
    let _ = writeln!(
        out,
        "<nav class=\"abschnitte\" aria-label=\"Abschnitte des Falls\"><a href=\"#fristen\">Fristen</a> \
         <a href=\"#haushalt\">Haushalt</a> <a href=\"#kontakt\">Kontakt</a> <a href=\"#dokumente\">Dokumente</a> <a href=\"#einwilligungen\">Einwilligungen</a> \
         <a href=\"#vermittlungen\">Vermittlungen</a> <a href=\"#zeitleiste\">Verlauf</a> \
         {}<a id=\"druckansicht\" href=\"/faelle/{}/druck\">Druckansicht</a></nav>",
        // A closed case has no forms, so no section to jump to.
        if c.closure.is_none() { "<a href=\"#aktionen\">Aktionen</a> " } else { "" },
        esc(c.id.as_str())
    );
    out.push_str("</section>\n");
}

/// The case for the paper file: everything the page shows, without forms, headed with the day of
/// printing, who printed it and the case's number.
pub fn render_print(m: &CasePageModel, ctx: &Ctx) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<p class=\"druckkopf\" id=\"druckkopf\">Fallakte Wohnungserhalt · Fall-Nr. {} · Ausdruck vom {} durch {}</p>",
        esc(m.case.id.as_str()),
        super::day(ctx.today),
        esc(&ctx.staff_name)
    );
    household(&mut out, m);
    casework(&mut out, m, ctx, None, false);
    documents(&mut out, m, ctx, None, false);
    deadlines(&mut out, m, ctx);
    consents(&mut out, m, ctx);
    referrals(&mut out, &m.referrals);
    timeline(&mut out, &m.timeline);
    out
}

/// Who is responsible, how the household was reached, and the follow-ups after a kept tenancy; with
/// `forms`, the forms to change them.
fn casework(out: &mut String, m: &CasePageModel, ctx: &Ctx, echo: Option<&FormEcho>, forms: bool) {
    let c = &m.case;
    let id = esc(c.id.as_str());
    let csrf = csrf_field(ctx);
    let state = |form: &'static str| FormState { form, echo: echo.filter(|e| e.form == form) };
    out.push_str("<section id=\"kontakt\">\n<h2>Zuständigkeit und Kontakt</h2>\n<dl class=\"angaben\">\n");
    let who = c.assignee.as_ref().map_or_else(|| "<em>noch niemand</em>".to_owned(), |a| esc(&a.name));
    let _ = writeln!(out, "<dt>Zuständig</dt><dd id=\"zustaendig-name\">{who}</dd>");
    let first =
        crate::domain::casework::first_contact(&c.contacts).map_or_else(|| "noch nicht erreicht".to_owned(), time_day);
    let _ = writeln!(out, "<dt>Erster Kontakt</dt><dd id=\"erster-kontakt\">{first}</dd>\n</dl>");
    let print = !forms;
    let forms = forms && c.closure.is_none();
    if forms {
        let f = state("zustaendig");
        let _ = writeln!(
            out,
            "<form id=\"zustaendig\" class=\"aktion\" method=\"post\" action=\"/faelle/{id}/zustaendig\">\n{csrf}"
        );
        f.error_on_form(out);
        let _ = writeln!(
            out,
            "<label>Zuständig <select name=\"zustaendig\" id=\"zustaendig-zustaendig\"{}>",
            f.aria("zustaendig")
        );
        out.push_str("<option value=\"\">– niemand –</option>\n");
        let current = c.assignee.as_ref().map(|a| a.username.as_str());
        for col in &m.colleagues {
            let sel = if current == Some(col.username.as_str()) { " selected" } else { "" };
            let _ = writeln!(out, "<option value=\"{}\"{sel}>{}</option>", esc(col.username.as_str()), esc(&col.name));
        }
        out.push_str("</select></label>\n");
        f.error_at(out, "zustaendig");
        out.push_str("<button type=\"submit\">Zuständigkeit speichern</button>\n</form>\n");
    }
    if c.contacts.is_empty() {
        out.push_str(&empty("Noch kein Kontaktversuch erfasst."));
    } else {
        out.push_str(
            "<table id=\"kontaktversuche\">\n<thead><tr><th>Datum</th><th>Wie</th><th>Erreicht</th><th>Notiz</th>\
             <th>Wer</th></tr></thead>\n<tbody>\n",
        );
        for a in &c.contacts {
            let _ = writeln!(
                out,
                "<tr class=\"kontaktversuch\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                time_day(a.day),
                esc(labels::contact_kind(a.kind)),
                if a.reached { "ja" } else { "nein" },
                esc(&a.note),
                esc(&a.by)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    if forms {
        let f = state("kontakt");
        let _ = writeln!(
            out,
            "<form id=\"kontakt-form\" class=\"aktion\" method=\"post\" action=\"/faelle/{id}/kontakt\">\n{csrf}"
        );
        out.push_str("<h3>Kontaktversuch erfassen</h3>\n");
        f.error_on_form(out);
        let _ = writeln!(out, "<label>Wie <select name=\"wie\" id=\"kontakt-wie\" required{}>", f.aria("wie"));
        let chosen = f.value("wie").and_then(|v| ContactKind::parse(&v));
        super::options(out, ContactKind::ALL, ContactKind::as_str, labels::contact_kind, chosen);
        out.push_str("</select></label>\n");
        f.error_at(out, "wie");
        let earliest = c.opened_at.day().plus_days(-crate::domain::casework::EARLIEST_CONTACT_DAYS);
        f.date(out, "Datum", "datum", (earliest, ctx.today), true);
        let _ = writeln!(
            out,
            "<label><input type=\"checkbox\" name=\"erreicht\" value=\"on\" id=\"kontakt-erreicht\"{}> \
             Haushalt erreicht</label>",
            f.checked("erreicht", "on", false)
        );
        let _ = writeln!(
            out,
            "<label>Notiz (optional) <input name=\"notiz\" id=\"kontakt-notiz\" maxlength=\"500\" value=\"{}\"{}></label>",
            esc(&f.value("notiz").unwrap_or_default()),
            f.aria("notiz")
        );
        f.error_at(out, "notiz");
        out.push_str("<button type=\"submit\">Kontaktversuch speichern</button>\n</form>\n");
    }
    follow_ups(out, m, ctx, print);
    out.push_str("</section>\n");
}

/// The case's documents, each a download; with `forms`, the upload.
fn documents(out: &mut String, m: &CasePageModel, ctx: &Ctx, echo: Option<&FormEcho>, forms: bool) {
    let id = esc(m.case.id.as_str());
    out.push_str("<section id=\"dokumente\">\n<h2>Dokumente</h2>\n");
    if m.documents.is_empty() {
        out.push_str(&empty("Noch kein Dokument."));
    } else {
        out.push_str(
            "<table id=\"dokumente-liste\">\n<thead><tr><th>Datei</th><th>Art</th><th>Größe</th><th>Hinzugefügt</th>\
             <th>Von</th></tr></thead>\n<tbody>\n",
        );
        for d in &m.documents {
            let kind = match d.kind {
                crate::domain::document::DocumentType::Pdf => "PDF",
                crate::domain::document::DocumentType::Jpeg => "JPEG-Bild",
                crate::domain::document::DocumentType::Png => "PNG-Bild",
            };
            let kb = d.size.div_ceil(1024);
            let _ = writeln!(
                out,
                "<tr class=\"dokument\"><td><a class=\"herunterladen\" href=\"/faelle/{id}/dokumente/{}\">{}</a></td>\
                 <td>{kind}</td><td>{} KB</td><td>{}</td><td>{}</td></tr>",
                esc(&d.id),
                esc(&d.name),
                kb,
                instant(d.uploaded_at),
                esc(&d.uploaded_by)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    if forms && m.case.closure.is_none() {
        let f = FormState { form: "dokument", echo: echo.filter(|e| e.form == "dokument") };
        let _ = writeln!(
            out,
            "<form id=\"dokument\" class=\"aktion\" method=\"post\" action=\"/faelle/{id}/dokumente\" \
             enctype=\"multipart/form-data\">\n{}",
            csrf_field(ctx)
        );
        f.error_on_form(out);
        let _ = writeln!(
            out,
            "<label>Datei (PDF, JPEG oder PNG, höchstens 5 MB) <input type=\"file\" name=\"datei\" id=\"dokument-datei\" \
             accept=\".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png\" required{}></label>",
            f.aria("datei")
        );
        f.error_at(out, "datei");
        out.push_str("<button type=\"submit\">Hochladen</button>\n</form>\n");
    }
    out.push_str("</section>\n");
}

/// The checks after a kept tenancy, each with its result or, when due, the buttons to record it.
fn follow_ups(out: &mut String, m: &CasePageModel, ctx: &Ctx, print: bool) {
    let c = &m.case;
    if c.follow_ups.is_empty() {
        return;
    }
    out.push_str(
        "<h3>Wiedervorlagen (Verstetigung)</h3>\n<table id=\"wiedervorlagen\">\n<thead><tr><th>Fällig am</th>\
         <th>Nach</th><th>Ergebnis</th></tr></thead>\n<tbody>\n",
    );
    for f in &c.follow_ups {
        let result = match f.result {
            Some((day, true)) => format!("am {} geprüft: Wohnung gehalten", time_day(day)),
            Some((day, false)) => format!("am {} geprüft: Wohnung nicht gehalten", time_day(day)),
            None if f.due <= ctx.today && print => "fällig".to_owned(),
            None if f.due <= ctx.today => format!(
                "<form class=\"wiedervorlage\" method=\"post\" action=\"/faelle/{}/wiedervorlage\">{}\
                 <input type=\"hidden\" name=\"monate\" value=\"{}\">\
                 <button type=\"submit\" name=\"gehalten\" value=\"ja\">Wohnung gehalten</button> \
                 <button type=\"submit\" name=\"gehalten\" value=\"nein\">nicht gehalten</button></form>",
                esc(c.id.as_str()),
                csrf_field(ctx),
                f.months
            ),
            None => "noch nicht fällig".to_owned(),
        };
        let _ = writeln!(
            out,
            "<tr class=\"wiedervorlage\" data-monate=\"{}\"><td>{}</td><td>{} Monaten</td><td>{result}</td></tr>",
            f.months,
            time_day(f.due),
            f.months
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn household(out: &mut String, m: &CasePageModel) {
    let c = &m.case;
    let d = &c.details;
    out.push_str("<section id=\"haushalt\">\n");
    match &c.closure {
        Some(cl) => {
            let _ = writeln!(
                out,
                "<p class=\"status\">Abgeschlossen am {}: {}</p>",
                instant(cl.at),
                esc(labels::outcome(cl.outcome))
            );
        }
        None => {
            let _ = writeln!(out, "<p class=\"status\">Offen seit {}</p>", instant(c.opened_at));
        }
    }
    if let Some(earlier) = &c.repeat_of {
        let _ = writeln!(
            out,
            "<p class=\"warnung\" id=\"wiederholung\">Wiederholungsfall: Der Haushalt war schon einmal bei der \
             Fachstelle (<a href=\"/faelle/{}\">früherer Fall</a>).</p>",
            esc(earlier.as_str())
        );
    }
    if let Some(r) = &c.restriction {
        let _ = writeln!(
            out,
            "<p class=\"warnung\" id=\"einschraenkung\">Verarbeitung eingeschränkt (Art. 18 DSGVO) seit {}: {}. \
             Partner sehen keine Daten dieses Falls.</p>",
            instant(r.since),
            esc(&r.reason)
        );
    }
    out.push_str("<h2>Haushalt</h2>\n<ul class=\"personen\">\n");
    for p in &d.persons {
        let year = p.birth_year.map(|y| format!(", geb. {y}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "<li>{}: {}, {}{year}</li>",
            esc(labels::role(p.role)),
            esc(&p.family_name),
            esc(&p.given_name)
        );
    }
    out.push_str("</ul>\n");
    // Only Fachstelle staff reach this page: they see a Schutzsperre address, marked as such
    // (DOMAIN.md rule 7: it never leaves the hub; lists never show any address).
    if d.schutzsperre {
        let _ = writeln!(out, "<p id=\"auskunftssperre\" class=\"warnung\">{ADDRESS_BLOCKED}</p>");
    }
    let a = &d.address;
    let class = if d.schutzsperre { " class=\"gesperrt\"" } else { "" };
    let _ = writeln!(
        out,
        "<p id=\"adresse\"{class}>{} {}, {} {}</p>",
        esc(&a.street),
        esc(&a.house_number),
        esc(&a.postal_code),
        esc(&a.city)
    );
    out.push_str("<dl class=\"falldaten\">\n");
    let mut item = |k: &str, v: String| {
        let _ = writeln!(out, "<dt>{k}</dt><dd>{v}</dd>");
    };
    if !d.contact.phone.is_empty() {
        item("Telefon", esc(&d.contact.phone));
    }
    if !d.contact.email.is_empty() {
        item("E-Mail", esc(&d.contact.email));
    }
    item("Stadtbezirk", esc(labels::district(d.stadtbezirk)));
    item("Haushalt", esc(labels::household(d.household_type)));
    item("Zugang", esc(labels::route_in(d.route_in)));
    if let Some(l) = &d.tenancy.landlord {
        item("Vermieter", esc(m.org_name(l)));
    }
    if !d.tenancy.reference.is_empty() {
        item("Mietvertragsnummer", esc(&d.tenancy.reference));
    }
    let rent = d.tenancy.rent.total_cents();
    if rent > 0 {
        item("Miete (warm)", super::euros(rent));
    }
    item("Mietrückstand", super::euros(d.arrears.get()));
    if let Some(s) = c.latest_stage() {
        item("Aktuelle Stufe", esc(labels::stage(s)));
    }
    out.push_str("</dl>\n</section>\n");
}

fn deadlines(out: &mut String, m: &CasePageModel, ctx: &Ctx) {
    out.push_str("<section id=\"fristen\">\n<h2>Fristen</h2>\n");
    if m.deadlines.is_empty() {
        out.push_str(&empty("Aus den erfassten Stufen ergeben sich keine Fristen."));
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Datum</th><th>Frist</th><th>Rechtsgrundlage</th><th>Hinweis</th></tr></thead>\n<tbody>\n",
        );
        for d in &m.deadlines {
            let mut notes: Vec<String> = Vec::new();
            if d.date < ctx.today {
                notes.push("Abgelaufen.".into());
            }
            if d.provisional {
                notes.push("Vorläufig (Datum nicht bestätigt).".into());
            }
            notes.extend(d.warnings.iter().map(|w| esc(&w.de())));
            let class = if d.date < ctx.today { "frist vorbei" } else { "frist" };
            let _ = writeln!(
                out,
                "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                time_day(d.date),
                esc(&labels::deadline_kind(&d.kind)),
                esc(&d.source),
                notes.join(" ")
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn consents(out: &mut String, m: &CasePageModel, ctx: &Ctx) {
    out.push_str("<section id=\"einwilligungen\">\n<h2>Einwilligungen</h2>\n");
    if m.consents.is_empty() {
        out.push_str(&empty("Keine Einwilligung erfasst."));
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Erfasst</th><th>Empfänger</th><th>Daten</th><th>Form</th><th>Nachweis</th>\
             <th>Gültig bis</th><th>Status</th><th><span class=\"unsichtbar\">Aktion</span></th></tr></thead>\n<tbody>\n",
        );
        for c in &m.consents {
            let recipients: Vec<String> = c.recipients.iter().map(|o| esc(m.org_name(o))).collect();
            let mut cats: Vec<&str> = c.categories.iter().map(|d| labels::data_category(*d)).collect();
            if c.categories.iter().any(|d| d.is_special()) {
                cats.push(crate::labels::explicit_consent(c.art9_explicit));
            }
            if c.secrecy_release {
                cats.push("mit Schweigepflichtentbindung");
            }
            let status = c.effective_status(ctx.today);
            let renew = if status == ConsentStatus::Active && m.case.closure.is_none() {
                format!(
                    "<a class=\"neue-fassung\" href=\"/faelle/{}?neue_fassung={}#einwilligung\">Ändern oder \
                     verlängern</a>",
                    esc(m.case.id.as_str()),
                    esc(c.id.as_str())
                )
            } else {
                String::new()
            };
            let version = match c.replaces.as_ref().and_then(|old| m.consents.iter().find(|o| &o.id == old)) {
                Some(old) => format!(
                    "<br><span class=\"hinweis fassung\">neue Fassung der Einwilligung vom {}</span>",
                    instant(old.recorded_at)
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "<tr class=\"einwilligung\" data-consent=\"{}\"><td>{}{version}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"nachweis\">{}</td><td>{}</td><td class=\"status\">{}</td><td>{renew}</td></tr>",
                esc(c.id.as_str()),
                instant(c.recorded_at),
                recipients.join(", "),
                esc(&cats.join(", ")),
                esc(labels::consent_form(c.form)),
                esc(&c.evidence),
                time_day(c.valid_until),
                esc(labels::consent_status(status)),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn referrals(out: &mut String, rows: &[CaseReferral]) {
    out.push_str("<section id=\"vermittlungen\">\n<h2>Vermittlungen</h2>\n");
    if rows.is_empty() {
        out.push_str(&empty("Noch keine Vermittlung."));
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Partner</th><th>Anliegen</th><th>Status</th><th>Gesendet</th><th>Antwort bis</th>\
             <th>Letztes Ereignis</th><th>Ergebnis</th></tr></thead>\n<tbody>\n",
        );
        for cr in rows {
            let r = &cr.referral;
            let class = if cr.overdue { "ueberweisung ueberfaellig" } else { "ueberweisung" };
            let reply = if cr.overdue {
                format!("{} <strong class=\"warnung\">überfällig</strong>", time_day(r.reply_by))
            } else {
                time_day(r.reply_by)
            };
            let result = match &r.completion {
                None => "–".to_owned(),
                Some(c) => {
                    let mut s = esc(labels::result(c.result));
                    if let Some(a) = c.amount {
                        let _ = write!(s, ", {}", esc(&a.to_string()));
                    }
                    if let Some(d) = c.effective_date {
                        let _ = write!(s, ", zum {}", time_day(d));
                    }
                    s
                }
            };
            let _ = writeln!(
                out,
                "<tr class=\"{class}\" data-referral=\"{}\"><td class=\"partner\">{}</td><td>{}</td>\
                 <td class=\"status\">{}</td><td>{}</td><td>{reply}</td><td class=\"letztes\">{}</td><td>{result}</td></tr>",
                esc(r.id.as_str()),
                partner_name(&cr.partner),
                super::referral_link(&r.id, r.category),
                esc(labels::state(r.state)),
                instant(r.created_at),
                super::handoffs::last_event(cr.last_event.as_ref()),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn timeline(out: &mut String, entries: &[TimelineEntry]) {
    out.push_str("<section id=\"zeitleiste\">\n<h2>Verlauf</h2>\n<ol>\n");
    for e in entries {
        let when = if e.day_only {
            time_day(e.at.day())
        } else {
            format!("<time datetime=\"{}\">{}</time>", e.at.millis(), instant(e.at))
        };
        let (kind, referral, what) = event_text(&e.event);
        let data = referral.map(|r| format!(" data-referral=\"{}\"", esc(&r))).unwrap_or_default();
        let by = e.who.as_ref().map(|w| format!(" <span class=\"wer\">– {}</span>", who(w))).unwrap_or_default();
        let _ = writeln!(
            out,
            "<li class=\"ereignis\" data-art=\"{kind}\"{data}>{when} <span class=\"was\">{what}</span>{by}</li>"
        );
    }
    out.push_str("</ol>\n</section>\n");
}

/// The kind (a stable token for tests and styling), the referral it concerns, and the text.
fn event_text(e: &TimelineEvent) -> (&'static str, Option<String>, String) {
    match e {
        TimelineEvent::CaseOpened => ("fall-eroeffnet", None, "Fall eröffnet".into()),
        TimelineEvent::NoticeReceived { court: true, .. } => {
            ("meldung", None, "Mitteilung des Amtsgerichts (MiZi) eingegangen".into())
        }
        TimelineEvent::NoticeReceived { from, .. } => {
            let from = from.as_ref().map_or_else(|| "einem Wohnungsunternehmen".to_owned(), partner_name);
            ("meldung", None, format!("Meldung von {from} eingegangen"))
        }
        TimelineEvent::Stage(s) => {
            let mut t = format!("Stufe: {}", esc(labels::stage(s.stage)));
            if let Some(end) = s.end_date {
                let _ = write!(t, " (bis {})", time_day(end));
            }
            if !s.source.is_empty() {
                let _ = write!(t, ", Quelle: {}", esc(&s.source));
            }
            ("stufe", None, t)
        }
        TimelineEvent::ConsentGiven { recipients, categories, .. } => {
            let to: Vec<String> = recipients.iter().map(partner_name).collect();
            let cats: Vec<&str> = categories.iter().map(|c| labels::data_category(*c)).collect();
            ("einwilligung", None, format!("Einwilligung erteilt für {}: {}", to.join(", "), esc(&cats.join(", "))))
        }
        TimelineEvent::ConsentEnded { status, .. } => {
            let what = match status {
                ConsentStatus::Revoked => "Einwilligung widerrufen",
                ConsentStatus::Expired => "Einwilligung abgelaufen",
                ConsentStatus::Ended => "Einwilligung mit dem Abschluss des Falls beendet",
                ConsentStatus::Superseded => "Einwilligung durch eine neue Fassung ersetzt",
                ConsentStatus::Active => "Einwilligung beendet",
            };
            ("einwilligung-ende", None, what.into())
        }
        TimelineEvent::ReferralCreated { referral_id, partner, category } => (
            "vermittlung",
            Some(referral_id.to_string()),
            format!("Vermittlung an {} gesendet: {}", partner_name(partner), esc(labels::category(*category))),
        ),
        TimelineEvent::ReferralMoved { referral_id, partner, mv, to, reason } => {
            let what = mv.map_or("Status geändert", labels::move_done);
            let mut t = format!("{}: {} (Status: {})", partner_name(partner), esc(what), esc(labels::state(*to)));
            if let Some(r) = reason {
                let code = r.code.map(labels::reason);
                let text = match (code, r.text.is_empty()) {
                    (Some(c), true) => esc(c),
                    (Some(c), false) => format!("{} – {}", esc(c), esc(&r.text)),
                    (None, _) => esc(&r.text),
                };
                let _ = write!(t, ", Grund: {text}");
            }
            ("bewegung", Some(referral_id.to_string()), t)
        }
        TimelineEvent::NoteAdded { referral_id, partner, text } => (
            "notiz",
            Some(referral_id.to_string()),
            format!("Notiz zur Vermittlung an {}: „{}“", partner_name(partner), esc(text)),
        ),
        TimelineEvent::MailSent { to, kind, referral_id } => (
            "mail",
            referral_id.as_ref().map(ToString::to_string),
            format!("E-Mail an {} zugestellt: {}", partner_name(to), esc(labels::mail_kind(*kind))),
        ),
        TimelineEvent::MailFailed { to, kind, referral_id, error, dead } => {
            let state = if *dead { "aufgegeben" } else { "wird wiederholt" };
            let error = error.as_deref().map(|e| format!(" ({})", esc(e))).unwrap_or_default();
            (
                "mail-fehler",
                referral_id.as_ref().map(ToString::to_string),
                format!(
                    "E-Mail an {} nicht zugestellt: {}{error}, {state}",
                    partner_name(to),
                    esc(labels::mail_kind(*kind))
                ),
            )
        }
        TimelineEvent::Restricted { reason } => {
            ("einschraenkung", None, format!("Verarbeitung eingeschränkt (Art. 18 DSGVO): {}", esc(reason)))
        }
        TimelineEvent::Closed(c) => {
            let mut t = format!("Fall abgeschlossen: {}", esc(labels::outcome(c.outcome)));
            if let Some(m) = c.rescue_means {
                let _ = write!(t, " ({})", esc(labels::rescue_means(m)));
            }
            if !c.note.is_empty() {
                let _ = write!(t, ". {}", esc(&c.note));
            }
            ("abschluss", None, t)
        }
    }
}

/// A form sent back because a rule refused it: what the caseworker entered (shown again), and the
/// message, at the field it concerns (`field`, the form's own name) or at the top of the form.
pub struct FormEcho {
    /// Which form (`ueberweisen`, `einwilligung`, `abschliessen`).
    pub form: &'static str,
    /// The values as sent.
    pub values: FormData,
    /// The field the message belongs to, if it belongs to one.
    pub field: Option<&'static str>,
    /// That field's label.
    pub label: Option<&'static str>,
    /// The message, German.
    pub message: String,
}

/// The state of one form while it is rendered: the echo when it is the one sent back.
struct FormState<'a> {
    form: &'static str,
    echo: Option<&'a FormEcho>,
}

impl FormState<'_> {
    /// The value sent for `name`, when this form comes back.
    fn value(&self, name: &str) -> Option<String> {
        self.echo.and_then(|e| e.values.one(name))
    }

    /// Whether the box `name`=`value` is ticked: as sent when this form comes back, else `default`.
    fn checked(&self, name: &str, value: &str, default: bool) -> &'static str {
        let on = match self.echo {
            Some(e) => e.values.all(name).iter().any(|v| v == value),
            None => default,
        };
        if on { " checked" } else { "" }
    }

    /// `selected` when `value` was the choice sent for `name`.
    fn selected(&self, name: &str, value: &str) -> &'static str {
        if self.value(name).as_deref() == Some(value) { " selected" } else { "" }
    }

    /// The message at `field`, if it belongs there.
    fn error_at(&self, out: &mut String, field: &str) {
        if let Some(e) = self.echo.filter(|e| e.field == Some(field) && !e.message.is_empty()) {
            let _ = writeln!(
                out,
                "<p class=\"fehler\" id=\"{}-{field}-fehler\" role=\"alert\">{}</p>",
                self.form,
                esc(&e.message)
            );
        }
    }

    /// The message at the top of the form, when it belongs to no field.
    fn error_on_form(&self, out: &mut String) {
        if let Some(e) = self.echo.filter(|e| e.field.is_none() && !e.message.is_empty()) {
            let _ =
                writeln!(out, "<p class=\"fehler\" id=\"{}-fehler\" role=\"alert\">{}</p>", self.form, esc(&e.message));
        }
    }

    /// A date field `name` labelled `label`, limited to `range`, with the value sent and the message at it.
    fn date(&self, out: &mut String, label: &str, name: &str, range: (Day, Day), required: bool) {
        let _ = writeln!(
            out,
            "<label>{label} <input type=\"date\" name=\"{name}\" id=\"{}-{name}\" min=\"{}\" max=\"{}\" \
             value=\"{}\"{}{}></label>",
            self.form,
            range.0,
            range.1,
            esc(&self.value(name).unwrap_or_default()),
            if required { " required" } else { "" },
            self.aria(name)
        );
        self.error_at(out, name);
    }

    /// `aria-invalid` and `aria-describedby` for the input of `field` when the message is there.
    fn aria(&self, field: &str) -> String {
        match self.echo.filter(|e| e.field == Some(field)) {
            Some(_) => format!(" aria-invalid=\"true\" aria-describedby=\"{}-{field}-fehler\"", self.form),
            None => String::new(),
        }
    }
}

/// The summary above the page when a form came back: what was not saved, linking to the field.
fn error_summary(out: &mut String, echo: &FormEcho) {
    if echo.message.is_empty() {
        // A form filled in advance (a consent to renew), not a refusal.
        return;
    }
    let what = match echo.form {
        "ueberweisen" => "Die Vermittlung",
        "einwilligung" => "Die Einwilligung",
        "widerruf" => "Der Widerruf",
        "stufe" => "Die Stufe",
        "zustaendig" => "Die Zuständigkeit",
        "dokument" => "Das Dokument",
        "kontakt" => "Der Kontaktversuch",
        "wiedervorlage" => "Die Wiedervorlage",
        _ => "Der Abschluss",
    };
    let target = match echo.field {
        Some(f) => format!("{}-{f}", echo.form),
        None => echo.form.to_owned(),
    };
    let _ = writeln!(
        out,
        "<div class=\"fehlerliste\" role=\"alert\">\n<p><strong>{what} wurde nicht gespeichert.</strong> \
         <a href=\"#{target}\">{}{}</a></p>\n<p>Ihre Eingaben sind unten im Formular erhalten.</p>\n</div>",
        echo.label.map(|l| format!("{}: ", esc(l))).unwrap_or_default(),
        esc(&echo.message)
    );
}

fn actions(out: &mut String, m: &CasePageModel, ctx: &Ctx, echo: Option<&FormEcho>) {
    if m.case.closure.is_some() {
        return;
    }
    let id = esc(m.case.id.as_str());
    let csrf = csrf_field(ctx);
    let state = |form: &'static str| FormState { form, echo: echo.filter(|e| e.form == form) };
    out.push_str("<section id=\"aktionen\">\n<h2>Aktionen</h2>\n");

    // Refer.
    let f = state("ueberweisen");
    let _ = writeln!(out, "<form id=\"ueberweisen\" method=\"post\" action=\"/faelle/{id}/ueberweisen\">\n{csrf}");
    out.push_str("<h3>Vermitteln</h3>\n");
    f.error_on_form(out);
    let _ = writeln!(
        out,
        "<label>An <select name=\"empfaenger\" id=\"ueberweisen-empfaenger\" required{}>",
        f.aria("empfaenger")
    );
    for p in &m.partners {
        let _ = writeln!(
            out,
            "<option value=\"{}\"{}>{} ({})</option>",
            esc(p.id.as_str()),
            f.selected("empfaenger", p.id.as_str()),
            esc(&p.name),
            esc(labels::org_kind(p.kind))
        );
    }
    out.push_str("</select></label>\n");
    f.error_at(out, "empfaenger");
    let _ = writeln!(
        out,
        "<label>Anliegen <select name=\"kategorie\" id=\"ueberweisen-kategorie\" required{}>",
        f.aria("kategorie")
    );
    let chosen = f.value("kategorie").and_then(|v| ReferralCategory::parse(&v));
    super::options(out, ReferralCategory::ALL, ReferralCategory::as_str, labels::category, chosen);
    out.push_str("</select></label>\n");
    f.error_at(out, "kategorie");
    data_checkboxes(out, &f, "Weitergegebene Daten");
    let latest_reply = ctx.today.plus_days(crate::domain::referral::MAX_REPLY_DAYS);
    f.date(out, "Antwort bis (optional)", "antwort_bis", (ctx.today, latest_reply), false);
    let _ = writeln!(
        out,
        "<label>Nachricht <textarea name=\"nachricht\" id=\"ueberweisen-nachricht\" rows=\"3\" maxlength=\"4000\"{}>{}</textarea></label>",
        f.aria("nachricht"),
        esc(&f.value("nachricht").unwrap_or_default())
    );
    f.error_at(out, "nachricht");
    let _ = writeln!(
        out,
        "<label><input type=\"checkbox\" name=\"zweite_bestaetigt\" value=\"on\" id=\"ueberweisen-zweite_bestaetigt\"{}> \
         Auch senden, wenn schon eine offene Vermittlung mit diesem Anliegen an diesen Partner besteht</label>",
        f.checked("zweite_bestaetigt", "on", false)
    );
    out.push_str("<button type=\"submit\">Vermittlung senden</button>\n</form>\n");

    // Record consent.
    let f = state("einwilligung");
    let _ = writeln!(out, "<form id=\"einwilligung\" method=\"post\" action=\"/faelle/{id}/einwilligung\">\n{csrf}");
    let replaces = f.value("ersetzt").and_then(|id| m.consents.iter().find(|c| c.id.as_str() == id));
    out.push_str(if replaces.is_some() {
        "<h3>Neue Fassung der Einwilligung</h3>\n"
    } else {
        "<h3>Einwilligung erfassen</h3>\n"
    });
    if let Some(old) = replaces {
        let _ = writeln!(
            out,
            "<input type=\"hidden\" name=\"ersetzt\" value=\"{}\">\n<p class=\"hinweis neue-fassung\" id=\"einwilligung-ersetzt\">Neue \
             Fassung der Einwilligung vom {}: Personen, Empfänger und Daten sind übernommen. Ändern Sie, was sich \
             geändert hat, und tragen Sie den Nachweis und „Gültig bis“ ein. Mit dem Speichern endet die bisherige \
             Fassung; offene Vermittlungen stützen sich dann auf die neue, und wer Daten nicht mehr erhalten darf, \
             wird zur Löschung aufgefordert. <a href=\"/faelle/{id}#einwilligung\">Stattdessen eine eigene \
             Einwilligung erfassen</a></p>",
            esc(old.id.as_str()),
            instant(old.recorded_at),
        );
        f.error_at(out, "ersetzt");
    }
    f.error_on_form(out);
    let _ = writeln!(
        out,
        "<fieldset id=\"einwilligung-personen\"{}><legend>Einwilligende Personen</legend>",
        f.aria("personen")
    );
    for p in &m.case.details.persons {
        let _ = writeln!(
            out,
            "<label><input type=\"checkbox\" name=\"personen\" value=\"{}\"{}> {}, {} ({})</label>",
            esc(p.id.as_str()),
            f.checked("personen", p.id.as_str(), true),
            esc(&p.family_name),
            esc(&p.given_name),
            esc(labels::role(p.role))
        );
    }
    out.push_str("</fieldset>\n");
    f.error_at(out, "personen");
    let _ =
        writeln!(out, "<fieldset id=\"einwilligung-empfaenger\"{}><legend>Empfänger</legend>", f.aria("empfaenger"));
    for p in &m.partners {
        let _ = writeln!(
            out,
            "<label><input type=\"checkbox\" name=\"empfaenger\" value=\"{}\"{}> {}</label>",
            esc(p.id.as_str()),
            f.checked("empfaenger", p.id.as_str(), false),
            esc(&p.name)
        );
    }
    out.push_str("</fieldset>\n");
    f.error_at(out, "empfaenger");
    data_checkboxes(out, &f, "Datenkategorien");
    out.push_str("<label>Form <select name=\"form\" id=\"einwilligung-form\" required>\n");
    let chosen = f.value("form").and_then(|v| ConsentForm::parse(&v));
    super::options(out, ConsentForm::ALL, ConsentForm::as_str, labels::consent_form, chosen);
    out.push_str("</select></label>\n");
    f.error_at(out, "form");
    let _ = writeln!(
        out,
        "<label>Nachweis <input type=\"text\" name=\"nachweis\" id=\"einwilligung-nachweis\" maxlength=\"200\" \
         value=\"{}\" required{}></label>",
        esc(&f.value("nachweis").unwrap_or_default()),
        f.aria("nachweis")
    );
    f.error_at(out, "nachweis");
    let latest = crate::domain::consent::latest_valid_until(ctx.today);
    f.date(out, "Gültig bis", "gueltig_bis", (ctx.today, latest), true);
    let _ = writeln!(
        out,
        "<label><input type=\"checkbox\" name=\"ausdruecklich\" value=\"on\" id=\"einwilligung-ausdruecklich\"{}> \
         Gesonderte ausdrückliche Einwilligung für Gesundheitsdaten (Art. 9 Abs. 2 lit. a DSGVO) liegt vor</label>",
        f.checked("ausdruecklich", "on", false)
    );
    f.error_at(out, "ausdruecklich");
    let _ = writeln!(
        out,
        "<label><input type=\"checkbox\" name=\"schweigepflicht\" value=\"on\" id=\"einwilligung-schweigepflicht\"{}> \
         Schweigepflichtentbindung liegt vor (nötig für Schuldnerberatung, Träger und Frauenberatung)</label>",
        f.checked("schweigepflicht", "on", false)
    );
    f.error_at(out, "schweigepflicht");
    out.push_str("<button type=\"submit\">Einwilligung speichern</button>\n</form>\n");

    // Record a threat stage (a termination, a claim, an eviction date) with its date and source.
    let f = state("stufe");
    let _ = writeln!(out, "<form id=\"stufe\" method=\"post\" action=\"/faelle/{id}/stufe\">\n{csrf}");
    out.push_str("<h3>Stufe eintragen</h3>\n");
    f.error_on_form(out);
    let _ = writeln!(out, "<label>Stufe <select name=\"stufe\" id=\"stufe-stufe\" required{}>", f.aria("stufe"));
    let chosen = f.value("stufe").and_then(|v| ThreatStage::parse(&v));
    super::options(out, ThreatStage::ALL, ThreatStage::as_str, labels::stage, chosen);
    out.push_str("</select></label>\n");
    f.error_at(out, "stufe");
    let opened = m.case.opened_at.day().plus_days(-3650);
    f.date(out, "Erreicht am", "datum", (opened, ctx.today), true);
    f.date(
        out,
        "Endet am (nur bei Fristen wie dem Räumungstermin, optional)",
        "ende",
        (opened, ctx.today.plus_days(3650)),
        false,
    );
    let _ = writeln!(
        out,
        "<label>Woher bekannt? (z. B. „Kündigungsschreiben vom Vermieter, Kopie liegt vor“) \
         <input name=\"quelle\" id=\"stufe-quelle\" maxlength=\"500\" required value=\"{}\"{}></label>",
        esc(&f.value("quelle").unwrap_or_default()),
        f.aria("quelle")
    );
    f.error_at(out, "quelle");
    out.push_str("<button type=\"submit\">Stufe speichern</button>\n</form>\n");

    // Revoke a consent: the household said so by phone, letter or in person.
    let active: Vec<_> = m.consents.iter().filter(|c| c.effective_status(ctx.today) == ConsentStatus::Active).collect();
    if !active.is_empty() {
        let f = state("widerruf");
        let _ = writeln!(out, "<form id=\"widerruf\" method=\"post\" action=\"/faelle/{id}/widerruf\">\n{csrf}");
        out.push_str("<h3>Einwilligung widerrufen</h3>\n");
        f.error_on_form(out);
        let _ = writeln!(
            out,
            "<label>Einwilligung <select name=\"einwilligung\" id=\"widerruf-einwilligung\" required{}>",
            f.aria("einwilligung")
        );
        for c in active {
            let recipients: Vec<&str> = c.recipients.iter().map(|o| m.org_name(o)).collect();
            let _ = writeln!(
                out,
                "<option value=\"{}\"{}>{} – erfasst am {}, gültig bis {}</option>",
                esc(c.id.as_str()),
                f.selected("einwilligung", c.id.as_str()),
                esc(&recipients.join(", ")),
                super::day(c.recorded_at.day()),
                super::day(c.valid_until)
            );
        }
        out.push_str("</select></label>\n");
        f.error_at(out, "einwilligung");
        let _ = writeln!(
            out,
            "<label>Wie und wann wurde widerrufen? <textarea name=\"notiz\" id=\"widerruf-notiz\" rows=\"2\" \
             maxlength=\"1000\"{}>{}</textarea></label>",
            f.aria("notiz"),
            esc(&f.value("notiz").unwrap_or_default())
        );
        f.error_at(out, "notiz");
        out.push_str(
            "<p class=\"hinweis\">Vermittlungen, die nur auf dieser Einwilligung beruhen, werden storniert; die \
             Empfänger werden benachrichtigt und um Löschung gebeten.</p>\n\
             <button type=\"submit\">Widerruf speichern</button>\n</form>\n",
        );
    }

    // Close.
    let f = state("abschliessen");
    let _ = writeln!(out, "<form id=\"abschliessen\" method=\"post\" action=\"/faelle/{id}/abschliessen\">\n{csrf}");
    out.push_str("<h3>Fall abschließen</h3>\n");
    f.error_on_form(out);
    out.push_str("<label>Ergebnis <select name=\"ergebnis\" id=\"abschliessen-ergebnis\" required>\n");
    let chosen = f.value("ergebnis").and_then(|v| CaseOutcome::parse(&v));
    super::options(out, CaseOutcome::ALL, CaseOutcome::as_str, labels::outcome, chosen);
    out.push_str("</select></label>\n");
    f.error_at(out, "ergebnis");
    let _ = writeln!(
        out,
        "<label>Mittel (nur bei „Wohnung erhalten“) <select name=\"mittel\" id=\"abschliessen-mittel\"{}>\n\
         <option value=\"\">–</option>",
        f.aria("mittel")
    );
    let chosen = f.value("mittel").and_then(|v| RescueMeans::parse(&v));
    super::options(out, RescueMeans::ALL, RescueMeans::as_str, labels::rescue_means, chosen);
    out.push_str("</select></label>\n");
    f.error_at(out, "mittel");
    let _ = writeln!(
        out,
        "<label>Notiz <textarea name=\"notiz\" id=\"abschliessen-notiz\" rows=\"2\" maxlength=\"4000\"{}>{}</textarea></label>",
        f.aria("notiz"),
        esc(&f.value("notiz").unwrap_or_default())
    );
    f.error_at(out, "notiz");
    open_items(out, m, &f);
    out.push_str("<button type=\"submit\">Fall abschließen</button>\n</form>\n</section>\n");
}

/// What is still running, above the close button, and the confirmation the close then needs.
fn open_items(out: &mut String, m: &CasePageModel, f: &FormState<'_>) {
    let items = &m.open_items;
    if items.is_empty() {
        return;
    }
    out.push_str("<div class=\"hinweis\" id=\"noch-offen\">\n<p>Noch nicht erledigt:</p>\n<ul>\n");
    let n = items.referrals.len();
    if n > 0 {
        let text = if n == 1 {
            "1 offene Vermittlung – sie wird beim Abschluss storniert und der Partner benachrichtigt".to_owned()
        } else {
            format!("{n} offene Vermittlungen – sie werden beim Abschluss storniert und die Partner benachrichtigt")
        };
        let _ = writeln!(out, "<li>{}</li>", esc(&text));
    }
    for (kind, day) in &items.deadlines {
        let _ = writeln!(out, "<li>Laufende Frist: {} bis {}</li>", esc(&labels::deadline_kind(kind)), time_day(*day));
    }
    let _ = writeln!(
        out,
        "</ul>\n<label><input type=\"checkbox\" name=\"offenes_bestaetigt\" value=\"on\" required{}> \
         Trotzdem abschließen</label>\n</div>",
        f.checked("offenes_bestaetigt", "on", false)
    );
}

fn data_checkboxes(out: &mut String, f: &FormState<'_>, legend: &str) {
    let _ = writeln!(out, "<fieldset id=\"{}-daten\"{}><legend>{legend}</legend>", f.form, f.aria("daten"));
    for c in DataCategory::ALL {
        let _ = writeln!(
            out,
            "<label><input type=\"checkbox\" name=\"daten\" value=\"{}\"{}> {}</label>",
            c.as_str(),
            f.checked("daten", c.as_str(), false),
            esc(labels::data_category(*c))
        );
    }
    out.push_str("</fieldset>\n");
    f.error_at(out, "daten");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::case::{Address, Case, CaseDetails, Contact, Person, Rent, StageEntry, Tenancy};
    use crate::domain::deadline::CaseDeadline;
    use crate::domain::ids::{Actor, Cents, OrgId, PersonId};
    use crate::domain::referral::{Move, Referral, ReferralState, Transition};
    use crate::domain::time::{Day, Instant};
    use crate::domain::vocab::{
        Gender, HouseholdType, OrgKind, PersonRole, ReferralCategory, RouteIn, Stadtbezirk, ThreatStage,
    };
    use crate::service::dashboard::{PartnerOption, PartnerRef, Who};

    fn fachstelle() -> OrgId {
        OrgId::parse("fachstelle").unwrap()
    }

    fn case(schutzsperre: bool) -> Case {
        let details = CaseDetails {
            persons: vec![Person {
                id: PersonId::new(),
                role: PersonRole::MainTenant,
                given_name: "Anna".into(),
                family_name: "K<i>".into(),
                gender: Gender::Female,
                birth_year: Some(1985),
            }],
            address: Address {
                street: "Musterweg".into(),
                house_number: "7".into(),
                postal_code: "30159".into(),
                city: "Hannover".into(),
            },
            contact: Contact::default(),
            stadtbezirk: Stadtbezirk::Mitte,
            tenancy: Tenancy {
                landlord: None,
                reference: "SYNTH-1".into(),
                start: None,
                rent: Rent { base: Cents::parse(78_000).unwrap(), ..Rent::default() },
            },
            arrears: Cents::parse(156_000).unwrap(),
            route_in: RouteIn::HousingCompanyNotice,
            schutzsperre,
            household_type: HouseholdType::SingleParent,
            income_benefits_note: String::new(),
            health_note: String::new(),
            counselling_note: String::new(),
        };
        let stage = StageEntry {
            stage: ThreatStage::Mahnung,
            date: Day::parse("2025-12-08").unwrap(),
            end_date: None,
            source: "Wohnungsunternehmen".into(),
            recorded_by: fachstelle(),
        };
        Case::open(fachstelle(), details, vec![stage], vec![], Instant::from_millis(1_766_400_000_000))
    }

    fn model(schutzsperre: bool) -> CasePageModel {
        let case = case(schutzsperre);
        let jc = PartnerRef { id: OrgId::parse("jobcenter").unwrap(), name: "Jobcenter".into() };
        let created = Instant::from_millis(1_767_949_200_000);
        let acked = Instant::from_millis(1_768_035_600_000);
        let actor = Actor::Org { org: jc.id.clone(), staff: None };
        let mut referral = Referral::request(
            crate::domain::referral::ReferralDraft {
                case_id: case.id.clone(),
                sender: fachstelle(),
                recipient: jc.id.clone(),
                category: ReferralCategory::RentDebtTakeoverSgb2,
                disclosures: vec![],
                message: String::new(),
                reply_by: Day::parse("2026-01-16").unwrap(),
            },
            Actor::Org { org: fachstelle(), staff: None },
            created,
        );
        referral.state = ReferralState::Received;
        referral.history = vec![
            Transition {
                from: None,
                to: ReferralState::Requested,
                mv: None,
                actor: Actor::Org { org: fachstelle(), staff: None },
                at: created,
                reason: None,
            },
            Transition {
                from: Some(ReferralState::Requested),
                to: ReferralState::Received,
                mv: Some(Move::Acknowledge),
                actor,
                at: acked,
                reason: None,
            },
        ];
        referral.updated_at = acked;
        let who_jc = Who::Org { org: jc.clone(), staff: Some("Frau <M>".into()) };
        let timeline = vec![
            TimelineEntry { at: case.opened_at, day_only: false, who: None, event: TimelineEvent::CaseOpened },
            TimelineEntry {
                at: created,
                day_only: false,
                who: None,
                event: TimelineEvent::ReferralCreated {
                    referral_id: referral.id.clone(),
                    partner: jc.clone(),
                    category: referral.category,
                },
            },
            TimelineEntry {
                at: acked,
                day_only: false,
                who: Some(who_jc.clone()),
                event: TimelineEvent::ReferralMoved {
                    referral_id: referral.id.clone(),
                    partner: jc.clone(),
                    mv: Some(Move::Acknowledge),
                    to: ReferralState::Received,
                    reason: None,
                },
            },
            TimelineEntry {
                at: acked,
                day_only: false,
                who: Some(who_jc),
                event: TimelineEvent::NoteAdded {
                    referral_id: referral.id.clone(),
                    partner: jc.clone(),
                    text: "<script>alert(1)</script>".into(),
                },
            },
        ];
        let mut org_names = BTreeMap::new();
        org_names.insert(jc.id.clone(), jc.name.clone());
        CasePageModel {
            open_items: crate::domain::case::OpenItems::default(),
            today: Day::parse("2026-01-20").unwrap(),
            deadlines: vec![CaseDeadline {
                kind: "SCHONFRIST".into(),
                date: Day::parse("2026-04-10").unwrap(),
                source: "§569 Abs. 3 Nr. 2 BGB".into(),
                provisional: false,
                warnings: vec![],
            }],
            consents: vec![],
            referrals: vec![CaseReferral {
                partner: jc.clone(),
                overdue: true,
                notes: vec![],
                last_event: None,
                referral,
            }],
            mails: vec![],
            timeline,
            partners: vec![PartnerOption {
                id: jc.id.clone(),
                name: jc.name.clone(),
                kind: OrgKind::Jobcenter,
                accepted: vec![ReferralCategory::RentDebtTakeoverSgb2],
            }],
            org_names,
            colleagues: vec![],
            documents: vec![],
            case,
        }
    }

    fn ctx() -> Ctx {
        Ctx { today: Day::parse("2026-01-20").unwrap(), csrf: "tok\"en".into(), staff_name: "S".into() }
    }

    #[test]
    fn address_shown_without_schutzsperre() {
        let html = render(&model(false), &ctx());
        assert!(html.contains("<p id=\"adresse\">Musterweg 7, 30159 Hannover</p>"), "{html}");
        assert!(!html.contains(ADDRESS_BLOCKED));
    }

    #[test]
    fn schutzsperre_marks_the_address_for_fachstelle_staff() {
        let html = render(&model(true), &ctx());
        assert!(html.contains(&format!("<p id=\"auskunftssperre\" class=\"warnung\">{ADDRESS_BLOCKED}</p>")), "{html}");
        assert!(html.contains("<p id=\"adresse\" class=\"gesperrt\">Musterweg 7, 30159 Hannover</p>"), "{html}");
    }

    #[test]
    fn sections_forms_and_hooks() {
        let m = model(false);
        let html = render(&m, &ctx());
        for hook in [
            "<section id=\"zeitleiste\">",
            "<section id=\"fristen\">",
            "id=\"ueberweisen\"",
            "id=\"einwilligung\"",
            "id=\"abschliessen\"",
        ] {
            assert!(html.contains(hook), "{hook}");
        }
        let id = m.case.id.as_str();
        assert!(html.contains(&format!("action=\"/faelle/{id}/ueberweisen\"")));
        assert!(html.contains(&format!("action=\"/faelle/{id}/einwilligung\"")));
        assert!(html.contains(&format!("action=\"/faelle/{id}/abschliessen\"")));
        assert!(html.contains(&format!("action=\"/faelle/{id}/stufe\"")));
        // Responsible caseworker, contact attempt, document, refer, consent, stage and close (the
        // revocation form only with a consent in force).
        assert_eq!(html.matches("<input type=\"hidden\" name=\"csrf\" value=\"tok&quot;en\">").count(), 7);
        for field in [
            "name=\"empfaenger\"",
            "name=\"kategorie\"",
            "name=\"daten\" value=\"IDENTITY\"",
            "name=\"antwort_bis\"",
            "name=\"nachricht\"",
            "name=\"form\"",
            "name=\"nachweis\"",
            "name=\"gueltig_bis\"",
            "name=\"schweigepflicht\" value=\"on\"",
            "name=\"ausdruecklich\" value=\"on\"",
            "name=\"personen\"",
            "name=\"ergebnis\"",
            "name=\"mittel\"",
            "name=\"notiz\"",
        ] {
            assert!(html.contains(field), "{field}");
        }
        assert!(html.contains("<option value=\"WOHNUNG_ERHALTEN\">Wohnung erhalten</option>"));
        assert!(html.contains("<option value=\"jobcenter\">Jobcenter (Jobcenter)</option>"));
        let rid = m.referrals[0].referral.id.as_str();
        assert!(html.contains(&format!("<tr class=\"ueberweisung ueberfaellig\" data-referral=\"{rid}\">")));
        assert!(
            html.contains("<td class=\"status\">eingegangen</td>")
                && html.contains("<td class=\"partner\">Jobcenter</td>")
        );
        assert_eq!(html.matches("<li class=\"ereignis\"").count(), 4);
        assert!(html.contains("Jobcenter: Eingang bestätigt (Status: eingegangen)"));
        assert!(html.contains("– Jobcenter (Frau &lt;M&gt;)"));
        assert!(html.contains("Ende der Schonfrist") && html.contains("10.04.2026"));
        assert!(html.contains("Fall eröffnet"));
    }

    #[test]
    fn user_text_is_escaped() {
        let html = render(&model(false), &ctx());
        assert!(!html.contains("<script>") && !html.contains("<i>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("K&lt;i&gt;, Anna"));
    }

    #[test]
    fn a_closed_case_offers_no_forms() {
        let mut m = model(false);
        m.case.closure = Some(
            crate::domain::case::Closure::new(CaseOutcome::KeinKontakt, None, String::new(), Instant::from_millis(0))
                .unwrap(),
        );
        let html = render(&m, &ctx());
        assert!(!html.contains("<form"), "{html}");
        assert!(html.contains("Abgeschlossen am"));
    }

    #[test]
    fn title_names_the_tenant_unless_restricted() {
        let mut m = model(false);
        assert_eq!(title(&m), "Fall K<i>, Anna");
        m.case.restriction =
            Some(crate::domain::case::Restriction { reason: "Art. 18".into(), since: Instant::from_millis(0) });
        assert_eq!(title(&m), format!("Fall {}", m.case.id));
    }
}
