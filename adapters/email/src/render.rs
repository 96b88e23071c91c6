//! The German mails the hub sends to partners without API access.
//!
//! A mail is a notice, not a file: it names the referral (opaque reference, category, dates,
//! organisations) and links to the protected partner page, where the details are shown after
//! the token is checked. It carries only the fields of [`MailContent`], never personal data of
//! the household, so a mail that lands in a shared inbox or a wrong one discloses nothing.
//!
//! Rendering is a pure function of [`MailContent`]: the same content gives the same mail, which
//! keeps retries identical and makes the output easy to test.

/// What happened; decides the subject and the first sentence of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// A referral was sent to the addressed organisation; an answer is requested.
    NewReferral,
    /// The state of a referral changed (e.g. accepted, declined).
    StateChanged,
    /// Someone added a note to a referral.
    NoteAdded,
    /// An answer is still outstanding and the reply-by date is near.
    Reminder,
    /// The reply-by date has passed without an answer.
    Overdue,
    /// The household's consent ended; the referral can no longer be worked on as before.
    ConsentEnded,
    /// The case behind the referral was closed.
    CaseClosed,
    /// Confirms an action a partner took on the page, with its receipt.
    ActionConfirmed,
    /// The processing of the household's data was restricted (Art. 18 GDPR): the recipient must not
    /// use it until the restriction is lifted (Art. 19 GDPR: every recipient is told).
    ProcessingRestricted,
    /// A restriction of processing was lifted.
    RestrictionLifted,
    /// The case behind the referral was erased (Art. 17 GDPR); the recipient is asked to erase what
    /// it received (Art. 19 GDPR). Never carries a link: the partner page is gone with the case.
    CaseErased,
    /// Data the recipient received about the referral's case was corrected (Art. 16 GDPR); it is
    /// asked to use the corrected data from the partner page and correct its own records (Art. 19
    /// GDPR). Which data is never said: the page shows it.
    CaseDataRectified,
    /// The recipient is asked to confirm that it erased, restricted or rectified data it received
    /// (Art. 19 GDPR); the link opens the request, where it confirms and receives a receipt.
    DataRequest,
}

/// Everything a mail may say. The hub fills it with ready German labels; the adapter adds only
/// fixed wording, so no other data can end up in a mail.
#[derive(Debug, Clone)]
pub struct MailContent {
    /// What happened.
    pub kind: MailKind,
    /// Opaque referral reference, e.g. `V-3F9A2C71`.
    pub reference: String,
    /// German label of the category, e.g. `Schuldnerberatung`.
    pub category: String,
    /// German label of the state after the event, e.g. `abgelehnt`.
    pub state: Option<String>,
    /// Reply-by date as the reader should see it, e.g. `23.01.2026`.
    pub reply_by: Option<String>,
    /// Display name of the organisation the referral comes from.
    pub sender_org: String,
    /// Display name of the organisation this mail is addressed to (used in the greeting).
    pub recipient_org: String,
    /// HTTPS URL of the partner page, token included. Empty: the mail has no link section at all
    /// (always so for [`MailKind::CaseErased`]).
    pub link: String,
    /// Last day the link works, e.g. `23.02.2026`.
    pub link_valid_until: String,
    /// For [`MailKind::ActionConfirmed`]: what was done, in German, e.g. `Annehmen`.
    pub action: Option<String>,
    /// For [`MailKind::ActionConfirmed`]: the receipt text the partner may keep as proof.
    pub receipt: Option<String>,
}

/// A rendered mail: one-line subject, plain text and an equivalent HTML alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// Subject line (single line, no control characters).
    pub subject: String,
    /// `text/plain` body.
    pub text: String,
    /// `text/html` body; every value in it is HTML-escaped.
    pub html: String,
}

/// Renders the German mail for `c`.
///
/// Never fails: optional fields that are absent (or blank) are simply left out, so the hub
/// needs nothing beyond [`MailContent`]. Control characters in values are replaced by spaces
/// so no value can break the subject line or forge lines in the text.
pub fn render(c: &MailContent) -> RenderedMail {
    let v = Values::new(c);
    let subject = subject(&v);
    let intro = intro(&v);
    let facts = facts(&v);
    let text = text_body(&v, &intro, &facts);
    let html = html_body(&v, &subject, &intro, &facts);
    RenderedMail { subject, text, html }
}

