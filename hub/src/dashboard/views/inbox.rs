//! A partner's inbox and one referral in it, as its clerks see them: the list shows no personal data
//! (what the household is shows only on the referral's page, where the read is audited), the page
//! exactly what the mailed link shows, with one form per move the organisation may make and one for a
//! note.

use email_adapter::web::{MoveInput, PageView, SPECIAL_CATEGORIES_HEADING};

use super::{Choice, Ctx, choices, count, esc, instant, labels, render_template, time_day};
use crate::dashboard::form::FormData;
use crate::domain::data_request::DataRequest;
use crate::domain::ids::ReferralId;
use crate::domain::referral::ReferralState;
use crate::domain::time::Day;
use crate::domain::vocab::ReferralCategory;
use crate::service::dashboard::{InboxFilter, InboxModel, InboxRow};

/// The inbox as its template (`templates/dashboard/inbox.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/inbox.html")]
struct Inbox {
    summary: String,
    requests: Vec<RequestRow>,
    csrf: String,
    states: Vec<Choice>,
    categories: Vec<Choice>,
    overdue_only: bool,
    rows: Vec<Row>,
    count: String,
}

/// A request to erase, restrict or rectify data (Art. 19 GDPR), in words.
pub(crate) struct RequestRow {
    pub id: String,
    /// "Bitte löschen", ...
    pub ask: &'static str,
    /// "gelöscht", ...
    pub done: &'static str,
    pub cause: &'static str,
    /// Referral reference and what it was about.
    pub referral: String,
    pub categories: String,
    pub requested: String,
    pub due: String,
    pub overdue: bool,
    /// When and by whom confirmed, if so.
    pub confirmed: Option<String>,
    pub receipt: Option<String>,
}

impl RequestRow {
    pub(crate) fn of(r: &DataRequest, today: Day) -> Self {
        Self {
            id: r.id.to_string(),
            ask: labels::data_request_ask(r.ask()),
            done: labels::data_request_done(r.ask()),
            cause: labels::data_request_cause(r.cause),
            referral: format!(
                "{} ({}) vom {}",
                crate::email::reference(r.referral_id.as_str()),
                labels::category(r.referral_category),
                labels::day(r.requested_at.day())
            ),
            categories: labels::data_request_categories(&r.categories),
            requested: instant(r.requested_at),
            due: labels::day(r.due),
            overdue: r.is_overdue(today),
            confirmed: r.confirmation.as_ref().map(|c| {
                let who = c.by.staff().map(|s| format!(" von {}", s.as_str())).unwrap_or_default();
                format!("am {} Uhr{who}", instant(c.at))
            }),
            receipt: r.confirmation.as_ref().map(|c| c.receipt.clone()),
        }
    }
}

/// One referral in words; `link` and `reply_by` are HTML built escaped.
struct Row {
    referral_id: String,
    overdue: bool,
    link: String,
    sender: String,
    state: &'static str,
    received: String,
    reply_by: String,
}

/// The body of the inbox.
pub fn render(m: &InboxModel, filter: &InboxFilter, ctx: &Ctx) -> String {
    let summary = match (m.open, m.overdue) {
        (0, _) => "Zurzeit ist keine Vermittlung an Ihre Stelle offen.".to_owned(),
        (n, 0) => format!("{} an Ihre Stelle.", count(n, "offene Vermittlung", "offene Vermittlungen")),
        (n, o) => format!(
            "{} an Ihre Stelle, davon {} nicht fristgerecht beantwortet.",
            count(n, "offene Vermittlung", "offene Vermittlungen"),
            o
        ),
    };
    let page = Inbox {
        summary,
        requests: m.requests.iter().map(|r| RequestRow::of(r, ctx.today)).collect(),
        csrf: ctx.csrf.clone(),
        states: choices(ReferralState::ALL, ReferralState::as_str, labels::state, filter.state),
        categories: choices(ReferralCategory::ALL, ReferralCategory::as_str, labels::category, filter.category),
        overdue_only: filter.overdue,
        rows: m.rows.iter().map(row).collect(),
        count: count(m.rows.len(), "Vermittlung", "Vermittlungen"),
    };
    render_template(&page)
}

