//! The triage page of one new notice ("Meldung sichten"): what was reported, the deadlines it starts,
//! whether the tenant consented, the cases it may belong to, and the choice where it goes.

use super::{Ctx, case_link, euros, instant, labels, render_template, time_day};
use crate::domain::matching::{MatchReason, Suggestion};
use crate::domain::notice::NoticeData;
use crate::service::{NoticeTriage, SuggestedCase};

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

/// How the page shows one reported fact.
enum Shown {
    /// Text, escaped by the template.
    Text(String),
    /// HTML built escaped by the shared helpers (a `<time>` element).
    Html(String),
    /// Several lines of text.
    Lines(Vec<String>),
    /// Not shown, and why.
    Withheld(&'static str),
}

/// One reported fact.
struct Fact {
    label: &'static str,
    value: Shown,
}

/// A deadline the notice starts.
struct DeadlineLine {
    /// HTML: a `<time>` element.
    day: String,
    kind: String,
    notes: Vec<String>,
}

/// A case the notice may belong to.
struct SuggestionLine {
    case_id: String,
    /// HTML: the link to the case.
    case: String,
    /// HTML: a `<time>` element.
    opened: String,
    /// HTML: a `<time>` element, for a closed case.
    closed: Option<String>,
    tenancy_reference: String,
    why: String,
}

/// An open case the notice can be added to.
struct Target {
    case_id: String,
    name: String,
    /// HTML: a `<time>` element.
    opened: String,
}

/// The triage page as its template (`templates/dashboard/triage.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/triage.html")]
struct Page {
    recorded: bool,
    facts: Vec<Fact>,
    basis: String,
    deadlines: Vec<DeadlineLine>,
    suggestions: Vec<SuggestionLine>,
    notice_id: String,
    csrf: String,
    error: Option<String>,
    targets: Vec<Target>,
}

/// The body of the triage page.
pub fn render(p: &TriagePage<'_>, ctx: &Ctx) -> String {
    let t = p.triage;
    let n = &t.item.notice;
    let page = Page {
        recorded: p.recorded,
        facts: facts(p),
        basis: basis(&n.data),
        deadlines: t
            .item
            .deadlines
            .iter()
            .map(|d| DeadlineLine {
                day: time_day(d.date),
                kind: labels::deadline_kind(&d.kind),
                notes: d
                    .provisional
                    .then(|| "vorläufig (Datum nicht bestätigt)".to_owned())
                    .into_iter()
                    .chain(d.warnings.iter().map(|w| w.de()))
                    .collect(),
            })
            .collect(),
        suggestions: t.suggestions.iter().map(|(s, c)| suggestion(s, c)).collect(),
        notice_id: n.id.to_string(),
        csrf: ctx.csrf.clone(),
        error: p.error.clone(),
        targets: t
            .suggestions
            .iter()
            .filter(|(_, c)| c.closed.is_none())
            .map(|(s, c)| Target {
                case_id: s.case_id.to_string(),
                name: c.label.name.clone().unwrap_or_else(|| "Fall (Name nicht angezeigt)".to_owned()),
                opened: time_day(c.opened),
            })
            .collect(),
    };
    render_template(&page)
}

/// What was reported, as label and value.
fn facts(p: &TriagePage<'_>) -> Vec<Fact> {
    let n = &p.triage.item.notice;
    let mut out = vec![Fact { label: "Eingang", value: Shown::Text(instant(n.received_at)) }];
    let mut fact = |label, value| out.push(Fact { label, value });
    let text = |s: &str| Shown::Text(s.to_owned());
    let day = |d| Shown::Html(time_day(d));
    match &n.data {
        NoticeData::Arrears(a) => {
            fact("Von", text(p.from.as_deref().unwrap_or("–")));
            fact(
                "Name",
                match a.tenant.as_ref().filter(|_| a.consent_evidence.is_some()) {
                    Some(t) => Shown::Text(t.list_name()),
                    None => Shown::Withheld("nicht übermittelt (ohne Einwilligung)"),
                },
            );
            fact("Stufe", text(labels::stage(a.stage)));
            if let Some(d) = a.stage_date {
                fact("Stufe erreicht am", day(d));
            }
            fact("Mietvertragsnummer", text(&a.tenancy_reference));
            fact("Stadtbezirk", text(labels::district(a.stadtbezirk)));
            fact("Mietrückstand", Shown::Text(euros(a.arrears_total.get())));
            fact("Monatsmiete", Shown::Text(euros(a.rent.total_cents())));
            for (label, d) in [
                ("Kündigung zugegangen am", a.termination_date),
                ("Räumungsklage zugestellt am", a.claim_served),
                ("Räumungstermin", a.eviction_date),
            ] {
                if let Some(d) = d {
                    fact(label, day(d));
                }
            }
        }
        NoticeData::Court(c) => {
            fact("Von", text("Amtsgericht (MiZi)"));
            fact("Beklagte", Shown::Lines(c.tenants.iter().map(|t| t.list_name()).collect()));
            fact("Aktenzeichen", text(&c.court_file_number));
            fact("Vermieter", text(&c.landlord_name));
            fact("Klage eingegangen am", day(c.claim_received));
            fact("Klage zugestellt am", c.claim_served.map_or_else(|| text("noch nicht bekannt"), day));
            if let Some(h) = c.hearing {
                fact("Verhandlungstermin", day(h));
            }
            fact("Monatsmiete", Shown::Text(euros(c.monthly_rent.get())));
            fact("Eingeklagter Rückstand", Shown::Text(euros(c.arrears_claimed.get())));
            fact("Nutzungsentschädigung", Shown::Text(euros(c.use_compensation.get())));
            if !c.tenancy_reference.is_empty() {
                fact("Mietvertragsnummer", text(&c.tenancy_reference));
            }
        }
    }
    out
}

/// The legal basis of the notice, in words.
fn basis(data: &NoticeData) -> String {
    match data {
        NoticeData::Arrears(a) => match &a.consent_evidence {
            Some(e) => format!(
                "Die Mieterin oder der Mieter hat in die Meldung eingewilligt (Nachweis des Vermieters: {e}). Name \
                 und Kontaktdaten dürfen verwendet werden."
            ),
            None => "Ohne Einwilligung gemeldet: Die Meldung enthält keinen Namen und keine Kontaktdaten. Die \
                     Fachstelle kann den Haushalt über den Vermieter erreichen oder über eine Mitteilung des Gerichts."
                .to_owned(),
        },
        NoticeData::Court(_) => "Mitteilung des Amtsgerichts über eine Räumungsklage wegen Mietrückständen (§ 22 \
                                 Abs. 9 SGB II, § 36 Abs. 2 SGB XII): Namen und Anschrift dürfen für das Hilfeangebot \
                                 verwendet werden."
            .to_owned(),
    }
}

/// Why a case is suggested, in words.
fn reason(r: MatchReason) -> &'static str {
    match r {
        MatchReason::SameTenancy => "gleicher Mietvertrag",
        MatchReason::SimilarName => "Name klingt gleich",
        MatchReason::SimilarNameSameAddress => "Nachname klingt gleich, gleiche Anschrift",
    }
}

fn suggestion(s: &Suggestion, c: &SuggestedCase) -> SuggestionLine {
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
    SuggestionLine {
        case_id: s.case_id.to_string(),
        case: case_link(&c.label),
        opened: time_day(c.opened),
        closed: c.closed.map(time_day),
        tenancy_reference: c.tenancy_reference.clone(),
        why: why.join(", "),
    }
}