const AUTOMATIC: &str = "Diese E-Mail wurde automatisch versandt, bitte nicht antworten.";
const PRIVACY_NO_DATA: &str = "Aus Datenschutzgründen enthält diese E-Mail keine Angaben zur betroffenen Person.";
const PRIVACY_BEHIND_LINK: &str = "Die Einzelheiten sehen Sie nur auf der geschützten Seite hinter dem Link.";
const LINK_PRIVATE: &str = "Er ist nur für Ihre Stelle bestimmt; bitte leiten Sie ihn nicht weiter.";
const RECEIPT_INTRO: &str = "Ihre Quittung (bitte aufbewahren, sie belegt die Aktion):";
const OPEN: &str = "Vorgang öffnen";
/// Style of the small print under the link.
const SMALL: &str = "margin:0 0 16px 0;font-size:13px;color:#555555";
const CLOSING: &str = "Mit freundlichen Grüßen";
const SIGNATURE: &str = "Wohnungserhalt Hub";

/// The content with every value cleaned once: control characters replaced, blanks trimmed,
/// blank optional values treated as absent.
struct Values {
    kind: MailKind,
    reference: String,
    category: String,
    state: Option<String>,
    reply_by: Option<String>,
    sender_org: String,
    recipient_org: String,
    link: String,
    link_valid_until: String,
    action: Option<String>,
    receipt: Option<String>,
}

impl Values {
    fn new(c: &MailContent) -> Self {
        Self {
            kind: c.kind,
            reference: clean(&c.reference),
            category: clean(&c.category),
            state: clean_opt(c.state.as_deref()),
            reply_by: clean_opt(c.reply_by.as_deref()),
            sender_org: clean(&c.sender_org),
            recipient_org: clean(&c.recipient_org),
            // An erased case has no page to link to, whatever the caller passed.
            link: if c.kind == MailKind::CaseErased { String::new() } else { clean(&c.link) },
            link_valid_until: clean(&c.link_valid_until),
            action: clean_opt(c.action.as_deref()),
            receipt: clean_opt(c.receipt.as_deref()),
        }
    }

    /// Whether this kind asks the reader for an answer (then the date reads "Antwort erbeten
    /// bis"); for closed, ended or confirmed referrals a date is only a "Frist", so the mail
    /// does not invite a reply that nobody expects.
    fn expects_answer(&self) -> bool {
        matches!(
            self.kind,
            MailKind::NewReferral
                | MailKind::StateChanged
                | MailKind::NoteAdded
                | MailKind::Reminder
                | MailKind::Overdue
        )
    }

    /// Whether the mail has a link section (the link, its validity, the button).
    fn has_link(&self) -> bool {
        !self.link.is_empty()
    }

    /// The privacy note; it points to the page only when there is a link to it.
    fn privacy(&self) -> String {
        if self.has_link() { format!("{PRIVACY_NO_DATA} {PRIVACY_BEHIND_LINK}") } else { PRIVACY_NO_DATA.to_owned() }
    }

    /// "V-3F9A2C71 (Schuldnerberatung)", or the bare reference without a category.
    fn reference_and_category(&self) -> String {
        if self.category.is_empty() {
            self.reference.clone()
        } else {
            format!("{} ({})", self.reference, self.category)
        }
    }
}

fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

fn clean_opt(s: Option<&str>) -> Option<String> {
    s.map(clean).filter(|s| !s.is_empty())
}

fn subject(v: &Values) -> String {
    let rc = v.reference_and_category();
    let base = match v.kind {
        MailKind::NewReferral => format!("Neue Vermittlung {rc}"),
        MailKind::StateChanged => match &v.state {
            Some(state) => format!("Vermittlung {rc}: Status „{state}“"),
            None => format!("Vermittlung {rc}: Status geändert"),
        },
        MailKind::NoteAdded => format!("Neue Notiz zur Vermittlung {rc}"),
        MailKind::Reminder => format!("Erinnerung: Vermittlung {rc}"),
        MailKind::Overdue => format!("Frist überschritten: Vermittlung {rc}"),
        MailKind::ConsentEnded => format!("Einwilligung beendet: Vermittlung {rc}"),
        MailKind::CaseClosed => format!("Abgeschlossen: Vermittlung {rc}"),
        MailKind::ActionConfirmed => match &v.action {
            Some(action) => format!("Bestätigung „{action}“: Vermittlung {rc}"),
            None => format!("Bestätigung: Vermittlung {rc}"),
        },
        MailKind::ProcessingRestricted => format!("Verarbeitung eingeschränkt: Vermittlung {rc}"),
        MailKind::RestrictionLifted => format!("Einschränkung aufgehoben: Vermittlung {rc}"),
        MailKind::CaseErased => format!("Gelöscht: Vermittlung {rc}"),
        MailKind::CaseDataRectified => format!("Berichtigt: Vermittlung {rc}"),
        MailKind::DataRequest => format!("Bitte um Bestätigung: Vermittlung {rc}"),
    };
    match (&v.reply_by, v.kind) {
        (Some(date), MailKind::Overdue) => format!("{base} – Antwort war erbeten bis {date}"),
        (Some(date), _) if v.expects_answer() => format!("{base} – Antwort erbeten bis {date}"),
        _ => base,
    }
}

