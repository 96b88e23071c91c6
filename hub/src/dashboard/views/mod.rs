//! The dashboard's page bodies: one module per page, each turning its read model (see
//! [`crate::service::dashboard`]) into the inner HTML of a page through its askama template
//! (`hub/templates/dashboard/`), in German. The layout (page frame, navigation, title, sign-out) wraps
//! them. Templates escape every value; the few HTML pieces built here ([`case_link`], [`time_day`], …)
//! escape what they insert with [`esc`]. Lists never show an address. Labels come from the one
//! catalogue, [`crate::labels`].

use crate::domain::time::{Day, Instant};
use crate::service::dashboard::{CaseLabel, Who};

pub mod accounts;
pub mod case_page;
pub mod cases;
pub mod court_form;
pub mod figures;
pub mod handoffs;
pub mod inbox;
pub mod partners;
pub mod portal;
pub mod referral_page;
pub mod today;
pub mod triage;

/// What every view needs besides its model.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Today by the hub's clock.
    pub today: Day,
    /// The session's CSRF token, sent back by every form as the hidden field `csrf`.
    pub csrf: String,
    /// The signed-in staff member's display name.
    pub staff_name: String,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    crate::reports::html::escape(s)
}

/// A link to a case: the tenant's name, or the case id while processing is restricted.
pub(crate) fn case_link(case: &CaseLabel) -> String {
    let text = match &case.name {
        Some(n) => esc(n),
        None => "<em>Name nicht angezeigt (Verarbeitung eingeschränkt)</em>".to_owned(),
    };
    format!("<a class=\"fall-link\" href=\"/faelle/{}\">{text}</a>", esc(case.id.as_str()))
}

/// A day as `dd.mm.yyyy`.
pub(crate) fn day(d: Day) -> String {
    crate::labels::day(d)
}

/// An instant as `dd.mm.yyyy HH:MM`, Hannover time.
pub(crate) fn instant(i: Instant) -> String {
    crate::labels::instant(i)
}

/// A link to a referral's page, showing its category.
pub(crate) fn referral_link(
    id: &crate::domain::ids::ReferralId,
    category: crate::domain::vocab::ReferralCategory,
) -> String {
    format!(
        "<a class=\"vermittlung-link\" href=\"/vermittlungen/{}\">{}</a>",
        esc(id.as_str()),
        esc(labels::category(category))
    )
}

/// `<time>` element for a day.
pub(crate) fn time_day(d: Day) -> String {
    format!("<time datetime=\"{d}\">{}</time>", day(d))
}

/// Who did something, in words, escaped.
pub(crate) fn who(w: &Who) -> String {
    match w {
        Who::Org { org, staff: Some(s) } => format!("{} ({})", esc(&org.name), esc(s)),
        Who::Org { org, staff: None } => esc(&org.name),
        Who::Operator { staff: Some(s) } => format!("{} ({})", labels::OPERATOR, esc(s)),
        Who::Operator { staff: None } => labels::OPERATOR.to_owned(),
        Who::Hub => labels::HUB.to_owned(),
    }
}

/// A number of days with one decimal, German style ("2,5 Tage"); "–" when there is none.
pub(crate) fn days(d: Option<f64>) -> String {
    match d {
        None => "–".to_owned(),
        Some(d) => {
            let s = format!("{d:.1}").replace('.', ",");
            format!("{s} Tage")
        }
    }
}

/// A count with its noun in the right number: `count(1, "Vermittlung", "Vermittlungen")` is
/// "1 Vermittlung", `count(3, …)` "3 Vermittlungen".
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// Cents as German euros with thousands separators ("1.234,56 €"), as the deadline hints write them.
pub(crate) fn euros(cents: i64) -> String {
    deadlines::euros_de(cents)
}

/// One `<option>` of a `<select>`, for the templates' `options` macro.
pub(crate) struct Choice {
    /// The value sent.
    pub value: String,
    /// What the person reads.
    pub label: String,
    /// Chosen.
    pub selected: bool,
}

/// The options of a vocabulary, marking `selected`.
pub(crate) fn choices<T: Copy + PartialEq>(
    items: &[T],
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    selected: Option<T>,
) -> Vec<Choice> {
    items
        .iter()
        .map(|v| Choice { value: value(*v).to_owned(), label: label(*v).to_owned(), selected: selected == Some(*v) })
        .collect()
}

/// A page body from its template. Rendering fails only when a value's `Display` fails, which none of
/// the views' values do; should it happen, the person reads a German sentence, the log the reason.
pub(crate) fn render_template(t: &impl askama::Template) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "a dashboard template failed to render");
        "<p class=\"fehler\">Diese Seite konnte nicht angezeigt werden. Bitte laden Sie sie neu.</p>".to_owned()
    })
}

/// The one German label catalogue ([`crate::labels`]), by the name the views have always used.
pub(crate) use crate::labels;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::CaseId;

    #[test]
    fn esc_covers_markup_and_quotes() {
        assert_eq!(esc("<a href=\"x\">O'Neil & Co</a>"), "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; Co&lt;/a&gt;");
    }

    #[test]
    fn case_link_escapes_the_name_and_hides_it_while_restricted() {
        let id = CaseId::new();
        let named = CaseLabel { id: id.clone(), name: Some("<b>Beispiel</b>, Erika".into()) };
        let html = case_link(&named);
        assert!(html.starts_with(&format!("<a class=\"fall-link\" href=\"/faelle/{id}\">")), "{html}");
        assert!(html.contains("&lt;b&gt;Beispiel") && !html.contains("<b>"), "{html}");
        let restricted = CaseLabel { id, name: None };
        assert!(case_link(&restricted).contains("Verarbeitung eingeschränkt"));
    }

    #[test]
    fn days_are_german() {
        assert_eq!(days(None), "–");
        assert_eq!(days(Some(2.5)), "2,5 Tage");
        assert_eq!(days(Some(1.0)), "1,0 Tage");
        assert_eq!(count(1, "offener Fall", "offene Fälle"), "1 offener Fall");
        assert_eq!(count(0, "offener Fall", "offene Fälle"), "0 offene Fälle");
        assert_eq!(count(2, "Vermittlung", "Vermittlungen"), "2 Vermittlungen");
        assert_eq!(euros(123_456), "1.234,56 €");
        assert_eq!(euros(5), "0,05 €");
        assert_eq!(euros(100_000_000), "1.000.000,00 €");
    }

    #[test]
    fn every_deadline_kind_has_a_german_label() {
        for k in deadlines::DeadlineKind::ALL {
            assert_ne!(labels::deadline_kind(k.as_str()), k.as_str(), "{k}");
        }
        assert_eq!(labels::deadline_kind("NEW_KIND"), "NEW_KIND");
    }
}
