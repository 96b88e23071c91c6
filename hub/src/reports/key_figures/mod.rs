//! `hub report key-figures`: the Fachstelle's annual key figures (DOMAIN.md "Key figures a
//! Fachstelle reports each year"), for the council. Only aggregated counts leave this module.
//!
//! # Which cases
//!
//! Every case of one Fachstelle (or of all) opened in the year, live or erased since, except the cases
//! under a restriction of processing (Art. 18 GDPR); the module `cohort` says why and how each counts.
//!
//! Erased cases count wherever their statistics carry the figure: route in, stage at first contact,
//! outcome and rescue means, district, household type, and a women's-counselling referral. They
//! cannot count in gender and age group (a row "not recorded (erased case)" keeps the table summing
//! to the total), nor in the takeover results and amounts or the decision times (the statistics
//! keep only the categories of the referrals), nor as Schutzsperre cases. Each table says whether
//! it includes erased cases.
//!
//! # Definitions
//!
//! - **Stage at first contact**: the first threat stage recorded in the case (the one given when
//!   it was opened); the day of the first contact itself is not recorded.
//! - **Contact**: a closed case had contact unless it closed as `KEIN_KONTAKT` or
//!   `VERZOGEN_UNBEKANNT`. An open case's contact is not decided yet: contact rate and success
//!   rates are over closed cases only.
//! - **Success**: closed as `WOHNUNG_ERHALTEN` or `ERSATZWOHNRAUM`. Success rate over all closed
//!   cases, and over closed cases with contact.
//! - **Rent-debt takeover**: a referral of category `RENT_DEBT_TAKEOVER_SGB2` or
//!   `RENT_DEBT_TAKEOVER_SGB12` of a cohort case, completed with result `APPROVED_LOAN` or
//!   `APPROVED_GRANT` (counted per referral; the amount is summed where the completion carries
//!   one). How kept tenancies were secured (SGB II/XII loan or grant, instalment plan, own means,
//!   settlement) comes from the closure's `RescueMeans`.
//! - **Days to decision**: per recipient, calendar days from a referral's creation to its first
//!   move to `ACCEPTED` or `DECLINED`; the median is shown only over five or more decisions.
//! - **Age group** of the main tenant: opening year minus year of birth (under 25, 25-39, 40-59,
//!   60 and over; "unknown" without a year of birth).
//! - **Women**: cases whose main tenant is female. **Violence protection**: cases with a
//!   Schutzsperre or a referral of category `WOMENS_COUNSELLING`. Both are reported separately.
//! - **Cases by month** ([`CASES_BY_MONTH`]): the month of opening (UTC), a partition of the
//!   cohort like the route in.
//! - **Outcomes by stage** ([`OUTCOME_BY_STAGE`]): a cross table of the stage at first contact and
//!   four outcome groups ([`OUTCOME_GROUPS`]: success, other outcome with contact, no contact,
//!   still open). Each stage's row adds up to the stage, each group's column to the group in the
//!   outcomes, and both enter the suppression: publishing the cross table can hide a cell of
//!   `first_stage` or `outcomes` that would otherwise be shown.
//!
//! # Charts and PDF
//!
//! The HTML report carries two charts inline as SVG ([`crate::reports::charts`]), drawn from the
//! suppressed cells only, and a print stylesheet: printing it from a browser ("Als PDF speichern")
//! is the PDF export. The dashboard page `/kennzahlen` shows the same charts and tables.
//!
//! # Suppression (statistical disclosure control)
//!
//! Every count from 1 to 4 is shown as `<5`, and further cells are hidden until no hidden cell can be
//! recomputed from the shown numbers; the module `suppression` states the rule and applies it.
//!
//! # Modules
//!
//! `cohort` reads the cases from the store, `tables` counts them into tables and rates,
//! `suppression` hides the small cells, `render` writes HTML, CSV and JSON; this module holds the
//! published model and the use case that builds a report and records it in the audit trail.

use serde::{Serialize, Serializer};