/// The one or two sentences after the greeting (plain text; the HTML escapes it whole).
/// After the comma of the greeting a sentence continues in lower case, as German letters do.
fn intro(v: &Values) -> String {
    let r = &v.reference;
    let answer_by = |fallback: &str| match &v.reply_by {
        Some(date) => format!(" Bitte antworten Sie bis zum {date}."),
        None => fallback.to_owned(),
    };
    match v.kind {
        MailKind::NewReferral => {
            let what = if v.category.is_empty() {
                "eine neue Vermittlung".to_owned()
            } else {
                format!("eine neue Vermittlung im Bereich {}", v.category)
            };
            let who = if v.sender_org.is_empty() { "eine Stelle" } else { v.sender_org.as_str() };
            let when = match &v.reply_by {
                Some(date) => format!("bis zum {date}"),
                None => "möglichst bald".to_owned(),
            };
            format!("{who} hat Ihnen {what} übermittelt. Bitte prüfen Sie die Vermittlung und antworten Sie {when}.")
        }
        MailKind::StateChanged => {
            let first = match &v.state {
                Some(state) => format!("der Status der Vermittlung {r} hat sich geändert. Er lautet jetzt „{state}“."),
                None => format!("der Status der Vermittlung {r} hat sich geändert."),
            };
            format!("{first}{}", answer_by(""))
        }
        MailKind::NoteAdded => {
            format!(
                "zur Vermittlung {r} wurde eine neue Notiz hinterlegt. Sie können sie auf der geschützten Seite lesen.{}",
                answer_by("")
            )
        }
        MailKind::Reminder => match &v.reply_by {
            Some(date) => {
                format!("wir erinnern freundlich an die Vermittlung {r}. Eine Antwort ist bis zum {date} erbeten.")
            }
            None => format!("wir erinnern freundlich an die Vermittlung {r}. Eine Antwort steht noch aus."),
        },
        MailKind::Overdue => match &v.reply_by {
            Some(date) => format!(
                "für die Vermittlung {r} war eine Antwort bis zum {date} erbeten; diese Frist ist abgelaufen. \
                 Bitte antworten Sie so bald wie möglich."
            ),
            None => format!(
                "für die Vermittlung {r} ist die Antwortfrist abgelaufen. Bitte antworten Sie so bald wie möglich."
            ),
        },
        MailKind::ConsentEnded => format!(
            "die Einwilligung der betroffenen Person zur Vermittlung {r} ist beendet. \
             Den aktuellen Stand finden Sie auf der geschützten Seite."
        ),
        MailKind::CaseClosed => {
            format!("die Vermittlung {r} ist abgeschlossen. Vielen Dank für Ihre Mitarbeit.")
        }
        MailKind::ProcessingRestricted => format!(
            "die betroffene Person hat verlangt, die Verarbeitung ihrer Daten einzuschränken (Art. 18 DSGVO). \
             Bitte verwenden Sie die Daten, die Sie zur Vermittlung {r} erhalten haben, bis auf Weiteres nicht; \
             speichern dürfen Sie sie weiter. Wir informieren Sie, sobald die Einschränkung aufgehoben ist."
        ),
        MailKind::RestrictionLifted => format!(
            "die Einschränkung der Verarbeitung zur Vermittlung {r} ist aufgehoben. \
             Sie können die Daten wieder im Rahmen der Vermittlung verwenden."
        ),
        MailKind::CaseErased => format!(
            "die Daten zur Vermittlung {r} wurden auf Verlangen der betroffenen Person oder nach Ablauf der \
             Aufbewahrungsfrist gelöscht (Art. 17 DSGVO). Bitte löschen Sie auch die Daten, die Sie zu dieser \
             Vermittlung erhalten haben, soweit Sie nicht selbst zur Aufbewahrung verpflichtet sind (Art. 19 DSGVO)."
        ),
        MailKind::CaseDataRectified => format!(
            "die Angaben zur Vermittlung {r} wurden berichtigt (Art. 16 DSGVO). Bitte verwenden Sie ab jetzt \
             die berichtigten Angaben auf der geschützten Seite und berichtigen Sie Ihre eigenen Unterlagen \
             (Art. 19 DSGVO)."
        ),
        MailKind::DataRequest => format!(
            "wir haben Sie über eine Änderung zur Vermittlung {r} informiert. Bitte löschen, beschränken oder \
             berichtigen Sie die Daten, die Sie dazu erhalten haben, wie auf der geschützten Seite beschrieben \
             (Art. 19 DSGVO), und bestätigen Sie dort, sobald Sie es erledigt haben."
        ),
        MailKind::ActionConfirmed => {
            let first = match &v.action {
                Some(action) => format!("Ihre Aktion „{action}“ zur Vermittlung {r} wurde ausgeführt."),
                None => format!("Ihre Aktion zur Vermittlung {r} wurde ausgeführt."),
            };
            let second = if v.receipt.is_some() {
                " Diese E-Mail bestätigt sie; die Quittung finden Sie unten."
            } else {
                " Diese E-Mail bestätigt sie."
            };
            format!("{first}{second}")
        }
    }
}

