//! The referral page: one referral as the Fachstelle follows it up. What was sent and on which legal
//! basis, how the partner is reached, what happened so far, the note thread, and the moves the
//! Fachstelle may make (a note; withdrawing the referral with a reason).

use super::{Choice, Ctx, case_link, choices, instant, labels, render_template, time_day, who};
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

/// One data category sent, with its legal bases in words.
struct DataLine {
    category: &'static str,
    bases: String,
    in_force: bool,
}

/// One handoff.
struct HistoryLine {
    at: String,
    what: String,
    reason: Option<String>,
    /// HTML: who acted, escaped by [`who`].
    who: String,
}

/// One note.
struct NoteLine {
    at: String,
    /// HTML: who wrote it, escaped by [`who`].
    who: String,
    text: String,
}

/// The referral page as its template (`templates/dashboard/referral_page.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/referral_page.html")]
struct Page<'a> {
    title: String,
    done: Option<&'static str>,
    id: String,
    csrf: &'a str,
    /// HTML: the link to the case.
    case: String,
    category: &'static str,
    state: &'static str,
    sent: String,
    /// HTML: a `<time>` element.
    reply_by: String,
    overdue: bool,
    result: Option<String>,
    partner_name: &'a str,
    partner_kind: &'static str,
    partner_mail: Option<&'a str>,
    office_hours: &'a str,
    message: &'a str,
    data: Vec<DataLine>,
    history: Vec<HistoryLine>,
    notes: Vec<NoteLine>,
    open: bool,
    can_withdraw: bool,
    today: String,
    latest_reply: String,
    reasons: Vec<Choice>,
    note_echo: Option<&'a PageEcho>,
    reply_echo: Option<&'a PageEcho>,
    withdraw_echo: Option<&'a PageEcho>,
}

impl Page<'_> {
    /// A field's value as sent with `echo`, empty otherwise.
    fn value(&self, echo: &Option<&PageEcho>, name: &str) -> String {
        PageEcho::value(*echo, name)
    }
}

/// The body of the referral page; `done` names a finished action (`?erledigt=…`).
pub fn render(m: &ReferralPageModel, ctx: &Ctx, echo: Option<&PageEcho>, done: Option<&str>) -> String {
    let r = &m.view.referral;
    let echo_of = |form: &str| echo.filter(|e| e.form == form);
    let chosen_reason = ReasonCode::parse(&PageEcho::value(echo_of("zurueckziehen"), "code"));
    let offered: Vec<ReasonCode> = ReasonCode::ALL.iter().copied().filter(|c| !c.is_hub_only()).collect();
    let page = Page {
        title: title(m),
        done: done.and_then(done_message),
        id: r.id.to_string(),
        csrf: &ctx.csrf,
        case: case_link(&m.case),
        category: labels::category(r.category),
        state: labels::state(r.state),
        sent: instant(r.created_at),
        reply_by: time_day(r.reply_by),
        overdue: m.view.overdue,
        result: r.completion.as_ref().map(|c| match c.amount {
            Some(a) => format!("{}, {}", labels::result(c.result), super::euros(a.get())),
            None => labels::result(c.result).to_owned(),
        }),
        partner_name: &m.partner.name,
        partner_kind: labels::org_kind(m.partner.kind),
        partner_mail: match &m.partner.delivery {
            Delivery::Email(a) => Some(a.as_str()),
            Delivery::Grpc => None,
        },
        office_hours: m.partner.office_hours.trim(),
        message: r.message.trim(),
        data: data_sent(m),
        history: m
            .history
            .iter()
            .map(|(t, by)| HistoryLine {
                at: instant(t.at),
                what: match t.mv {
                    Some(mv) => labels::move_done(mv).to_owned(),
                    None => format!("{} ({})", labels::REFERRAL_SENT, labels::state(t.to)),
                },
                reason: t.reason.as_ref().map(|r| {
                    let code = r.code.map(labels::reason).unwrap_or_default();
                    [code, r.text.trim()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" – ")
                }),
                who: who(by),
            })
            .collect(),
        notes: m
            .notes
            .iter()
            .map(|(n, by)| NoteLine { at: instant(n.created_at), who: who(by), text: n.text.clone() })
            .collect(),
        open: r.state.is_open(),
        can_withdraw: m.view.allowed_moves.contains(&Move::Cancel),
        today: ctx.today.to_string(),
        latest_reply: ctx.today.plus_days(crate::domain::referral::MAX_REPLY_DAYS).to_string(),
        reasons: choices(&offered, ReasonCode::as_str, labels::reason, chosen_reason),
        note_echo: echo_of("notiz"),
        reply_echo: echo_of("frist"),
        withdraw_echo: echo_of("zurueckziehen"),
    };
    render_template(&page)
}

/// What was sent, each category with the bases it rests on and whether one still holds.
fn data_sent(m: &ReferralPageModel) -> Vec<DataLine> {
    m.view
        .referral
        .disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| {
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
            DataLine {
                category: labels::data_category(d.category),
                bases: bases.join(" und "),
                in_force: m.view.in_force.get(i).is_some_and(|v| v.iter().any(|b| *b)),
            }
        })
        .collect()
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
