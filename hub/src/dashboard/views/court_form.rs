//! The form for a court notice (MiZi) that arrived by post or fax: the Amtsgericht's notice of an
//! eviction lawsuit for rent arrears. Saved, it becomes a notice like any other: its deadlines
//! (Schonfrist, defence notice) appear on its triage page at once, or it goes straight into the open
//! case of the same tenancy.

use super::{Choice, Ctx, choices, labels, render_template};
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

/// A text or date field, with its value as sent and the message when a rule refused it.
struct Field {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    required: bool,
    value: String,
    error: Option<String>,
}

/// A choice from a list.
struct Select {
    name: &'static str,
    label: &'static str,
    /// The first option, for "none of these".
    none: &'static str,
    choices: Vec<Choice>,
}

/// One control of the form.
enum Control {
    Input(Field),
    Select(Select),
}

/// A group of controls.
struct Fieldset {
    legend: &'static str,
    controls: Vec<Control>,
}

/// The form page as its template (`templates/dashboard/court_form.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/court_form.html")]
struct Page {
    title: &'static str,
    message: Option<String>,
    csrf: String,
    fieldsets: Vec<Fieldset>,
}

/// The body of the form page. `landlords` are the housing companies of the directory.
pub fn render(landlords: &[Organisation], ctx: &Ctx, echo: Option<&CourtEcho>) -> String {
    let value = |name: &str| echo.and_then(|e| e.values.one(name)).unwrap_or_default();
    let field = |name: &'static str, label: &'static str, kind: &'static str, required: bool| {
        Control::Input(Field {
            name,
            label,
            kind,
            required,
            value: value(name),
            error: echo.filter(|e| e.field == Some(name)).map(|e| e.message.clone()),
        })
    };
    let text = |name, label| field(name, label, "text", false);
    let chosen_landlord = value("vermieter_org");
    let landlords = landlords
        .iter()
        .map(|l| Choice { value: l.id.to_string(), label: l.name.clone(), selected: chosen_landlord == l.id.as_str() })
        .collect();
    let page = Page {
        title: TITLE,
        message: echo.map(|e| e.message.clone()),
        csrf: ctx.csrf.clone(),
        fieldsets: vec![
            Fieldset {
                legend: "Verfahren",
                controls: vec![
                    field("aktenzeichen", "Aktenzeichen", "text", true),
                    field("eingang", "Klage bei Gericht eingegangen am", "date", true),
                    field("zustellung", "Klage zugestellt am (wenn bekannt)", "date", false),
                    field("verhandlung", "Verhandlungstermin (wenn bekannt)", "date", false),
                ],
            },
            Fieldset {
                legend: "Beklagte Person",
                controls: vec![
                    field("nachname", "Familienname", "text", true),
                    text("vorname", "Vorname"),
                    text("strasse", "Straße"),
                    text("hausnummer", "Hausnummer"),
                    text("plz", "Postleitzahl"),
                    text("ort", "Ort"),
                ],
            },
            Fieldset {
                legend: "Weitere beklagte Person (wenn genannt, gleiche Anschrift)",
                controls: vec![text("nachname2", "Familienname"), text("vorname2", "Vorname")],
            },
            Fieldset {
                legend: "Mietverhältnis und Forderung",
                controls: vec![
                    text("vermieter", "Vermieter (wie in der Klage genannt)"),
                    Control::Select(Select {
                        name: "vermieter_org",
                        label: "Vermieter im Hub (wenn er teilnimmt)",
                        none: "– nicht im Hub –",
                        choices: landlords,
                    }),
                    text("mietvertrag", "Mietvertragsnummer (wenn bekannt)"),
                    Control::Select(Select {
                        name: "bezirk",
                        label: "Stadtbezirk",
                        none: "– unbekannt –",
                        choices: choices(
                            Stadtbezirk::ALL,
                            Stadtbezirk::as_str,
                            labels::district,
                            Stadtbezirk::parse(&value("bezirk")),
                        ),
                    }),
                    text("miete", "Monatsmiete in € (z. B. 780,00)"),
                    text("rueckstand", "Eingeklagter Mietrückstand in €"),
                    text("nutzung", "Nutzungsentschädigung in €"),
                ],
            },
        ],
    };
    render_template(&page)
}