/// The label/value lines under the intro. The recipient is named in the greeting, not here,
/// because the addressed organisation is not always the one the referral was sent to.
fn facts(v: &Values) -> Vec<(&'static str, String)> {
    let mut rows = vec![("Referenz", v.reference.clone())];
    if !v.category.is_empty() {
        rows.push(("Bereich", v.category.clone()));
    }
    if let Some(state) = &v.state {
        rows.push(("Status", state.clone()));
    }
    if let Some(date) = &v.reply_by {
        rows.push((if v.expects_answer() { "Antwort erbeten bis" } else { "Frist" }, date.clone()));
    }
    if let Some(action) = &v.action {
        rows.push(("Aktion", action.clone()));
    }
    if !v.sender_org.is_empty() {
        rows.push(("Vermittelt von", v.sender_org.clone()));
    }
    rows
}

fn greeting(v: &Values) -> String {
    if v.recipient_org.is_empty() {
        "Guten Tag,".to_owned()
    } else {
        format!("Sehr geehrtes Team von {},", v.recipient_org)
    }
}

fn link_validity(v: &Values) -> String {
    if v.link_valid_until.is_empty() {
        format!("Der Link ist nur begrenzt gültig. {LINK_PRIVATE}")
    } else {
        format!("Der Link ist bis zum {} gültig. {LINK_PRIVATE}", v.link_valid_until)
    }
}

fn text_body(v: &Values, intro: &str, facts: &[(&str, String)]) -> String {
    let mut t = String::with_capacity(1024);
    t.push_str(&greeting(v));
    t.push_str("\n\n");
    t.push_str(intro);
    t.push_str("\n\n");
    for (label, value) in facts {
        t.push_str(label);
        t.push_str(": ");
        t.push_str(value);
        t.push('\n');
    }
    t.push('\n');
    if v.has_link() {
        t.push_str(OPEN);
        t.push_str(":\n");
        t.push_str(&v.link);
        t.push_str("\n\n");
        t.push_str(&link_validity(v));
        t.push_str("\n\n");
    }
    t.push_str(&v.privacy());
    t.push_str("\n\n");
    if let Some(receipt) = &v.receipt {
        t.push_str(RECEIPT_INTRO);
        t.push('\n');
        t.push_str(receipt);
        t.push_str("\n\n");
    }
    t.push_str(CLOSING);
    t.push('\n');
    t.push_str(SIGNATURE);
    t.push_str("\n\n-- \n");
    t.push_str(AUTOMATIC);
    t.push('\n');
    t
}