use crate::domain::ids::OrgId;
use crate::domain::time::Instant;
pub use crate::reports::Format;
use crate::store::{AuditEntry, Store, StoreError, Tx};

mod cohort;
mod render;
mod suppression;
mod tables;

/// The audit action of a generated report, as stored.
pub const ACTION: &str = crate::domain::audit::AuditAction::KeyFigures.as_str();
/// The legal basis recorded with it.
pub const LEGAL_BASIS: &str = "§ 67c SGB X (Statistik/Planung)";
/// The actor recorded with it: the operator who ran the command.
pub const ACTOR: &str = "operator";
/// What a suppressed cell shows.
pub const SUPPRESSED: &str = "<5";
/// What a figure the hub does not store shows.
pub const NOT_RECORDED: &str = "not recorded";
/// The key of the table of cases by month of opening (rows `01` to `12`).
pub const CASES_BY_MONTH: &str = "cases_by_month";
/// The key of the cross table of outcome groups by stage at first contact (rows `STAGE.GROUP`).
pub const OUTCOME_BY_STAGE: &str = "outcome_by_stage";
/// The outcome groups of [`OUTCOME_BY_STAGE`]: key and German label, in the order shown.
pub const OUTCOME_GROUPS: [(&str, &str); 4] = [
    ("success", "Wohnung erhalten oder Ersatzwohnraum"),
    ("contact_other", "anderes Ergebnis mit Kontakt"),
    ("no_contact", "ohne Kontakt"),
    ("open", "noch offen"),
];
/// The German month names, January first.
pub const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

/// The formats of the key figures: all of them.
pub const FORMATS: &[Format] = &[Format::Html, Format::Csv, Format::Json];

/// Reads `--format`: one of [`FORMATS`].
pub fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse_among(s, FORMATS, "a report")
}

/// Why no report could be made.
#[derive(Debug, thiserror::Error)]
pub enum KeyFiguresError {
    /// `--org` names no organisation in the directory.
    #[error("no organisation {0} in the directory")]
    OrgNotFound(OrgId),
    /// Reading the database or writing the audit record failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// One published value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// A count (cases, referrals, decisions).
    Count(i64),
    /// An amount in euro cents.
    Cents(i64),
    /// Days (a median).
    Days(f64),
    /// A percentage.
    Percent(f64),
    /// Suppressed: shown as [`SUPPRESSED`].
    Suppressed,
    /// The hub does not store what this figure needs: shown as [`NOT_RECORDED`].
    NotRecorded,
    /// Not defined (a rate over zero cases).
    None,
}

impl Cell {
    /// The count, if shown.
    pub fn count(self) -> Option<i64> {
        match self {
            Cell::Count(n) => Some(n),
            _ => None,
        }
    }
}

/// How a hidden rate or median reads in German.
pub const DERIVED_SUPPRESSED_DE: &str = "nicht ausgewiesen";

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Cell::Count(n) | Cell::Cents(n) => s.serialize_i64(n),
            Cell::Days(d) | Cell::Percent(d) => s.serialize_f64((d * 10.0).round() / 10.0),
            Cell::Suppressed => s.serialize_str(SUPPRESSED),
            Cell::NotRecorded => s.serialize_str(NOT_RECORDED),
            Cell::None => s.serialize_none(),
        }
    }
}

/// The annual key figures, suppressed and ready to render.
#[derive(Debug, Clone, Serialize)]
pub struct KeyFigures {
    /// The year of opening.
    pub year: i32,
    /// The Fachstelle reported on, or `None` for all.
    pub organisation: Option<OrgRef>,
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// How small cells are suppressed.
    pub suppression: SuppressionNote,
    /// The tables, in the order the report shows them.
    pub tables: Vec<Table>,
    /// Rates (contact, success), each over its denominator.
    pub rates: Vec<Rate>,
    /// Figures the hub cannot compute from what it stores, and why.
    pub not_recorded: Vec<NotRecorded>,
}

pub use super::OrgRef;