fn row(r: &InboxRow) -> Row {
    Row {
        referral_id: r.referral_id.to_string(),
        overdue: r.overdue,
        link: format!(
            "<a class=\"vermittlung-link\" href=\"/eingang/{}\">{}</a>",
            esc(r.referral_id.as_str()),
            esc(labels::category(r.category))
        ),
        sender: r.sender.name.clone(),
        state: labels::state(r.state),
        received: instant(r.created_at),
        reply_by: time_day(r.reply_by),
    }
}

/// The page of one request to erase, restrict or rectify data, with its receipt once confirmed.
#[derive(askama::Template)]
#[template(path = "dashboard/inbox_request.html")]
struct RequestPage<'a> {
    r: RequestRow,
    csrf: &'a str,
    just_done: bool,
}

/// The body of a request's page; `just_done` after the confirmation was recorded.
pub fn render_request(r: &DataRequest, ctx: &Ctx, just_done: bool) -> String {
    render_template(&RequestPage { r: RequestRow::of(r, ctx.today), csrf: &ctx.csrf, just_done })
}

/// An action of the page sent back by a rule: which action, the field at fault (empty: the form as
/// a whole), the message, and everything entered.
pub struct ActionEcho {
    /// The move's code, or `NOTE`.
    pub action: String,
    /// The page's name of the field at fault.
    pub field: String,
    /// The message, German.
    pub message: String,
    /// The fields as sent.
    pub values: FormData,
}

/// One move's form.
struct MoveForm {
    code: String,
    label: String,
    /// Reasons to choose from, for a decline or a failure.
    reasons: Option<Vec<Choice>>,
    /// Results to choose from, for a completion.
    results: Option<Vec<Choice>>,
}

/// The referral page as its template (`templates/dashboard/inbox_referral.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/inbox_referral.html")]
struct ReferralPage<'a> {
    v: &'a PageView,
    id: &'a str,
    csrf: &'a str,
    done: Option<String>,
    echo: Option<&'a ActionEcho>,
    moves: Vec<MoveForm>,
    art9_heading: &'static str,
}

impl ReferralPage<'_> {
    /// The message for `field` of `action`'s form, if the rule refused that.
    fn error(&self, action: &str, field: &str) -> Option<&str> {
        self.echo.filter(|e| e.action == action && e.field == field).map(|e| e.message.as_str())
    }

    /// A message of `action`'s form that belongs to no field of it.
    fn form_error(&self, action: &str, fields: &[&str]) -> Option<&str> {
        self.echo.filter(|e| e.action == action && !fields.contains(&e.field.as_str())).map(|e| e.message.as_str())
    }

    /// What was entered in `field` of `action`'s form, when it comes back refused.
    fn value(&self, action: &str, field: &str) -> String {
        self.echo.filter(|e| e.action == action).and_then(|e| e.values.one(field)).unwrap_or_default()
    }
}

/// The fields of a move's form, to tell a field's message from the form's.
const MOVE_FIELDS: &[&str] = &["reason_code", "reason_text", "result", "amount", "effective_date", "summary"];