/// Only web links become a clickable button; anything else (a misconfigured public URL, a
/// `javascript:` URL) is shown as text, so the HTML can never carry an active link of another
/// scheme.
fn is_web_link(link: &str) -> bool {
    let lower = link.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn html_body(v: &Values, subject: &str, intro: &str, facts: &[(&str, String)]) -> String {
    const P: &str = "margin:0 0 16px 0";
    let mut h = String::with_capacity(4096);
    h.push_str("<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    h.push_str(&escape(subject));
    h.push_str("</title>\n</head>\n");
    h.push_str(
        "<body style=\"margin:0;padding:24px;background:#ffffff;color:#1a1a1a;\
         font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5\">\n",
    );
    h.push_str("<div style=\"max-width:600px\">\n");
    push_p(&mut h, P, &escape(&greeting(v)));
    push_p(&mut h, P, &escape(intro));

    h.push_str("<table role=\"presentation\" style=\"border-collapse:collapse;margin:0 0 16px 0\">\n");
    for (label, value) in facts {
        h.push_str("<tr><td style=\"padding:2px 16px 2px 0;color:#555555;vertical-align:top\">");
        h.push_str(&escape(label));
        h.push_str("</td><td style=\"padding:2px 0;font-weight:bold\">");
        h.push_str(&escape(value));
        h.push_str("</td></tr>\n");
    }
    h.push_str("</table>\n");

    if v.has_link() {
        push_link(&mut h, v);
    }
    push_p(&mut h, P, &escape(&v.privacy()));

    if let Some(receipt) = &v.receipt {
        push_p(&mut h, "margin:0 0 4px 0", &escape(RECEIPT_INTRO));
        h.push_str(
            "<p style=\"margin:0 0 16px 0;padding:8px;background:#f3f3f3;font-family:monospace;\
             font-size:13px;word-break:break-all\">",
        );
        h.push_str(&escape(receipt));
        h.push_str("</p>\n");
    }

    push_p(&mut h, P, &format!("{}<br>\n{}", escape(CLOSING), escape(SIGNATURE)));
    h.push_str("<hr style=\"border:none;border-top:1px solid #dddddd;margin:24px 0 8px 0\">\n");
    push_p(&mut h, "margin:0;font-size:12px;color:#777777", &escape(AUTOMATIC));
    h.push_str("</div>\n</body>\n</html>\n");
    h
}

/// The link section of the HTML body: a button for a web link (else the link as text) and its
/// validity.
fn push_link(h: &mut String, v: &Values) {
    let link = escape(&v.link);
    if is_web_link(&v.link) {
        h.push_str("<p style=\"margin:0 0 8px 0\"><a href=\"");
        h.push_str(&link);
        h.push_str(
            "\" style=\"display:inline-block;padding:10px 20px;background:#1f5f99;color:#ffffff;\
             text-decoration:none;border-radius:4px;font-weight:bold\">",
        );
        h.push_str(&escape(OPEN));
        h.push_str("</a></p>\n");
        push_p(
            h,
            "margin:0 0 16px 0;font-size:13px;color:#555555;word-break:break-all",
            &format!("Falls die Schaltfläche nicht funktioniert: {link}"),
        );
    } else {
        push_p(h, "margin:0 0 16px 0;word-break:break-all", &format!("{}: {link}", escape(OPEN)));
    }
    push_p(h, SMALL, &escape(&link_validity(v)));
}

/// Appends `<p style=..>inner</p>`; `inner` must already be escaped.
fn push_p(h: &mut String, style: &str, inner: &str) {
    h.push_str("<p style=\"");
    h.push_str(style);
    h.push_str("\">");
    h.push_str(inner);
    h.push_str("</p>\n");
}

/// Escapes text for HTML element content and double- or single-quoted attribute values (used by
/// the mails and the partner page alike, and by the hub's reports and views).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds whose mails link to the partner page.
    const LINKED: [MailKind; 12] = [
        MailKind::DataRequest,
        MailKind::NewReferral,
        MailKind::StateChanged,
        MailKind::NoteAdded,
        MailKind::Reminder,
        MailKind::Overdue,
        MailKind::ConsentEnded,
        MailKind::CaseClosed,
        MailKind::ActionConfirmed,
        MailKind::ProcessingRestricted,
        MailKind::RestrictionLifted,
        MailKind::CaseDataRectified,
    ];

    const ALL: [MailKind; 13] = [
        MailKind::DataRequest,
        MailKind::NewReferral,
        MailKind::StateChanged,
        MailKind::NoteAdded,
        MailKind::Reminder,
        MailKind::Overdue,
        MailKind::ConsentEnded,
        MailKind::CaseClosed,
        MailKind::ActionConfirmed,
        MailKind::ProcessingRestricted,
        MailKind::RestrictionLifted,
        MailKind::CaseErased,
        MailKind::CaseDataRectified,
    ];

    fn full(kind: MailKind) -> MailContent {
        MailContent {
            kind,
            reference: "V-3F9A2C71".to_owned(),
            category: "Schuldnerberatung".to_owned(),
            state: Some("abgelehnt".to_owned()),
            reply_by: Some("23.01.2026".to_owned()),
            sender_org: "Jobcenter Region Hannover".to_owned(),
            recipient_org: "Diakonisches Werk Hannover".to_owned(),
            link: "https://hub.example.org/v/V-3F9A2C71?t=L1.abc.def".to_owned(),
            link_valid_until: "23.02.2026".to_owned(),
            action: Some("Annehmen".to_owned()),
            receipt: Some("Q1.eyJpZCI6IjEifQ.c2lnbmF0dXJl".to_owned()),
        }
    }

    fn minimal(kind: MailKind) -> MailContent {
        MailContent {
            kind,
            reference: "V-00000001".to_owned(),
            category: "Mietschuldenübernahme".to_owned(),
            state: None,
            reply_by: None,
            sender_org: "Fachbereich Soziales".to_owned(),
            recipient_org: "Mieterverein".to_owned(),
            link: "https://hub.example.org/v/V-00000001?t=x".to_owned(),
            link_valid_until: "01.03.2026".to_owned(),
            action: None,
            receipt: None,
        }
    }

    fn values(c: &MailContent) -> Vec<String> {
        let mut v = vec![
            c.reference.clone(),
            c.category.clone(),
            c.sender_org.clone(),
            c.recipient_org.clone(),
            c.link.clone(),
            c.link_valid_until.clone(),
        ];
        v.extend([&c.state, &c.reply_by, &c.action, &c.receipt].into_iter().flatten().cloned());
        v
    }

    #[test]
    fn example_subject_of_a_new_referral() {
        let m = render(&full(MailKind::NewReferral));
        assert_eq!(m.subject, "Neue Vermittlung V-3F9A2C71 (Schuldnerberatung) – Antwort erbeten bis 23.01.2026");
    }

    #[test]
    fn every_field_value_appears_in_text_and_html_for_every_kind() {
        for kind in LINKED {
            for c in [full(kind), minimal(kind)] {
                let m = render(&c);
                for value in values(&c) {
                    assert!(m.text.contains(&value), "{kind:?}: text lacks {value:?}\n{}", m.text);
                    assert!(m.html.contains(&escape(&value)), "{kind:?}: html lacks {value:?}\n{}", m.html);
                }
                assert!(m.subject.contains(&c.reference), "{kind:?}: {}", m.subject);
                assert!(m.subject.contains(&c.category), "{kind:?}: {}", m.subject);
            }
        }
    }

    #[test]
    fn every_mail_has_greeting_link_privacy_note_and_footer() {
        for kind in LINKED {
            for c in [full(kind), minimal(kind)] {
                let m = render(&c);
                for body in [&m.text, &m.html] {
                    assert!(body.contains(&format!("Sehr geehrtes Team von {}", c.recipient_org)), "{kind:?}");
                    assert!(body.contains("Vorgang öffnen"), "{kind:?}");
                    assert!(body.contains(&format!("bis zum {} gültig", c.link_valid_until)), "{kind:?}");
                    assert!(body.contains("Datenschutz"), "{kind:?}");
                    assert!(body.contains("geschützten Seite"), "{kind:?}");
                    assert!(body.contains("automatisch versandt, bitte nicht antworten"), "{kind:?}");
                }
                assert!(m.html.contains(&format!("<a href=\"{}\"", escape(&c.link))), "{kind:?}");
            }
        }
    }

    #[test]
    fn subjects_name_the_kind_and_differ_per_kind() {
        let subjects: Vec<String> = ALL.iter().map(|k| render(&full(*k)).subject).collect();
        for (i, a) in subjects.iter().enumerate() {
            for b in &subjects[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let s = |k| render(&full(k)).subject;
        assert!(s(MailKind::Reminder).starts_with("Erinnerung"));
        assert!(s(MailKind::Overdue).starts_with("Frist überschritten"));
        assert!(s(MailKind::Overdue).ends_with("Antwort war erbeten bis 23.01.2026"));
        assert!(s(MailKind::StateChanged).contains("„abgelehnt“"));
        assert!(s(MailKind::ActionConfirmed).contains("„Annehmen“"));
        assert!(s(MailKind::NoteAdded).contains("Notiz"));
        assert!(s(MailKind::ConsentEnded).contains("Einwilligung"));
        // Nothing to answer for closed, ended or confirmed referrals: no reply-by in the subject.
        for k in [MailKind::CaseClosed, MailKind::ConsentEnded, MailKind::ActionConfirmed] {
            assert!(!s(k).contains("23.01.2026"), "{k:?}");
            assert!(render(&full(k)).text.contains("Frist: 23.01.2026"), "{k:?}");
        }
    }

    #[test]
    fn html_escapes_every_value() {
        let evil = "<script>alert(\"x\")</script> & 'q'";
        let mut c = full(MailKind::ActionConfirmed);
        c.reference = evil.to_owned();
        c.category = evil.to_owned();
        c.state = Some(evil.to_owned());
        c.reply_by = Some(evil.to_owned());
        c.sender_org = evil.to_owned();
        c.recipient_org = evil.to_owned();
        c.link = "https://hub.example.org/v/1?t=\"><script>x</script>&a='b'".to_owned();
        c.link_valid_until = evil.to_owned();
        c.action = Some(evil.to_owned());
        c.receipt = Some(evil.to_owned());
        for kind in LINKED {
            c.kind = kind;
            let m = render(&c);
            assert!(!m.html.contains("<script"), "{kind:?}\n{}", m.html);
            assert!(!m.html.contains("\"x\""), "{kind:?}");
            assert!(!m.html.contains("'q'"), "{kind:?}");
            assert!(m.html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"));
            assert!(m.html.contains("href=\"https://hub.example.org/v/1?t=&quot;&gt;&lt;script&gt;"));
            // The plain text shows the values as they are (it is not interpreted).
            assert!(m.text.contains(evil));
        }
    }

    #[test]
    fn a_link_of_another_scheme_is_never_clickable() {
        let mut c = full(MailKind::NewReferral);
        c.link = "javascript:alert(1)".to_owned();
        let m = render(&c);
        assert!(!m.html.contains("href="), "{}", m.html);
        assert!(m.html.contains("javascript:alert(1)"));
        assert!(m.text.contains("javascript:alert(1)"));
    }

    #[test]
    fn nothing_beyond_the_given_fields_is_needed() {
        for kind in ALL {
            let m = render(&minimal(kind));
            for body in [&m.subject, &m.text, &m.html] {
                for artefact in ["None", "Some(", "{", "}", "„“", "()", " .", "bis zum .", "Status: \n", "Frist"] {
                    // "Frist" is legitimate for Overdue ("Frist überschritten") only.
                    if artefact == "Frist" && kind == MailKind::Overdue {
                        continue;
                    }
                    assert!(!body.contains(artefact), "{kind:?}: {artefact:?} in\n{body}");
                }
            }
            assert!(!m.text.contains("Status:"), "{kind:?}");
            assert!(!m.text.contains("Aktion:"), "{kind:?}");
            assert!(!m.text.contains("Quittung"), "{kind:?}");
        }
        // Even empty strings everywhere render a readable mail.
        let empty = MailContent {
            kind: MailKind::NewReferral,
            reference: String::new(),
            category: String::new(),
            state: Some("  ".to_owned()),
            reply_by: Some(String::new()),
            sender_org: String::new(),
            recipient_org: String::new(),
            link: String::new(),
            link_valid_until: String::new(),
            action: None,
            receipt: None,
        };
        let m = render(&empty);
        assert!(m.text.starts_with("Guten Tag,"));
        assert!(!m.subject.contains("()"));
        assert!(!m.text.contains("„“"));
    }

    #[test]
    fn control_characters_cannot_break_lines() {
        let mut c = full(MailKind::StateChanged);
        c.reference = "V-1\r\nBcc: someone@example.org".to_owned();
        c.state = Some("angenommen\nFrist: morgen".to_owned());
        let m = render(&c);
        assert!(!m.subject.chars().any(char::is_control), "{:?}", m.subject);
        assert!(m.text.contains("Referenz: V-1  Bcc: someone@example.org\n"));
        assert!(!m.text.contains("\nFrist: morgen"));
    }

    #[test]
    fn german_wording_is_polite_and_utf8() {
        let m = render(&full(MailKind::NewReferral));
        assert!(m.text.starts_with("Sehr geehrtes Team von Diakonisches Werk Hannover,\n\n"));
        assert!(m.text.contains(
            "Jobcenter Region Hannover hat Ihnen eine neue Vermittlung im Bereich Schuldnerberatung übermittelt. \
             Bitte prüfen Sie die Vermittlung und antworten Sie bis zum 23.01.2026."
        ));
        assert!(m.text.contains("Mit freundlichen Grüßen\nWohnungserhalt Hub\n"));
        assert!(m.html.contains("<html lang=\"de\">"));
        assert!(m.html.contains("<meta charset=\"utf-8\">"));
        let m = render(&full(MailKind::ActionConfirmed));
        assert!(m.text.contains("Ihre Aktion „Annehmen“ zur Vermittlung V-3F9A2C71 wurde ausgeführt."));
        assert!(m.text.contains("Quittung (bitte aufbewahren"));
    }

    #[test]
    fn rendering_is_deterministic() {
        for kind in ALL {
            assert_eq!(render(&full(kind)), render(&full(kind)));
        }
    }

    #[test]
    fn an_erasure_mail_asks_to_erase_and_carries_no_link() {
        // Even when a link is passed: the page is gone with the case.
        let c = full(MailKind::CaseErased);
        let m = render(&c);
        assert_eq!(m.subject, "Gelöscht: Vermittlung V-3F9A2C71 (Schuldnerberatung)");
        assert!(m.text.starts_with("Sehr geehrtes Team von Diakonisches Werk Hannover,\n\n"), "{}", m.text);
        let intro = "die Daten zur Vermittlung V-3F9A2C71 wurden auf Verlangen der betroffenen Person oder nach \
                     Ablauf der Aufbewahrungsfrist gelöscht (Art. 17 DSGVO). Bitte löschen Sie auch die Daten, die \
                     Sie zu dieser Vermittlung erhalten haben, soweit Sie nicht selbst zur Aufbewahrung verpflichtet \
                     sind (Art. 19 DSGVO).";
        assert!(m.text.contains(intro), "{}", m.text);
        assert!(m.html.contains(intro), "{}", m.html);
        for body in [&m.text, &m.html] {
            for value in [&c.reference, &c.category, &c.sender_org, &c.recipient_org] {
                assert!(body.contains(value.as_str()), "lacks {value:?}\n{body}");
            }
            let link_block =
                ["https://", "href=", "Vorgang öffnen", "gültig", "Link", "geschützten Seite", "Schaltfläche"];
            for absent in link_block {
                assert!(!body.contains(absent), "{absent:?} in\n{body}");
            }
            assert!(body.contains("Aus Datenschutzgründen enthält diese E-Mail keine Angaben zur betroffenen Person."));
            assert!(body.contains("automatisch versandt, bitte nicht antworten"));
        }
        // Nothing to answer: no reply-by date asked for.
        assert!(!m.subject.contains("23.01.2026"));
        assert!(!m.text.contains("Antwort erbeten"));
    }

    #[test]
    fn a_rectification_mail_asks_to_use_the_corrected_data_and_links_to_the_page() {
        let c = full(MailKind::CaseDataRectified);
        let m = render(&c);
        assert_eq!(m.subject, "Berichtigt: Vermittlung V-3F9A2C71 (Schuldnerberatung)");
        assert!(m.text.starts_with("Sehr geehrtes Team von Diakonisches Werk Hannover,\n\n"), "{}", m.text);
        let intro = "die Angaben zur Vermittlung V-3F9A2C71 wurden berichtigt (Art. 16 DSGVO). Bitte verwenden Sie \
                     ab jetzt die berichtigten Angaben auf der geschützten Seite und berichtigen Sie Ihre eigenen \
                     Unterlagen (Art. 19 DSGVO).";
        for body in [&m.text, &m.html] {
            assert!(body.contains(intro), "{body}");
            assert!(body.contains("Vorgang öffnen"), "{body}");
            assert!(body.contains("bis zum 23.02.2026 gültig"), "{body}");
            assert!(body.contains("Aus Datenschutzgründen enthält diese E-Mail keine Angaben zur betroffenen Person."));
        }
        assert!(m.text.contains(&c.link), "{}", m.text);
        assert!(m.html.contains(&format!("<a href=\"{}\"", escape(&c.link))), "{}", m.html);
        // Nothing to answer: the reply-by date is only a "Frist", never asked for in the subject.
        assert!(!m.subject.contains("23.01.2026"));
        assert!(!m.text.contains("Antwort erbeten"));
        assert!(m.text.contains("Frist: 23.01.2026"), "{}", m.text);
    }

    #[test]
    fn an_empty_link_leaves_out_the_whole_link_block() {
        for kind in ALL {
            let mut c = minimal(kind);
            c.link = String::new();
            c.link_valid_until = String::new();
            let m = render(&c);
            for body in [&m.text, &m.html] {
                for absent in ["Vorgang öffnen", "gültig", "href=", "Schaltfläche", "hinter dem Link"] {
                    assert!(!body.contains(absent), "{kind:?}: {absent:?} in\n{body}");
                }
                assert!(body.contains(&format!("Sehr geehrtes Team von {}", c.recipient_org)), "{kind:?}");
                assert!(body.contains("Aus Datenschutzgründen"), "{kind:?}");
                assert!(body.contains("automatisch versandt, bitte nicht antworten"), "{kind:?}");
            }
            assert!(m.text.contains("Vermittelt von: Fachbereich Soziales\n\nAus Datenschutzgründen"), "{kind:?}");
        }
        // With a link the block is there as before, followed by the note pointing to the page.
        let m = render(&minimal(MailKind::CaseClosed));
        assert!(m.text.contains(
            "Vermittelt von: Fachbereich Soziales\n\nVorgang öffnen:\nhttps://hub.example.org/v/V-00000001?t=x\n\n\
             Der Link ist bis zum 01.03.2026 gültig. Er ist nur für Ihre Stelle bestimmt; bitte leiten Sie ihn nicht \
             weiter.\n\nAus Datenschutzgründen enthält diese E-Mail keine Angaben zur betroffenen Person. Die \
             Einzelheiten sehen Sie nur auf der geschützten Seite hinter dem Link.\n\n"
        ));
    }
}