/// The suppression rule, as the report states it.
#[derive(Debug, Clone, Serialize)]
pub struct SuppressionNote {
    /// What a suppressed cell shows.
    pub marker: &'static str,
    /// The rule in words.
    pub rule: &'static str,
}

/// One table: rows that (with the total row) form additive relations.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Stable key, e.g. `route_in`.
    pub key: &'static str,
    /// English title.
    pub title: &'static str,
    /// German title.
    pub title_de: &'static str,
    /// Whether erased cases' statistics count in this table.
    pub includes_erased: bool,
    /// What the table counts and how, in English.
    pub note: &'static str,
    /// The same in German.
    #[serde(skip)]
    pub note_de: &'static str,
    /// German column heading of the count.
    #[serde(skip)]
    pub count_heading_de: &'static str,
    /// The rows.
    pub rows: Vec<Row>,
}

impl Table {
    /// The row with `key`.
    pub fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.key == key)
    }
}

/// One row of a table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Stable key: the stored vocabulary name (`COURT_NOTICE`) or a name like `total`.
    pub key: String,
    /// German label.
    pub label_de: String,
    /// The count.
    pub count: Cell,
    /// The sum of amounts, in euro cents (takeovers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_cents: Option<Cell>,
    /// The median days to decision (decision times only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_days: Option<Cell>,
}

/// A rate in percent.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    /// The group: `all`, `women` or `violence_protection`.
    pub group: &'static str,
    /// Stable key, e.g. `contact_rate`.
    pub key: &'static str,
    /// German label.
    pub label_de: String,
    /// `table.row` of the numerator.
    pub numerator: String,
    /// `table.row` of the denominator.
    pub denominator: String,
    /// The rate in percent, one decimal.
    pub percent: Cell,
}

/// A figure the hub cannot compute from what it stores.
#[derive(Debug, Clone, Serialize)]
pub struct NotRecorded {
    /// Stable key.
    pub key: &'static str,
    /// The figure, in English.
    pub figure: &'static str,
    /// Why, in English.
    pub reason: &'static str,
    /// Figure and reason in German.
    #[serde(skip)]
    pub text_de: &'static str,
}

impl KeyFigures {
    /// The table with `key`.
    pub fn table(&self, key: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.key == key)
    }

    /// The rate `key` of `group`.
    pub fn rate(&self, group: &str, key: &str) -> Option<&Rate> {
        self.rates.iter().find(|r| r.group == group && r.key == key)
    }
}

/// Builds the key figures of the cases of `org` (all Fachstellen when `None`) opened in `year`
/// from one transaction's view of the store; `now` dates the report.
pub async fn build(
    tx: &mut dyn Tx,
    year: i32,
    org: Option<&OrgId>,
    now: Instant,
) -> Result<KeyFigures, KeyFiguresError> {
    let cohort::Cohort { organisation, records, orgs } = cohort::load(tx, year, org).await?;
    Ok(tables::compute(year, organisation, &records, &orgs, now))
}

/// Builds the key figures from one read snapshot, then records the report in the audit trail (a
/// write transaction of its own). Nothing is recorded when the report cannot be built.
pub async fn generate(
    store: &dyn Store,
    year: i32,
    org: Option<&OrgId>,
    format: Format,
    now: Instant,
) -> Result<KeyFigures, KeyFiguresError> {
    let figures = {
        let mut tx = store.begin_read().await?;
        build(tx.as_mut(), year, org, now).await?
    };
    let mut tx = store.begin().await?;
    tx.append_audit(&AuditEntry {
        at: now,
        actor: ACTOR.to_owned(),
        staff: None,
        action: crate::domain::audit::AuditAction::KeyFigures,
        case_id: None,
        referral_id: None,
        legal_basis: LEGAL_BASIS.to_owned(),
        detail: crate::domain::audit::AuditDetail::words(format!(
            "key figures {year} ({format}) for {}: aggregated counts only, cells under 5 suppressed",
            org.map_or("all Fachstellen", OrgId::as_str)
        )),
    })
    .await?;
    tx.commit().await?;
    Ok(figures)
}