/// The body of one referral's page; `done` names a finished action (`?erledigt=CODE`).
pub fn render_referral(
    v: &PageView,
    id: &ReferralId,
    ctx: &Ctx,
    echo: Option<&ActionEcho>,
    done: Option<&str>,
) -> String {
    let chosen = |action: &str, field: &str| {
        echo.filter(|e| e.action == action).and_then(|e| e.values.one(field)).unwrap_or_default()
    };
    let moves = v
        .moves
        .iter()
        .map(|m| {
            let options = |list: &[(String, String)], field: &str| {
                let picked = chosen(&m.code, field);
                list.iter()
                    .map(|(code, label)| Choice {
                        value: code.clone(),
                        label: label.clone(),
                        selected: *code == picked,
                    })
                    .collect()
            };
            MoveForm {
                code: m.code.clone(),
                label: m.label.clone(),
                reasons: match &m.input {
                    MoveInput::Reason { codes } => Some(options(codes, "reason_code")),
                    _ => None,
                },
                results: match &m.input {
                    MoveInput::Outcome { results } => Some(options(results, "result")),
                    _ => None,
                },
            }
        })
        .collect();
    let done = done.map(|code| match code {
        "NOTE" => "Die Notiz ist gespeichert; die Fachstelle sieht sie.".to_owned(),
        code => match crate::domain::referral::Move::parse(code) {
            Some(mv) => format!("{}. Stand jetzt: {}.", labels::move_done(mv), v.state),
            None => format!("Erledigt. Stand jetzt: {}.", v.state),
        },
    });
    render_template(&ReferralPage {
        v,
        id: id.as_str(),
        csrf: &ctx.csrf,
        done,
        echo,
        moves,
        art9_heading: SPECIAL_CATEGORIES_HEADING,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::OrgId;
    use crate::domain::time::{Day, Instant};
    use crate::service::dashboard::PartnerRef;
    use email_adapter::web::{MoveOption, Section};

    fn ctx() -> Ctx {
        Ctx { today: Day::parse("2026-01-20").unwrap(), csrf: "t0k".into(), staff_name: "S".into() }
    }

    #[test]
    fn the_inbox_counts_in_the_right_number_and_shows_no_household() {
        let row = InboxRow {
            referral_id: ReferralId::new(),
            sender: PartnerRef { id: OrgId::parse("fachstelle-hannover").unwrap(), name: "Fachstelle <H>".into() },
            category: ReferralCategory::DebtCounselling,
            state: ReferralState::Requested,
            created_at: Instant::from_millis(1_767_949_200_000),
            reply_by: Day::parse("2026-01-16").unwrap(),
            overdue: true,
        };
        let m = InboxModel { rows: vec![row], open: 1, overdue: 1, requests: vec![] };
        let html = render(&m, &InboxFilter::default(), &ctx());
        assert!(html.contains("1 offene Vermittlung an Ihre Stelle, davon 1 nicht fristgerecht"), "{html}");
        assert!(html.contains("Fachstelle &#60;H&#62;") || html.contains("Fachstelle &lt;H&gt;"), "{html}");
        assert!(html.contains("class=\"vermittlung ueberfaellig\""), "{html}");
        let none = render(
            &InboxModel { rows: vec![], open: 0, overdue: 0, requests: vec![] },
            &InboxFilter::default(),
            &ctx(),
        );
        assert!(none.contains("Keine Vermittlungen für diese Auswahl"), "{none}");
    }

    #[test]
    fn a_refused_move_keeps_its_input_and_shows_the_message_at_its_field() {
        let v = PageView {
            reference: "VM-1".into(),
            category: "Schuldnerberatung".into(),
            sections: vec![Section { heading: "Personen".into(), rows: vec![("Mieterin".into(), "<E>".into())] }],
            moves: vec![MoveOption {
                code: "DECLINE".into(),
                label: "Ablehnen".into(),
                input: MoveInput::Reason { codes: vec![("NO_CAPACITY".into(), "Keine Kapazität".into())] },
            }],
            ..PageView::default()
        };
        let echo = ActionEcho {
            action: "DECLINE".into(),
            field: "reason_code".into(),
            message: "Bitte wählen Sie einen Grund.".into(),
            values: FormData::parse(b"aktion=DECLINE&reason_text=voll+belegt"),
        };
        let html = render_referral(&v, &ReferralId::new(), &ctx(), Some(&echo), None);
        assert!(html.contains("id=\"DECLINE-reason_code-fehler\""), "{html}");
        assert!(html.contains(">voll belegt</textarea>"), "{html}");
        assert!(!html.contains("<E>"), "values are escaped: {html}");
    }
}
