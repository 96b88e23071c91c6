//! `hub report key-figures`: the Fachstelle's annual key figures (DOMAIN.md "Key figures a
//! Fachstelle reports each year"), for the council. Only aggregated counts leave this module.
//!
//! # Which cases
//!
//! The cohort is every case of one Fachstelle (or of all) **opened** in the year (`Case.opened_at`,
//! UTC day), whether open or closed now, plus the cases erased since (Art. 17 GDPR, §84 SGB X)
//! whose anonymous statistics ([`CaseStatistics`](crate::domain::erasure::CaseStatistics)) say
//! they were opened in that year. Cases under a restriction of processing (Art. 18 GDPR) are left
//! out: statistics are processing beyond storage, which Art. 18(2) does not allow; the report says
//! so without a count.
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
//! Every published count is a node; every table is a set of additive relations between nodes
//! (`total = part + part + ...`, e.g. all cases = cases per route in; closed = outcomes;
//! success = kept + replacement flat). Nodes shared by tables (the cohort total, the closed cases,
//! the female main tenants, the kept tenancies) are one node, so a suppression holds everywhere.
//!
//! 1. **Primary**: every count from 1 to 4 is shown as `<5`. Zero is shown as 0. An amount in euro
//!    is suppressed when fewer than five amounts make it up, or when its row's count is suppressed.
//! 2. **Secondary, per relation**: when exactly one member of a relation is suppressed, the
//!    smallest non-zero member still shown (a part before the total on equal values) is
//!    suppressed too, so no total minus the shown parts gives the hidden cell.
//! 3. **Secondary, across relations**: a suppressed node must not be computable from the shown
//!    numbers through any combination of relations (checked exactly, by Gaussian elimination over
//!    the relations restricted to the suppressed nodes). If one is, the smallest non-zero shown
//!    member of its relations is suppressed as well.
//!
//! Steps 2 and 3 repeat until nothing changes. Rates are shown only when numerator and
//! denominator are both shown; a median only over five or more decisions. The rule protects
//! against recomputing a cell exactly from the numbers within this report; it does not protect
//! against differencing two reports (e.g. two Fachstellen, or two runs with different data).

use std::collections::{BTreeMap, HashMap};
use std::fmt::{Display, Write as _};
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::audit::export::rfc3339;
use crate::domain::case::Case;
use crate::domain::erasure::Erasure;
use crate::domain::ids::OrgId;
use crate::domain::referral::{Referral, ReferralState};
use crate::domain::time::Instant;
use crate::domain::vocab::{
    CaseOutcome, CompletionResult, Gender, HouseholdType, PersonRole, ReferralCategory, RescueMeans, RouteIn,
    Stadtbezirk, ThreatStage,
};
use crate::labels;
use crate::reports::charts;
use crate::reports::html::escape;
use crate::store::{AuditEntry, Store, StoreError, Tx};

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
/// Cells from 1 to this value are suppressed.
const SMALL: i64 = 4;
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
/// The row key of cases without a recorded stage.
const STAGE_NONE: &str = "none";
const STAGE_NONE_DE: &str = "keine Stufe erfasst";

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A German HTML document.
    Html,
    /// `;`-separated `table;row;value` lines with a header row.
    Csv,
    /// A JSON object with English keys.
    Json,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "html" => Ok(Format::Html),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(format!("'{s}' is not a report format (html, csv or json)")),
        }
    }
}

impl Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Json => "json",
        })
    }
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

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

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

    /// The value as CSV and plain text show it (`.` as decimal separator, euros with cents).
    pub fn plain(self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Cents(c) => format!("{}.{:02}", c / 100, c % 100),
            Cell::Days(d) | Cell::Percent(d) => format!("{d:.1}"),
            Cell::Suppressed => SUPPRESSED.to_owned(),
            Cell::NotRecorded => NOT_RECORDED.to_owned(),
            Cell::None => String::new(),
        }
    }

    /// The value as the German HTML shows it.
    fn german(self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Cents(c) => format!("{} €", group_thousands((c + 50) / 100)),
            Cell::Days(d) => format!("{d:.1}").replace('.', ","),
            Cell::Percent(p) => format!("{p:.1} %").replace('.', ","),
            Cell::Suppressed => SUPPRESSED.to_owned(),
            Cell::NotRecorded => "nicht erfasst".to_owned(),
            Cell::None => "–".to_owned(),
        }
    }

    /// A value derived from counts (a rate, a median), as the German HTML and CSV show it: a hidden one
    /// reads "nicht ausgewiesen", because "<5" beside a percentage or a number of days would read as
    /// "under 5 %" or "under 5 days".
    fn german_derived(self) -> String {
        match self {
            Cell::Suppressed => DERIVED_SUPPRESSED_DE.to_owned(),
            other => other.german(),
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

fn group_thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
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

/// An organisation by id and directory name.
#[derive(Debug, Clone, Serialize)]
pub struct OrgRef {
    /// Id.
    pub id: String,
    /// Name from the directory.
    pub name: String,
}

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

const RULE: &str = "Every count from 1 to 4 is shown as \"<5\"; zero is shown as 0. An amount is suppressed when \
fewer than five amounts make it up or its count is suppressed. When exactly one member of an additive relation \
(a total and its parts, within or across tables) is suppressed, the smallest non-zero member still shown is \
suppressed too; and no suppressed cell may be computable exactly from the shown numbers through any combination \
of the relations (checked by elimination), else the smallest shown member of its relations is suppressed as well. \
Rates need numerator and denominator shown; medians need five or more decisions.";

const RULE_DE: &str = "Jede Zahl von 1 bis 4 wird als „<5“ angezeigt, 0 als 0. Ein Betrag wird unterdrückt, wenn er \
aus weniger als fünf Einzelbeträgen besteht oder seine Anzahl unterdrückt ist. Ist in einer Summenbeziehung \
(eine Summe und ihre Teile, innerhalb einer Tabelle oder über Tabellen hinweg) genau eine Zahl unterdrückt, wird \
zusätzlich die kleinste noch angezeigte Zahl ungleich 0 unterdrückt; außerdem darf keine unterdrückte Zahl durch \
irgendeine Kombination der Summenbeziehungen genau errechenbar sein (rechnerisch geprüft), sonst wird eine \
weitere Zahl unterdrückt. Quoten werden nur gezeigt, wenn Zähler und Nenner gezeigt werden, Mediane nur ab fünf \
Entscheidungen; sonst steht dort „nicht ausgewiesen“.";

fn not_recorded_list() -> Vec<NotRecorded> {
    vec![
        NotRecorded {
            key: "first_contact_date",
            figure: "stage at the day of first contact",
            reason: "the stage at first contact is the first threat stage recorded in the case; the day of first \
                     contact counts only where a successful contact attempt was recorded",
            text_de: "Stufe am Tag des Erstkontakts: als Stufe beim Erstkontakt gilt die erste im Fall erfasste \
                      Bedrohungsstufe; der Tag des Erstkontakts zählt nur, wo ein erfolgreicher Kontaktversuch \
                      erfasst ist.",
        },
        NotRecorded {
            key: "contact_of_open_cases",
            figure: "contact of cases still open",
            reason: "contact is read from the outcome, so open cases are left out of the contact and success rates",
            text_de: "Kontakt bei noch offenen Fällen: Kontakt ergibt sich aus dem Ergebnis; offene Fälle gehen nicht \
                      in die Kontakt- und Erfolgsquoten ein.",
        },
        NotRecorded {
            key: "erased_person_data",
            figure: "gender, age group and Schutzsperre of erased cases",
            reason: "the anonymous statistics of an erased case do not keep them",
            text_de: "Geschlecht, Altersgruppe und Schutzsperre gelöschter Fälle: die anonyme Statistik eines \
                      gelöschten Falls enthält sie nicht.",
        },
        NotRecorded {
            key: "erased_referral_results",
            figure: "takeover results, amounts and decision times of erased cases' referrals",
            reason: "the anonymous statistics keep only the categories of a case's referrals",
            text_de: "Ergebnisse, Beträge und Entscheidungsdauern der Vermittlungen gelöschter Fälle: die anonyme \
                      Statistik enthält nur die Kategorien der Vermittlungen.",
        },
        NotRecorded {
            key: "takeover_amounts_outside_hub",
            figure: "amounts of takeovers decided without a hub referral, or completed without an amount",
            reason: "an amount is stored only when a completed referral carries it",
            text_de: "Beträge von Übernahmen ohne Vermittlung über den Hub oder ohne Betragsangabe bei der \
                      Erledigung: ein Betrag wird nur mit der Erledigung einer Vermittlung gespeichert.",
        },
        NotRecorded {
            key: "birth_year_missing",
            figure: "age of main tenants without a recorded year of birth",
            reason: "a notice rarely gives the year of birth; such cases are counted as age \"unknown\"",
            text_de: "Alter von Hauptmieterinnen und Hauptmietern ohne erfasstes Geburtsjahr: als „unbekannt“ gezählt.",
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Suppression
// ---------------------------------------------------------------------------------------------

/// A published number with its suppression state.
#[derive(Debug, Clone)]
struct Node {
    value: i64,
    /// For amounts: how many single amounts make it up (primary suppression under five).
    contributors: Option<i64>,
    suppressed: bool,
}

/// The numbers of a report and the additive relations between them; [`Suppression::run`] applies
/// the rule of the module documentation.
#[derive(Debug, Default)]
struct Suppression {
    nodes: Vec<Node>,
    /// Each relation as (node, coefficient) pairs summing to zero: the total with -1, parts with +1.
    /// The first entry is the total.
    relations: Vec<Vec<(usize, i64)>>,
    /// (amount node, count node): the amount is suppressed whenever the count is.
    links: Vec<(usize, usize)>,
}

impl Suppression {
    fn count(&mut self, value: i64) -> usize {
        self.nodes.push(Node { value, contributors: None, suppressed: false });
        self.nodes.len() - 1
    }

    fn amount(&mut self, cents: i64, contributors: i64, count: usize) -> usize {
        self.nodes.push(Node { value: cents, contributors: Some(contributors), suppressed: false });
        let id = self.nodes.len() - 1;
        self.links.push((id, count));
        id
    }

    /// Declares `total = sum(parts)`.
    fn sum(&mut self, total: usize, parts: &[usize]) {
        let sum: i64 = parts.iter().map(|p| self.nodes[*p].value).sum();
        assert_eq!(sum, self.nodes[total].value, "a relation of the key figures does not add up");
        let mut rel = vec![(total, -1)];
        rel.extend(parts.iter().map(|p| (*p, 1)));
        self.relations.push(rel);
    }

    fn is_suppressed(&self, node: usize) -> bool {
        self.nodes[node].suppressed
    }

    fn value(&self, node: usize) -> i64 {
        self.nodes[node].value
    }

    fn run(&mut self) {
        for n in &mut self.nodes {
            let small = |v: i64| (1..=SMALL).contains(&v);
            n.suppressed = match n.contributors {
                None => small(n.value),
                Some(c) => small(c),
            };
        }
        loop {
            let mut changed = false;
            for (amount, count) in self.links.clone() {
                if self.nodes[count].suppressed && !self.nodes[amount].suppressed {
                    self.nodes[amount].suppressed = true;
                    changed = true;
                }
            }
            for r in 0..self.relations.len() {
                let hidden = self.relations[r].iter().filter(|(n, _)| self.nodes[*n].suppressed).count();
                if hidden == 1
                    && let Some(c) = self.smallest_shown(&self.relations[r])
                {
                    self.nodes[c].suppressed = true;
                    changed = true;
                }
            }
            if !changed && let Some(x) = self.derivable() {
                let members: Vec<(usize, i64)> = self
                    .relations
                    .iter()
                    .filter(|r| r.iter().any(|(n, _)| *n == x))
                    .flat_map(|r| r.iter().copied())
                    .collect();
                let pick = self.smallest_shown(&members).or_else(|| {
                    let all: Vec<(usize, i64)> = self.relations.iter().flatten().copied().collect();
                    self.smallest_shown(&all)
                });
                match pick {
                    Some(c) => {
                        self.nodes[c].suppressed = true;
                        changed = true;
                    }
                    None => break,
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// The smallest non-zero member still shown, parts before the total on equal values.
    fn smallest_shown(&self, members: &[(usize, i64)]) -> Option<usize> {
        members
            .iter()
            .filter(|(n, _)| !self.nodes[*n].suppressed && self.nodes[*n].value != 0)
            .min_by_key(|(n, coef)| (self.nodes[*n].value, *coef < 0, *n))
            .map(|(n, _)| *n)
    }

    /// A suppressed node whose value follows from the shown numbers, if any. The relations,
    /// restricted to the suppressed nodes, are brought to reduced row echelon form; a node is
    /// determined exactly when its column is a pivot whose row has no other non-zero entry.
    fn derivable(&self) -> Option<usize> {
        let hidden: Vec<usize> = (0..self.nodes.len()).filter(|n| self.nodes[*n].suppressed).collect();
        if hidden.is_empty() {
            return None;
        }
        let col: HashMap<usize, usize> = hidden.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut m: Vec<Vec<f64>> = self
            .relations
            .iter()
            .map(|r| {
                let mut row = vec![0.0; hidden.len()];
                for (n, coef) in r {
                    if let Some(c) = col.get(n) {
                        row[*c] += *coef as f64;
                    }
                }
                row
            })
            .filter(|row| row.iter().any(|v| v.abs() > 1e-9))
            .collect();
        let mut pivots = Vec::new();
        let mut r = 0;
        for c in 0..hidden.len() {
            if r == m.len() {
                break;
            }
            let Some(p) = (r..m.len()).find(|i| m[*i][c].abs() > 1e-9) else { continue };
            m.swap(r, p);
            let lead = m[r][c];
            for v in &mut m[r] {
                *v /= lead;
            }
            for i in 0..m.len() {
                if i != r && m[i][c].abs() > 1e-9 {
                    let f = m[i][c];
                    let pivot_row = m[r].clone();
                    for (v, pv) in m[i].iter_mut().zip(pivot_row) {
                        *v -= f * pv;
                    }
                }
            }
            pivots.push((r, c));
            r += 1;
        }
        pivots
            .into_iter()
            .find(|(row, c)| m[*row].iter().enumerate().all(|(j, v)| j == *c || v.abs() <= 1e-9))
            .map(|(_, c)| hidden[c])
    }
}

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

/// What one case of the cohort contributes, live or erased.
struct Record {
    /// The month of opening, 1 to 12.
    month: u8,
    route_in: RouteIn,
    first_stage: Option<ThreatStage>,
    /// `None` while open.
    outcome: Option<CaseOutcome>,
    rescue_means: Option<RescueMeans>,
    stadtbezirk: Stadtbezirk,
    household_type: HouseholdType,
    /// The main tenant's gender and age; `None` for an erased case.
    main_tenant: Option<(Gender, Option<i32>)>,
    /// `None` for an erased case.
    schutzsperre: Option<bool>,
    womens_counselling: bool,
    referrals: Vec<Referral>,
    erased: bool,
    /// The Fachstelle's casework; `None` for an erased case (its anonymous statistics do not keep it).
    casework: Option<Casework>,
}

/// What the casework of one case adds to the figures.
#[derive(Debug, Clone, Default)]
struct Casework {
    /// Days from opening to the first contact that reached the household.
    days_to_contact: Option<i64>,
    /// The household returned after a closed case.
    repeat: bool,
    /// The follow-ups at 3, 6 and 12 months: `None` not due or not yet checked, else whether it held.
    held: [Option<bool>; 3],
}

impl Casework {
    fn of(case: &Case) -> Self {
        let opened = case.opened_at.day();
        let days_to_contact =
            crate::domain::casework::first_contact(&case.contacts).map(|d| opened.days_until(d).max(0));
        let mut held = [None; 3];
        for f in &case.follow_ups {
            let i = match f.months {
                3 => 0,
                6 => 1,
                _ => 2,
            };
            held[i] = f.result.map(|(_, h)| h);
        }
        Self { days_to_contact, repeat: case.repeat_of.is_some(), held }
    }
}

fn has_contact(o: CaseOutcome) -> bool {
    !matches!(o, CaseOutcome::KeinKontakt | CaseOutcome::VerzogenUnbekannt)
}

fn is_success(o: CaseOutcome) -> bool {
    matches!(o, CaseOutcome::WohnungErhalten | CaseOutcome::Ersatzwohnraum)
}

fn age_group(age: Option<i32>) -> (&'static str, &'static str) {
    match age {
        None => ("unknown", "unbekannt (kein Geburtsjahr erfasst)"),
        Some(a) if a < 25 => ("under_25", "unter 25 Jahre"),
        Some(a) if a < 40 => ("25_39", "25 bis 39 Jahre"),
        Some(a) if a < 60 => ("40_59", "40 bis 59 Jahre"),
        Some(_) => ("60_plus", "60 Jahre und älter"),
    }
}

const AGE_GROUPS: [&str; 5] = ["under_25", "25_39", "40_59", "60_plus", "unknown"];

/// A table under construction: rows pointing at nodes.
struct Draft {
    key: &'static str,
    title: &'static str,
    title_de: &'static str,
    includes_erased: bool,
    note: &'static str,
    note_de: &'static str,
    count_heading_de: &'static str,
    rows: Vec<DraftRow>,
}

struct DraftRow {
    key: String,
    label_de: String,
    count: usize,
    amount: Option<AmountCell>,
    median: Option<Option<f64>>,
}

enum AmountCell {
    Node(usize),
    NotRecorded,
}

fn row(key: impl Into<String>, label_de: impl Into<String>, count: usize) -> DraftRow {
    DraftRow { key: key.into(), label_de: label_de.into(), count, amount: None, median: None }
}

/// The outcome breakdown of a group (all cases, women, violence protection): nodes and relations.
struct OutcomeNodes {
    open: usize,
    closed: usize,
    contact: usize,
    no_contact: usize,
    success: usize,
    other: usize,
}

fn group_outcomes(s: &mut Suppression, total: usize, records: &[&Record]) -> (OutcomeNodes, Vec<DraftRow>) {
    let n = |f: &dyn Fn(&Record) -> bool| records.iter().filter(|r| f(r)).count() as i64;
    let open = s.count(n(&|r| r.outcome.is_none()));
    let closed = s.count(n(&|r| r.outcome.is_some()));
    let contact = s.count(n(&|r| r.outcome.is_some_and(has_contact)));
    let no_contact = s.count(n(&|r| r.outcome.is_some_and(|o| !has_contact(o))));
    let success = s.count(n(&|r| r.outcome.is_some_and(is_success)));
    let other = s.count(n(&|r| r.outcome.is_some_and(|o| has_contact(o) && !is_success(o))));
    s.sum(total, &[open, closed]);
    s.sum(closed, &[contact, no_contact]);
    s.sum(contact, &[success, other]);
    let rows = vec![
        row("total", "Fälle", total),
        row("open", "noch offen", open),
        row("closed", "abgeschlossen", closed),
        row("contact", "abgeschlossen mit Kontakt", contact),
        row("success", "davon Wohnung erhalten oder Ersatzwohnraum", success),
        row("contact_other", "davon anderes Ergebnis", other),
        row("no_contact", "abgeschlossen ohne Kontakt", no_contact),
    ];
    (OutcomeNodes { open, closed, contact, no_contact, success, other }, rows)
}

/// Builds the key figures of the cases of `org` (all Fachstellen when `None`) opened in `year`
/// from one transaction's view of the store; `now` dates the report.
pub async fn build(
    tx: &mut dyn Tx,
    year: i32,
    org: Option<&OrgId>,
    now: Instant,
) -> Result<KeyFigures, KeyFiguresError> {
    let orgs: HashMap<OrgId, String> = tx.orgs().await?.into_iter().map(|o| (o.id.clone(), o.name)).collect();
    let organisation = match org {
        Some(id) => Some(OrgRef {
            id: id.to_string(),
            name: orgs.get(id).cloned().ok_or_else(|| KeyFiguresError::OrgNotFound(id.clone()))?,
        }),
        None => None,
    };
    let mine = |owner: &OrgId| org.is_none_or(|o| o == owner);

    let mut records = Vec::new();
    let cases: Vec<Case> = tx.cases().await?;
    for case in cases {
        if !mine(&case.owner) || case.opened_at.day().year() != year || case.restriction.is_some() {
            continue;
        }
        let referrals = tx.referrals_of_case(&case.id).await?;
        let d = &case.details;
        let main = d.persons.iter().find(|p| p.role == PersonRole::MainTenant);
        records.push(Record {
            month: u8::from(case.opened_at.day().date().month()),
            route_in: d.route_in,
            first_stage: case.stages.first().map(|s| s.stage),
            outcome: case.closure.as_ref().map(|c| c.outcome),
            rescue_means: case.closure.as_ref().and_then(|c| c.rescue_means),
            stadtbezirk: d.stadtbezirk,
            household_type: d.household_type,
            main_tenant: Some(main.map_or((Gender::Undisclosed, None), |p| (p.gender, p.birth_year.map(|b| year - b)))),
            schutzsperre: Some(d.schutzsperre),
            womens_counselling: referrals.iter().any(|r| r.category == ReferralCategory::WomensCounselling),
            referrals,
            erased: false,
            casework: Some(Casework::of(&case)),
        });
    }
    let erasures: Vec<Erasure> = tx.erasures().await?;
    let prefix = format!("{year:04}-");
    for e in erasures {
        let st = &e.statistics;
        if !mine(&e.owner) || !st.opened_month.starts_with(&prefix) {
            continue;
        }
        records.push(Record {
            month: st.opened_month.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0),
            route_in: st.route_in,
            first_stage: st.first_stage,
            outcome: st.outcome,
            rescue_means: st.rescue_means,
            stadtbezirk: st.stadtbezirk,
            household_type: st.household_type,
            main_tenant: None,
            schutzsperre: None,
            womens_counselling: st.referral_categories.contains(&ReferralCategory::WomensCounselling),
            referrals: vec![],
            erased: true,
            casework: None,
        });
    }

    Ok(compute(year, organisation, &records, &orgs, now))
}

/// The cohort by month of opening: a partition of the total like any other table, so a month is
/// suppressed (and hidden enough that the year's total does not give it back) like any cell.
fn month_draft(s: &mut Suppression, records: &[Record], total: usize) -> Draft {
    let mut rows = vec![row("total", "Fälle insgesamt", total)];
    let mut parts = Vec::new();
    let count = |m: u8| records.iter().filter(|r| r.month == m).count() as i64;
    for (m, name) in (1u8..).zip(MONTHS_DE) {
        let node = s.count(count(m));
        parts.push(node);
        rows.push(row(format!("{m:02}"), name, node));
    }
    // Only an erased case whose statistics lack a readable month could land here.
    let unknown = count(0);
    if unknown > 0 {
        let node = s.count(unknown);
        parts.push(node);
        rows.push(row("unknown", "Monat unbekannt", node));
    }
    s.sum(total, &parts);
    Draft {
        key: CASES_BY_MONTH,
        title: "Cases by month of opening",
        title_de: "Fälle je Monat der Eröffnung",
        includes_erased: true,
        note: "The month (UTC) a case was opened; erased cases count through the month their statistics keep.",
        note_de: "Monat der Eröffnung des Falls; gelöschte Fälle zählen über den Monat in ihrer anonymen Statistik.",
        count_heading_de: "Fälle",
        rows,
    }
}

/// Outcome groups by stage at first contact, a cross table: each stage's row adds up to its count
/// in `first_stage`, each group's column to its count in `outcomes`. Both sets of relations enter
/// the suppression, so neither table gives a hidden cell of the other back.
fn outcome_by_stage_draft(s: &mut Suppression, records: &[Record], drafts: &[Draft], all: &OutcomeNodes) -> Draft {
    let stage_node = |key: &str| {
        drafts
            .iter()
            .find(|d| d.key == "first_stage")
            .and_then(|d| d.rows.iter().find(|r| r.key == key))
            .map(|r| r.count)
            .expect("the first_stage table has a row per stage")
    };
    let group_of = |r: &Record| match r.outcome {
        None => "open",
        Some(o) if is_success(o) => "success",
        Some(o) if has_contact(o) => "contact_other",
        Some(_) => "no_contact",
    };
    let stages = ThreatStage::ALL.iter().map(|v| (Some(*v), v.as_str(), labels::stage(*v))).chain([(
        None,
        STAGE_NONE,
        STAGE_NONE_DE,
    )]);
    let mut rows = Vec::new();
    let mut columns = vec![Vec::new(); OUTCOME_GROUPS.len()];
    for (stage, key, label) in stages {
        let mut parts = Vec::new();
        for ((group, _), column) in OUTCOME_GROUPS.iter().zip(&mut columns) {
            let n = records.iter().filter(|r| r.first_stage == stage && group_of(r) == *group).count() as i64;
            let node = s.count(n);
            parts.push(node);
            column.push(node);
            rows.push(row(format!("{key}.{group}"), label, node));
        }
        s.sum(stage_node(key), &parts);
    }
    // In the order of OUTCOME_GROUPS.
    for (total, column) in [all.success, all.other, all.no_contact, all.open].into_iter().zip(&columns) {
        s.sum(total, column);
    }
    Draft {
        key: OUTCOME_BY_STAGE,
        title: "Outcomes by stage at first contact",
        title_de: "Ergebnisse nach Stufe beim Erstkontakt",
        includes_erased: true,
        note: "Rows STAGE.GROUP: the cases of a stage at first contact by outcome group (success, other outcome with \
               contact, no contact, still open).",
        note_de: "Fälle je Stufe beim Erstkontakt nach Ergebnis: Erfolg (Wohnung erhalten oder Ersatzwohnraum), \
                  anderes Ergebnis mit Kontakt, ohne Kontakt, noch offen.",
        count_heading_de: "Fälle",
        rows,
    }
}

fn compute(
    year: i32,
    organisation: Option<OrgRef>,
    records: &[Record],
    orgs: &HashMap<OrgId, String>,
    now: Instant,
) -> KeyFigures {
    let mut s = Suppression::default();
    let all: Vec<&Record> = records.iter().collect();
    let count_where = |f: &dyn Fn(&Record) -> bool| records.iter().filter(|r| f(r)).count() as i64;
    let mut drafts = Vec::new();

    // The cohort and where its data comes from.
    let total = s.count(records.len() as i64);
    let live = s.count(count_where(&|r| !r.erased));
    let erased = s.count(count_where(&|r| r.erased));
    s.sum(total, &[live, erased]);
    drafts.push(Draft {
        key: "cases",
        title: "Cases opened",
        title_de: "Fälle",
        includes_erased: true,
        note: "Cases opened in the year; erased cases count through their anonymous statistics.",
        note_de: "Im Jahr eröffnete Fälle; gelöschte Fälle zählen über ihre anonyme Statistik.",
        count_heading_de: "Fälle",
        rows: vec![
            row("total", "Im Jahr eröffnete Fälle", total),
            row("stored", "davon gespeichert", live),
            row("erased", "davon inzwischen gelöscht (anonyme Statistik)", erased),
        ],
    });

    // A partition of the cohort by a key.
    let partition =
        |s: &mut Suppression,
         items: Vec<(String, String, i64)>,
         draft: (&'static str, &'static str, &'static str, bool, &'static str, &'static str)| {
            let mut rows = vec![row("total", "Fälle insgesamt", total)];
            let mut parts = Vec::new();
            for (key, label, n) in items {
                let node = s.count(n);
                parts.push(node);
                rows.push(row(key, label, node));
            }
            s.sum(total, &parts);
            let (key, title, title_de, includes_erased, note, note_de) = draft;
            Draft { key, title, title_de, includes_erased, note, note_de, count_heading_de: "Fälle", rows }
        };

    drafts.push(partition(
        &mut s,
        RouteIn::ALL
            .iter()
            .map(|v| (v.as_str().to_owned(), labels::route_in(*v).to_owned(), count_where(&|r| r.route_in == *v)))
            .collect(),
        (
            "route_in",
            "Cases by route in",
            "Zugangswege",
            true,
            "How the case came to the Fachstelle.",
            "Wie der Fall zur Fachstelle kam.",
        ),
    ));

    let mut stages: Vec<(String, String, i64)> = ThreatStage::ALL
        .iter()
        .map(|v| (v.as_str().to_owned(), labels::stage(*v).to_owned(), count_where(&|r| r.first_stage == Some(*v))))
        .collect();
    stages.push((STAGE_NONE.into(), STAGE_NONE_DE.into(), count_where(&|r| r.first_stage.is_none())));
    drafts.push(partition(
        &mut s,
        stages,
        (
            "first_stage",
            "Stage at first contact",
            "Stufe beim Erstkontakt",
            true,
            "The first threat stage recorded in the case.",
            "Die erste im Fall erfasste Bedrohungsstufe.",
        ),
    ));

    // Outcomes: a partition into open and the nine outcomes, with closed, contact and success.
    let (main, mut outcome_rows) = group_outcomes(&mut s, total, &all);
    let mut per_outcome = Vec::new();
    let mut outcome_node = HashMap::new();
    for o in CaseOutcome::ALL {
        let node = s.count(count_where(&|r| r.outcome == Some(*o)));
        outcome_node.insert(*o, node);
        per_outcome.push(row(o.as_str(), labels::outcome(*o), node));
    }
    let nodes_of = |f: &dyn Fn(CaseOutcome) -> bool| -> Vec<usize> {
        CaseOutcome::ALL.iter().filter(|o| f(**o)).map(|o| outcome_node[o]).collect()
    };
    s.sum(main.closed, &nodes_of(&|_| true));
    s.sum(main.contact, &nodes_of(&has_contact));
    s.sum(main.no_contact, &nodes_of(&|o| !has_contact(o)));
    s.sum(main.success, &nodes_of(&is_success));
    outcome_rows.extend(per_outcome);
    drafts.push(Draft {
        key: "outcomes",
        title: "Outcomes",
        title_de: "Ergebnisse",
        includes_erased: true,
        note: "Contact: closed with any outcome but KEIN_KONTAKT or VERZOGEN_UNBEKANNT. Success: WOHNUNG_ERHALTEN or \
               ERSATZWOHNRAUM.",
        note_de: "Mit Kontakt: abgeschlossen mit einem anderen Ergebnis als „kein Kontakt“ oder „unbekannt verzogen“. \
                  Erfolg: Wohnung erhalten oder Ersatzwohnraum.",
        count_heading_de: "Fälle",
        rows: outcome_rows,
    });

    // How kept tenancies were secured.
    let kept = outcome_node[&CaseOutcome::WohnungErhalten];
    let mut means_rows = vec![row("WOHNUNG_ERHALTEN", "Wohnung erhalten", kept)];
    let mut means_nodes = Vec::new();
    for m in RescueMeans::ALL {
        let node =
            s.count(count_where(&|r| r.outcome == Some(CaseOutcome::WohnungErhalten) && r.rescue_means == Some(*m)));
        means_nodes.push(node);
        means_rows.push(row(m.as_str(), labels::rescue_means(*m), node));
    }
    s.sum(kept, &means_nodes);
    drafts.push(Draft {
        key: "rescue_means",
        title: "How kept tenancies were secured",
        title_de: "Mittel der Wohnungssicherung",
        includes_erased: true,
        note: "Rescue means recorded when a case closed as WOHNUNG_ERHALTEN: loan or grant, SGB II or XII, own means.",
        note_de: "Beim Abschluss „Wohnung erhalten“ erfasstes Mittel: Darlehen oder Beihilfe, SGB II oder XII, eigene \
                  Mittel.",
        count_heading_de: "Fälle",
        rows: means_rows,
    });

    // Rent-debt takeovers from the completed referrals.
    let takeover_referrals: Vec<&Referral> = records
        .iter()
        .flat_map(|r| r.referrals.iter())
        .filter(|r| {
            matches!(r.category, ReferralCategory::RentDebtTakeoverSgb2 | ReferralCategory::RentDebtTakeoverSgb12)
                && r.state == ReferralState::Completed
        })
        .collect();
    let mut takeover_rows = Vec::new();
    let mut approved_parts = Vec::new();
    let mut approved_amounts = Vec::new();
    let kinds = [
        ("SGB2_LOAN", "SGB II, Darlehen", ReferralCategory::RentDebtTakeoverSgb2, CompletionResult::ApprovedLoan),
        ("SGB2_GRANT", "SGB II, Beihilfe", ReferralCategory::RentDebtTakeoverSgb2, CompletionResult::ApprovedGrant),
        ("SGB12_LOAN", "SGB XII, Darlehen", ReferralCategory::RentDebtTakeoverSgb12, CompletionResult::ApprovedLoan),
        ("SGB12_GRANT", "SGB XII, Beihilfe", ReferralCategory::RentDebtTakeoverSgb12, CompletionResult::ApprovedGrant),
    ];
    let amount_cell = |s: &mut Suppression, of: &[&&Referral], count: usize| {
        let amounts: Vec<i64> = of.iter().filter_map(|r| r.completion.as_ref()?.amount.map(|a| a.get())).collect();
        if amounts.is_empty() && !of.is_empty() {
            (AmountCell::NotRecorded, None)
        } else {
            let node = s.amount(amounts.iter().sum(), amounts.len() as i64, count);
            (AmountCell::Node(node), Some(node))
        }
    };
    let result_of = |r: &Referral| r.completion.as_ref().map(|c| c.result);
    for (key, label, category, result) in kinds {
        let of: Vec<&&Referral> =
            takeover_referrals.iter().filter(|r| r.category == category && result_of(r) == Some(result)).collect();
        let node = s.count(of.len() as i64);
        let (cell, amount_node) = amount_cell(&mut s, &of, node);
        approved_parts.push(node);
        approved_amounts.push(amount_node);
        let mut dr = row(key, label, node);
        dr.amount = Some(cell);
        takeover_rows.push(dr);
    }
    let approved_refs: Vec<&&Referral> = takeover_referrals
        .iter()
        .filter(|r| matches!(result_of(r), Some(CompletionResult::ApprovedLoan | CompletionResult::ApprovedGrant)))
        .collect();
    let approved = s.count(approved_refs.len() as i64);
    s.sum(approved, &approved_parts);
    let (approved_cell, approved_amount) = amount_cell(&mut s, &approved_refs, approved);
    if let Some(total_amount) = approved_amount {
        let parts: Vec<usize> = approved_amounts.iter().flatten().copied().collect();
        s.sum(total_amount, &parts);
    }
    let mut approved_row = row("approved", "Übernahmen bewilligt", approved);
    approved_row.amount = Some(approved_cell);
    takeover_rows.insert(0, approved_row);
    let rejected =
        s.count(takeover_referrals.iter().filter(|r| result_of(r) == Some(CompletionResult::Rejected)).count() as i64);
    let other = s.count(
        takeover_referrals
            .iter()
            .filter(|r| {
                !matches!(
                    result_of(r),
                    Some(CompletionResult::ApprovedLoan | CompletionResult::ApprovedGrant | CompletionResult::Rejected)
                )
            })
            .count() as i64,
    );
    let completed = s.count(takeover_referrals.len() as i64);
    s.sum(completed, &[approved, rejected, other]);
    takeover_rows.insert(0, row("completed", "Vermittlungen zur Mietschuldenübernahme erledigt", completed));
    takeover_rows.push(row("REJECTED", "nach Prüfung abgelehnt", rejected));
    takeover_rows.push(row("other_result", "anderes Ergebnis (Vereinbarung, Leistung erbracht)", other));
    drafts.push(Draft {
        key: "takeovers",
        title: "Rent-debt takeovers",
        title_de: "Mietschuldenübernahmen",
        includes_erased: false,
        note: "Completed referrals of category rent-debt takeover (SGB II §22(8), SGB XII §36) of the year's cases, per \
               referral; amounts where the completion carries one. Erased cases cannot count here.",
        note_de: "Erledigte Vermittlungen zur Mietschuldenübernahme (§ 22 Abs. 8 SGB II, § 36 SGB XII) der Fälle des \
                  Jahres, je Vermittlung; Beträge, soweit bei der Erledigung angegeben. Gelöschte Fälle können hier \
                  nicht zählen.",
        count_heading_de: "Vermittlungen",
        rows: takeover_rows,
    });

    // Days from referral to decision, per recipient.
    let mut per_partner: BTreeMap<String, (OrgId, Vec<i64>)> = BTreeMap::new();
    for r in records.iter().flat_map(|r| r.referrals.iter()) {
        let decided = r.history.iter().find(|t| matches!(t.to, ReferralState::Accepted | ReferralState::Declined));
        if let Some(t) = decided {
            let name = orgs.get(&r.recipient).cloned().unwrap_or_else(|| r.recipient.to_string());
            let days = r.created_at.day().days_until(t.at.day());
            per_partner
                .entry(format!("{name}\u{0}{}", r.recipient))
                .or_insert((r.recipient.clone(), vec![]))
                .1
                .push(days);
        }
    }
    let all_days: Vec<i64> = per_partner.values().flat_map(|(_, d)| d.iter().copied()).collect();
    let decisions = s.count(all_days.len() as i64);
    let mut decision_rows = Vec::new();
    let mut decision_parts = Vec::new();
    let mut total_row = row("total", "alle Stellen", decisions);
    total_row.median = Some(median(&all_days));
    decision_rows.push(total_row);
    for (label, (id, days)) in &per_partner {
        let node = s.count(days.len() as i64);
        decision_parts.push(node);
        let name = label.split('\u{0}').next().unwrap_or_default();
        let mut dr = row(id.as_str(), name, node);
        dr.median = Some(median(days));
        decision_rows.push(dr);
    }
    s.sum(decisions, &decision_parts);
    drafts.push(Draft {
        key: "decision_days",
        title: "Days from referral to decision, per partner",
        title_de: "Tage bis zur Entscheidung je Stelle",
        includes_erased: false,
        note: "Calendar days from a referral's creation to its first ACCEPTED or DECLINED; median over five or more \
               decisions. Erased cases cannot count here.",
        note_de: "Kalendertage von der Vermittlung bis zur ersten Annahme oder Ablehnung; Median ab fünf \
                  Entscheidungen. Gelöschte Fälle können hier nicht zählen.",
        count_heading_de: "Entscheidungen",
        rows: decision_rows,
    });

    // Casework: reaching the household, repeat cases, and whether kept tenancies held.
    let reached = s.count(count_where(&|r| r.casework.as_ref().is_some_and(|c| c.days_to_contact.is_some())));
    let not_reached = s.count(count_where(&|r| r.casework.as_ref().is_some_and(|c| c.days_to_contact.is_none())));
    s.sum(total, &[reached, not_reached, erased]);
    let contact_days: Vec<i64> =
        records.iter().filter_map(|r| r.casework.as_ref().and_then(|c| c.days_to_contact)).collect();
    let mut reached_row = row("reached", "Haushalt erreicht (Kontaktversuch mit Erfolg erfasst)", reached);
    reached_row.median = Some(median(&contact_days));
    let repeat = s.count(count_where(&|r| r.casework.as_ref().is_some_and(|c| c.repeat)));
    drafts.push(Draft {
        key: "casework",
        title: "Reaching the household and repeat cases",
        title_de: "Erreichbarkeit und Wiederholungsfälle",
        includes_erased: false,
        note: "Reached: a contact attempt recorded as successful; median days from opening to that first contact.                Repeat: the household returned after a closed case. Erased cases keep no casework.",
        note_de: "Erreicht: ein Kontaktversuch als erfolgreich erfasst; Median der Tage von der Eröffnung bis zu                   diesem Erstkontakt. Wiederholungsfall: der Haushalt kam nach einem abgeschlossenen Fall erneut.                   Gelöschte Fälle enthalten keine Fallarbeit.",
        count_heading_de: "Fälle",
        rows: vec![
            row("total", "Fälle insgesamt", total),
            reached_row,
            row("not_reached", "noch nicht erreicht", not_reached),
            row("erased", "nicht erfasst (gelöschter Fall)", erased),
            row("repeat", "Wiederholungsfälle", repeat),
        ],
    });
    let kept_live = s.count(count_where(&|r| r.outcome == Some(CaseOutcome::WohnungErhalten) && !r.erased));
    let mut held_rows = vec![row("kept", "Wohnung erhalten (gespeicherte Fälle)", kept_live)];
    for (i, months) in ["3", "6", "12"].into_iter().enumerate() {
        let with = |want: Option<bool>| {
            count_where(&|r| {
                r.outcome == Some(CaseOutcome::WohnungErhalten)
                    && r.casework.as_ref().is_some_and(|c| c.held[i] == want)
            })
        };
        let (held, lost, open) = (s.count(with(Some(true))), s.count(with(Some(false))), s.count(with(None)));
        s.sum(kept_live, &[held, lost, open]);
        held_rows.push(row(format!("held_{months}"), format!("nach {months} Monaten: Wohnung gehalten"), held));
        held_rows.push(row(format!("lost_{months}"), format!("nach {months} Monaten: nicht gehalten"), lost));
        held_rows.push(row(format!("open_{months}"), format!("nach {months} Monaten: noch nicht geprüft"), open));
    }
    drafts.push(Draft {
        key: "follow_ups",
        title: "Kept tenancies followed up after 3, 6 and 12 months",
        title_de: "Verstetigung: gehaltene Wohnungen nach 3, 6 und 12 Monaten",
        includes_erased: false,
        note: "Cases closed as WOHNUNG_ERHALTEN, by the result of the follow-up at 3, 6 and 12 months.",
        note_de: "Als „Wohnung erhalten“ abgeschlossene Fälle nach dem Ergebnis der Wiedervorlage nach 3, 6 und 12 \
                  Monaten.",
        count_heading_de: "Fälle",
        rows: held_rows,
    });

    // Household, gender, age, district.
    drafts.push(partition(
        &mut s,
        HouseholdType::ALL
            .iter()
            .map(|v| {
                (v.as_str().to_owned(), labels::household(*v).to_owned(), count_where(&|r| r.household_type == *v))
            })
            .collect(),
        ("household_type", "Household type", "Haushaltstyp", true, "", ""),
    ));

    let mut gender_nodes = HashMap::new();
    let mut gender_rows = vec![row("total", "Fälle insgesamt", total)];
    for g in Gender::ALL {
        let node = s.count(count_where(&|r| r.main_tenant.is_some_and(|(x, _)| x == *g)));
        gender_nodes.insert(*g, node);
        gender_rows.push(row(g.as_str(), labels::gender(*g), node));
    }
    gender_rows.push(row("erased", "nicht erfasst (gelöschter Fall)", erased));
    let mut parts: Vec<usize> = Gender::ALL.iter().map(|g| gender_nodes[g]).collect();
    parts.push(erased);
    s.sum(total, &parts);
    drafts.push(Draft {
        key: "gender",
        title: "Gender of the main tenant",
        title_de: "Geschlecht der Hauptmieterin oder des Hauptmieters",
        includes_erased: false,
        note: "Erased cases do not keep the gender: they are counted as not recorded.",
        note_de: "Gelöschte Fälle enthalten kein Geschlecht: sie sind als „nicht erfasst“ gezählt.",
        count_heading_de: "Fälle",
        rows: gender_rows,
    });

    let mut age_rows = vec![row("total", "Fälle insgesamt", total)];
    let mut parts = Vec::new();
    for key in AGE_GROUPS {
        let node = s.count(count_where(&|r| r.main_tenant.is_some_and(|(_, age)| age_group(age).0 == key)));
        parts.push(node);
        age_rows.push(row(key, age_group_label(key), node));
    }
    parts.push(erased);
    age_rows.push(row("erased", "nicht erfasst (gelöschter Fall)", erased));
    s.sum(total, &parts);
    drafts.push(Draft {
        key: "age_group",
        title: "Age group of the main tenant",
        title_de: "Altersgruppe der Hauptmieterin oder des Hauptmieters",
        includes_erased: false,
        note: "Opening year minus year of birth. Erased cases do not keep the age: they are counted as not recorded.",
        note_de: "Eröffnungsjahr minus Geburtsjahr. Gelöschte Fälle enthalten kein Alter: sie sind als „nicht erfasst“ \
                  gezählt.",
        count_heading_de: "Fälle",
        rows: age_rows,
    });

    drafts.push(partition(
        &mut s,
        Stadtbezirk::ALL
            .iter()
            .map(|v| (v.as_str().to_owned(), labels::district(*v).to_owned(), count_where(&|r| r.stadtbezirk == *v)))
            .collect(),
        ("stadtbezirk", "District (Stadtbezirk)", "Stadtbezirke", true, "", ""),
    ));

    // Women and violence protection, reported separately.
    let women: Vec<&Record> =
        records.iter().filter(|r| r.main_tenant.is_some_and(|(g, _)| g == Gender::Female)).collect();
    let women_total = gender_nodes[&Gender::Female];
    let (women_nodes, women_rows) = group_outcomes(&mut s, women_total, &women);
    drafts.push(Draft {
        key: "women",
        title: "Women (female main tenant)",
        title_de: "Frauen (Hauptmieterin)",
        includes_erased: false,
        note: "Cases whose main tenant is female; erased cases do not keep the gender and cannot count here.",
        note_de: "Fälle mit einer Hauptmieterin; gelöschte Fälle enthalten kein Geschlecht und können hier nicht zählen.",
        count_heading_de: "Fälle",
        rows: women_rows,
    });

    let violence: Vec<&Record> =
        records.iter().filter(|r| r.schutzsperre == Some(true) || r.womens_counselling).collect();
    let violence_total = s.count(violence.len() as i64);
    let (violence_nodes, mut violence_rows) = group_outcomes(&mut s, violence_total, &violence);
    let by = |f: &dyn Fn(&Record) -> bool| violence.iter().filter(|r| f(r)).count() as i64;
    let both = s.count(by(&|r| r.schutzsperre == Some(true) && r.womens_counselling));
    let block_only = s.count(by(&|r| r.schutzsperre == Some(true) && !r.womens_counselling));
    let referral_only = s.count(by(&|r| r.schutzsperre == Some(false) && r.womens_counselling));
    let referral_erased = s.count(by(&|r| r.schutzsperre.is_none()));
    s.sum(violence_total, &[both, block_only, referral_only, referral_erased]);
    violence_rows.extend([
        row("schutzsperre_and_referral", "Schutzsperre und Vermittlung an Frauenberatung/Gewaltschutz", both),
        row("schutzsperre_only", "nur Schutzsperre", block_only),
        row("referral_only", "nur Vermittlung an Frauenberatung/Gewaltschutz", referral_only),
        row("referral_erased", "Vermittlung an Frauenberatung/Gewaltschutz, gelöschter Fall", referral_erased),
    ]);
    drafts.push(Draft {
        key: "violence_protection",
        title: "Violence protection (Schutzsperre or women's counselling referral)",
        title_de: "Gewaltschutz (Schutzsperre oder Vermittlung an Frauenberatung)",
        includes_erased: true,
        note: "Cases with a Schutzsperre or a referral of category WOMENS_COUNSELLING. Erased cases count only through \
               the referral: their statistics do not keep the Schutzsperre.",
        note_de: "Fälle mit Schutzsperre oder einer Vermittlung an Frauenberatung/Gewaltschutz. Gelöschte Fälle zählen \
                  nur über die Vermittlung: ihre Statistik enthält keine Schutzsperre.",
        count_heading_de: "Fälle",
        rows: violence_rows,
    });

    // Added last so that their nodes come after the others' (the rule breaks ties by node order).
    let by_month = month_draft(&mut s, records, total);
    let at = drafts.iter().position(|d| d.key == "cases").map_or(0, |i| i + 1);
    drafts.insert(at, by_month);
    let by_stage = outcome_by_stage_draft(&mut s, records, &drafts, &main);
    let at = drafts.iter().position(|d| d.key == "outcomes").map_or(drafts.len(), |i| i + 1);
    drafts.insert(at, by_stage);

    s.run();

    // Rates, shown when numerator and denominator are.
    let mut rates = Vec::new();
    for (group, nodes) in [("all", &main), ("women", &women_nodes), ("violence_protection", &violence_nodes)] {
        let table = match group {
            "all" => "outcomes",
            other => other,
        };
        for (key, label, num, den, num_key, den_key) in [
            (
                "contact_rate",
                "Kontaktquote (mit Kontakt / abgeschlossen)",
                nodes.contact,
                nodes.closed,
                "contact",
                "closed",
            ),
            (
                "success_rate_closed",
                "Erfolgsquote über alle abgeschlossenen Fälle",
                nodes.success,
                nodes.closed,
                "success",
                "closed",
            ),
            (
                "success_rate_contact",
                "Erfolgsquote über abgeschlossene Fälle mit Kontakt",
                nodes.success,
                nodes.contact,
                "success",
                "contact",
            ),
        ] {
            let percent = if s.is_suppressed(num) || s.is_suppressed(den) {
                Cell::Suppressed
            } else if s.value(den) == 0 {
                Cell::None
            } else {
                Cell::Percent(s.value(num) as f64 * 100.0 / s.value(den) as f64)
            };
            rates.push(Rate {
                group,
                key,
                label_de: label.to_owned(),
                numerator: format!("{table}.{num_key}"),
                denominator: format!("{table}.{den_key}"),
                percent,
            });
        }
    }

    let cell = |s: &Suppression, n: usize| if s.is_suppressed(n) { Cell::Suppressed } else { Cell::Count(s.value(n)) };
    let tables = drafts
        .into_iter()
        .map(|d| Table {
            key: d.key,
            title: d.title,
            title_de: d.title_de,
            includes_erased: d.includes_erased,
            note: d.note,
            note_de: d.note_de,
            count_heading_de: d.count_heading_de,
            rows: d
                .rows
                .into_iter()
                .map(|r| Row {
                    count: cell(&s, r.count),
                    amount_cents: r.amount.map(|a| match a {
                        AmountCell::NotRecorded => Cell::NotRecorded,
                        AmountCell::Node(n) if s.is_suppressed(n) => Cell::Suppressed,
                        AmountCell::Node(n) => Cell::Cents(s.value(n)),
                    }),
                    median_days: r.median.map(|m| match m {
                        Some(d) => Cell::Days(d),
                        None if s.value(r.count) == 0 => Cell::None,
                        None => Cell::Suppressed,
                    }),
                    key: r.key,
                    label_de: r.label_de,
                })
                .collect(),
        })
        .collect();

    KeyFigures {
        year,
        organisation,
        generated_at: rfc3339(now),
        suppression: SuppressionNote { marker: SUPPRESSED, rule: RULE },
        tables,
        rates,
        not_recorded: not_recorded_list(),
    }
}

fn age_group_label(key: &str) -> &'static str {
    [None, Some(20), Some(30), Some(50), Some(70)]
        .into_iter()
        .map(age_group)
        .find(|(k, _)| *k == key)
        .map_or("", |(_, label)| label)
}

/// The median of `days`, or `None` under five values (too few to show).
fn median(days: &[i64]) -> Option<f64> {
    if days.len() < 5 {
        return None;
    }
    let mut v = days.to_vec();
    v.sort_unstable();
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) { (v[mid - 1] + v[mid]) as f64 / 2.0 } else { v[mid] as f64 })
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

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

impl KeyFigures {
    /// The table with `key`.
    pub fn table(&self, key: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.key == key)
    }

    /// The rate `key` of `group`.
    pub fn rate(&self, group: &str, key: &str) -> Option<&Rate> {
        self.rates.iter().find(|r| r.group == group && r.key == key)
    }

    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Html => self.to_html(),
            Format::Csv => self.to_csv(),
            Format::Json => self.to_json(),
        }
    }

    /// Pretty-printed JSON with English keys.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }

    /// `table;row;value` lines with a header row. Amounts are in `TABLE.amount_eur` (euros with
    /// two decimals), medians in `TABLE.median_days`, rates in `rates` (`GROUP.KEY`), and the
    /// figures the hub does not record in `not_recorded`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("table;row;value\n");
        let mut line = |t: &str, r: &str, v: &str| {
            let _ = writeln!(out, "{};{};{}", csv_field(t), csv_field(r), csv_field(v));
        };
        line("meta", "year", &self.year.to_string());
        line("meta", "organisation", self.organisation.as_ref().map_or("all", |o| o.id.as_str()));
        line("meta", "generated_at", &self.generated_at);
        for t in &self.tables {
            for r in &t.rows {
                line(t.key, &r.key, &r.count.plain());
            }
            for r in &t.rows {
                if let Some(a) = r.amount_cents {
                    line(&format!("{}.amount_eur", t.key), &r.key, &a.plain());
                }
                if let Some(m) = r.median_days {
                    line(&format!("{}.median_days", t.key), &r.key, &m.plain());
                }
            }
        }
        for r in &self.rates {
            line("rates", &format!("{}.{}", r.group, r.key), &r.percent.plain());
        }
        for n in &self.not_recorded {
            line("not_recorded", n.key, NOT_RECORDED);
        }
        out
    }

    /// The figures as a German CSV for people (the dashboard's download, opened in a spreadsheet):
    /// German headings and labels instead of keys, decimal commas, the time of the report in Hannover
    /// time. [`KeyFigures::to_csv`] stays the stable format for programs.
    pub fn to_csv_de(&self) -> String {
        let mut out = String::from("Bereich;Angabe;Wert\n");
        let mut line = |t: &str, r: &str, v: &str| {
            let _ = writeln!(out, "{};{};{}", csv_field(t), csv_field(r), csv_field(v));
        };
        line("Bericht", "Jahr der Fallöffnung", &self.year.to_string());
        let org = self.organisation.as_ref().map_or_else(|| "alle Fachstellen".to_owned(), |o| o.name.clone());
        line("Bericht", "Fachstelle", &org);
        line("Bericht", "Erstellt am", &self.generated_de());
        for t in &self.tables {
            for r in &t.rows {
                line(t.title_de, &r.label_de, &r.count.german());
            }
            for r in &t.rows {
                if let Some(a) = r.amount_cents {
                    let v = match a {
                        Cell::Cents(c) => format!("{},{:02}", c / 100, c % 100),
                        other => other.german(),
                    };
                    line(&format!("{} – Summe in Euro", t.title_de), &r.label_de, &v);
                }
                if let Some(m) = r.median_days {
                    line(&format!("{} – Median in Tagen", t.title_de), &r.label_de, &m.german_derived());
                }
            }
        }
        for r in &self.rates {
            line("Quoten", &r.label_de, &r.percent.german_derived());
        }
        for n in &self.not_recorded {
            line("Nicht erfasst", n.text_de, "nicht erfasst");
        }
        out
    }

    /// A self-contained German HTML document with the charts inline (SVG); every value is escaped.
    /// Printing it from a browser ("Als PDF speichern") is the PDF export: see
    /// [`charts::PRINT_CSS`].
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let title = format!("Kennzahlen {}", self.year);
        h.push_str("<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
        h.push_str(&escape(&title));
        h.push_str("</title>\n<style>");
        h.push_str("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}");
        h.push_str("table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #999;padding:.2em .5em;");
        h.push_str("text-align:left}td.n{text-align:right}th{background:#eee}tr.sum td{font-weight:bold}");
        h.push_str(".note{color:#444}");
        h.push_str(charts::CHART_CSS);
        h.push_str(charts::PRINT_CSS);
        h.push_str("</style>\n</head>\n<body>\n<h1>");
        h.push_str(&escape(&title));
        h.push_str("</h1>\n");
        h.push_str(&self.summary_html());
        h.push_str(&charts::charts_html(self));
        h.push_str(&self.tables_html());
        h.push_str("</body>\n</html>\n");
        h
    }

    /// When the report was made, in German local time ("24.04.2026 11:00"); as stored if unreadable.
    fn generated_de(&self) -> String {
        time::OffsetDateTime::parse(&self.generated_at, &time::format_description::well_known::Rfc3339)
            .map(|t| crate::labels::instant(Instant::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64)))
            .unwrap_or_else(|_| self.generated_at.clone())
    }

    /// Whose cases of which year the report counts, when it was made, and what it leaves out
    /// (HTML paragraphs, escaped): the report and the dashboard page show it below the heading.
    pub fn summary_html(&self) -> String {
        let scope = match &self.organisation {
            Some(o) => o.name.clone(),
            None => "alle Fachstellen".to_owned(),
        };
        format!(
            "<p>Fälle, die im Jahr {} eröffnet wurden: {}.<br>Erstellt am: {}</p>\n<p class=\"note\">Fälle mit \
             eingeschränkter Verarbeitung (Art. 18 DSGVO) sind nicht enthalten.</p>\n",
            self.year,
            escape(&scope),
            escape(&self.generated_de())
        )
    }

    /// The suppression rule, every table with its rates, and what the hub does not record (HTML
    /// sections, escaped): the report and the dashboard page render the tables through this alone.
    pub fn tables_html(&self) -> String {
        let mut h = String::new();
        h.push_str("<h2>Geheimhaltung kleiner Fallzahlen</h2>\n<p>");
        h.push_str(&escape(RULE_DE));
        h.push_str("</p>\n");
        for t in &self.tables {
            let _ = writeln!(h, "<h2>{}</h2>", escape(t.title_de));
            let mut note = t.note_de.to_owned();
            if t.includes_erased && !note.contains("gelöscht") {
                note = format!("{note} Gelöschte Fälle sind enthalten.").trim().to_owned();
            }
            if !note.is_empty() {
                let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(&note));
            }
            if t.key == OUTCOME_BY_STAGE {
                self.cross_table_html(&mut h, t);
                continue;
            }
            let amounts = t.rows.iter().any(|r| r.amount_cents.is_some());
            let medians = t.rows.iter().any(|r| r.median_days.is_some());
            let _ = write!(h, "<table>\n<tr><th>Merkmal</th><th>{}</th>", escape(t.count_heading_de));
            if amounts {
                h.push_str("<th>Betrag</th>");
            }
            if medians {
                h.push_str("<th>Median (Tage)</th>");
            }
            h.push_str("</tr>\n");
            for r in &t.rows {
                let class = if r.key == "total" { " class=\"sum\"" } else { "" };
                let _ = write!(
                    h,
                    "<tr{class}><td>{}</td><td class=\"n\">{}</td>",
                    escape(&r.label_de),
                    escape(&r.count.german())
                );
                if amounts {
                    let _ = write!(
                        h,
                        "<td class=\"n\">{}</td>",
                        escape(&r.amount_cents.map_or(String::new(), Cell::german))
                    );
                }
                if medians {
                    let _ = write!(
                        h,
                        "<td class=\"n\">{}</td>",
                        escape(&r.median_days.map_or(String::new(), Cell::german_derived))
                    );
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n");
            if t.key == "outcomes" {
                self.rates_html(&mut h, "all", "Quoten");
            }
            if t.key == "women" {
                self.rates_html(&mut h, "women", "Quoten (Frauen)");
            }
            if t.key == "violence_protection" {
                self.rates_html(&mut h, "violence_protection", "Quoten (Gewaltschutz)");
            }
        }
        h.push_str(
            "<h2>Nicht erfasst</h2>\n<p>Diese Angaben speichert der Hub nicht; sie fehlen in den Tabellen oder \
                    sind als „nicht erfasst“ ausgewiesen:</p>\n<ul>\n",
        );
        for n in &self.not_recorded {
            let _ = writeln!(h, "<li>{}</li>", escape(n.text_de));
        }
        h.push_str("</ul>\n");
        h
    }

    /// The cross table of outcome groups by stage as a matrix: a row per stage with cases (its
    /// count from `first_stage` first), a column per outcome group. Stages without cases are left
    /// out here; CSV and JSON carry every cell.
    fn cross_table_html(&self, h: &mut String, t: &Table) {
        h.push_str("<table>\n<tr><th>Stufe beim Erstkontakt</th><th>Fälle</th>");
        for (_, label) in OUTCOME_GROUPS {
            let _ = write!(h, "<th>{}</th>", escape(label));
        }
        h.push_str("</tr>\n");
        let stages = self.table("first_stage").map_or(&[][..], |s| &s.rows[..]);
        for stage in stages.iter().filter(|r| r.key != "total" && r.count != Cell::Count(0)) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td>",
                escape(&stage.label_de),
                escape(&stage.count.german())
            );
            for (group, _) in OUTCOME_GROUPS {
                let cell = t.row(&format!("{}.{group}", stage.key)).map_or(Cell::None, |r| r.count);
                let _ = write!(h, "<td class=\"n\">{}</td>", escape(&cell.german()));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }

    fn rates_html(&self, h: &mut String, group: &str, heading: &str) {
        let _ = write!(h, "<table>\n<tr><th>{}</th><th>Prozent</th></tr>\n", escape(heading));
        for r in self.rates.iter().filter(|r| r.group == group) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&r.label_de),
                escape(&r.percent.german_derived())
            );
        }
        h.push_str("</table>\n");
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A suppression over `values` with `relations` as (total, parts); returns what is suppressed.
    fn run(values: &[i64], relations: &[(usize, &[usize])]) -> Vec<bool> {
        let mut s = Suppression::default();
        for v in values {
            s.count(*v);
        }
        for (t, parts) in relations {
            s.sum(*t, parts);
        }
        s.run();
        s.nodes.iter().map(|n| n.suppressed).collect()
    }

    #[test]
    fn cells_from_one_to_four_are_suppressed_zero_and_five_are_not() {
        // total 0+1+4+5+20 = 30; 1 and 4 are primary, nothing else is needed: two hidden.
        let s = run(&[30, 0, 1, 4, 5, 20], &[(0, &[1, 2, 3, 4, 5])]);
        assert_eq!(s, [false, false, true, true, false, false]);
    }

    #[test]
    fn a_single_suppressed_cell_takes_the_next_smallest_of_its_row_with_it() {
        // 3 alone would be total minus the rest: the smallest other non-zero cell (6) goes too,
        // not the zero, not the larger ones.
        let s = run(&[29, 3, 0, 6, 8, 12], &[(0, &[1, 2, 3, 4, 5])]);
        assert_eq!(s, [false, true, false, true, false, false]);
    }

    #[test]
    fn a_total_under_five_is_suppressed_and_a_lone_part_then_hides_with_it() {
        // total 3 = 3 + 0: both suppressed (primary), nothing derivable.
        let s = run(&[3, 3, 0], &[(0, &[1, 2])]);
        assert_eq!(s, [true, true, false]);
        // total 7 = 7 + 0 where 7 is hidden by another relation: the total must go too.
        let s = run(&[7, 7, 0, 9, 2], &[(0, &[1, 2]), (3, &[1, 4])]);
        assert!(s[1] && s[4], "2 primary and 7 as its complement: {s:?}");
        assert!(s[0], "7 = total - 0 would reveal the hidden 7: {s:?}");
    }

    #[test]
    fn sub_sums_cannot_reveal_a_cell_across_relations() {
        // T = a + b + c + d with S = a + b shown as a sub-sum; c = 3 (primary). The row rule hides
        // a (6) with it, then b (10) for S = a + b; but T - S = c + d would still give c = 3 from
        // d. The exact check hides d as well.
        // nodes: 0 T, 1 a, 2 b, 3 c, 4 d, 5 S
        let mut sup = Suppression::default();
        for v in [40, 6, 10, 3, 21, 16] {
            sup.count(v);
        }
        sup.sum(0, &[1, 2, 3, 4]);
        sup.sum(5, &[1, 2]);
        sup.run();
        let hidden: Vec<bool> = sup.nodes.iter().map(|n| n.suppressed).collect();
        assert_eq!(hidden, [false, true, true, true, true, false]);
        assert_eq!(sup.derivable(), None);
    }

    #[test]
    fn the_exact_check_finds_what_the_row_rule_misses() {
        // Hidden {a, c} in T = a + b + c + d and S = a + b with b, S shown: a = S - b.
        let mut sup = Suppression::default();
        for v in [40, 6, 10, 3, 21, 16] {
            sup.count(v);
        }
        sup.sum(0, &[1, 2, 3, 4]);
        sup.sum(5, &[1, 2]);
        sup.nodes[1].suppressed = true;
        sup.nodes[3].suppressed = true;
        assert!(sup.derivable().is_some());
    }

    #[test]
    fn shared_totals_carry_a_suppression_into_every_table() {
        // N = 12 split by two tables; women (node 1) = 3 in table one is primary. In table two,
        // women = 1 + 2 (women's outcomes) both primary. Table one: 3 and 9 hidden, N shown.
        let s = run(&[12, 3, 9, 1, 2], &[(0, &[1, 2]), (1, &[3, 4])]);
        assert_eq!(s, [false, true, true, true, true]);
    }

    #[test]
    fn amounts_need_five_contributors_and_follow_their_count() {
        let mut s = Suppression::default();
        let total = s.count(9);
        let a = s.count(6);
        let b = s.count(3);
        s.sum(total, &[a, b]);
        let amount_total = s.amount(900_000, 9, total);
        let amount_a = s.amount(600_000, 4, a); // six takeovers, only four with an amount
        let amount_b = s.amount(300_000, 3, b);
        s.sum(amount_total, &[amount_a, amount_b]);
        s.run();
        assert!(s.is_suppressed(b) && s.is_suppressed(a), "3 and its complement 6");
        assert!(s.is_suppressed(amount_a) && s.is_suppressed(amount_b));
        assert!(!s.is_suppressed(total) && !s.is_suppressed(amount_total));
    }

    #[test]
    fn nothing_is_suppressed_when_every_cell_is_zero_or_at_least_five() {
        let s = run(&[25, 5, 0, 20], &[(0, &[1, 2, 3])]);
        assert!(s.iter().all(|x| !x));
    }

    /// A stored case of the cohort opened in `month`, at `stage`, with `outcome`.
    fn record(month: u8, stage: ThreatStage, outcome: Option<CaseOutcome>) -> Record {
        Record {
            month,
            route_in: RouteIn::ALL[0],
            first_stage: Some(stage),
            outcome,
            // A closure as WOHNUNG_ERHALTEN must name one (and no other outcome may).
            rescue_means: (outcome == Some(CaseOutcome::WohnungErhalten)).then_some(RescueMeans::ALL[0]),
            stadtbezirk: Stadtbezirk::ALL[0],
            household_type: HouseholdType::ALL[0],
            main_tenant: Some((Gender::Female, Some(40))),
            schutzsperre: Some(false),
            womens_counselling: false,
            referrals: vec![],
            erased: false,
            casework: Some(Casework::default()),
        }
    }

    /// The non-zero cells of `table` as (row, value).
    fn cells(k: &KeyFigures, table: &str) -> Vec<(String, String)> {
        let t = k.table(table).expect("table");
        t.rows.iter().filter(|r| r.count != Cell::Count(0)).map(|r| (r.key.clone(), r.count.plain())).collect()
    }

    #[test]
    fn casework_counts_reach_repeats_and_kept_tenancies_with_the_same_suppression() {
        // 12 cases: 7 reached after 2..8 days, 5 not reached; 6 repeat cases; 10 kept, of which after three
        // months 6 held, 1 lost (suppressed, and one more with it), 3 not yet checked.
        let kept = Some(CaseOutcome::WohnungErhalten);
        let mut records = Vec::new();
        for i in 0..12i64 {
            let mut r = record(1, ThreatStage::Mahnung, if i < 10 { kept } else { None });
            let held = match i {
                0..=5 => Some(true),
                6 => Some(false),
                _ => None,
            };
            r.casework = Some(Casework {
                days_to_contact: (i < 7).then_some(i + 2),
                repeat: i % 2 == 0,
                held: [held, None, None],
            });
            records.push(r);
        }
        let k = compute(2026, None, &records, &HashMap::new(), Instant::from_millis(0));
        let cw = k.table("casework").expect("casework table");
        let value = |key: &str| cw.row(key).map(|r| r.count.plain());
        assert_eq!(value("reached").as_deref(), Some("7"));
        assert_eq!(value("not_reached").as_deref(), Some("5"));
        assert_eq!(value("repeat").as_deref(), Some("6"));
        assert_eq!(cw.row("reached").and_then(|r| r.median_days).map(Cell::plain).as_deref(), Some("5.0"));
        let f = k.table("follow_ups").expect("follow-up table");
        let value = |key: &str| f.row(key).map(|r| r.count.plain());
        assert_eq!(value("kept").as_deref(), Some("10"));
        assert_eq!(value("lost_3").as_deref(), Some("<5"), "one case lost: suppressed");
        assert!(
            value("held_3").as_deref() == Some("<5") || value("open_3").as_deref() == Some("<5"),
            "a second cell hides the lost one: {:?} {:?}",
            value("held_3"),
            value("open_3")
        );
        assert_eq!(value("open_12").as_deref(), Some("10"));
    }

    #[test]
    fn a_small_month_hides_with_the_next_smallest_so_the_total_does_not_give_it_back() {
        // 10 in January, 3 in February, 7 in March: February is primary, March its complement.
        let mut records = Vec::new();
        for (month, n) in [(1, 10), (2, 3), (3, 7)] {
            records.extend((0..n).map(|_| record(month, ThreatStage::Mahnung, None)));
        }
        let k = compute(2026, None, &records, &HashMap::new(), Instant::from_millis(0));
        let want = [("total", "20"), ("01", "10"), ("02", "<5"), ("03", "<5")];
        assert_eq!(cells(&k, CASES_BY_MONTH), want.map(|(a, b)| (a.to_owned(), b.to_owned())));
        assert_eq!(k.table(CASES_BY_MONTH).and_then(|t| t.row("12")).map(|r| r.count), Some(Cell::Count(0)));
    }

    #[test]
    fn the_cross_table_hides_with_its_stage_rows_and_outcome_columns() {
        // Mahnung: 8 kept, 6 open; Urteil: 6 kept, 2 without contact.
        let mut records = Vec::new();
        let kept = Some(CaseOutcome::WohnungErhalten);
        let gone = Some(CaseOutcome::KeinKontakt);
        for (stage, outcome, n) in [
            (ThreatStage::Mahnung, kept, 8),
            (ThreatStage::Mahnung, None, 6),
            (ThreatStage::Urteil, kept, 6),
            (ThreatStage::Urteil, gone, 2),
        ] {
            records.extend((0..n).map(|_| record(1, stage, outcome)));
        }
        let k = compute(2026, None, &records, &HashMap::new(), Instant::from_millis(0));
        let cross = k.table(OUTCOME_BY_STAGE).expect("cross table");
        assert_eq!(cross.rows.len(), (ThreatStage::ALL.len() + 1) * OUTCOME_GROUPS.len(), "every cell, zeros too");
        let at = |stage: &str, group: &str| cross.row(&format!("{stage}.{group}")).expect("cell").count;
        assert_eq!(at("URTEIL", "no_contact"), Cell::Suppressed, "primary");
        assert_eq!(at("URTEIL", "success"), Cell::Suppressed, "the row 8 = 6 + 2 would give the 2 back");
        assert_eq!(at("MAHNUNG", "contact_other"), Cell::Count(0));
        // No row under a shown stage and no column under a shown group has one hidden cell alone.
        let stages = k.table("first_stage").expect("stages");
        let outcomes = k.table("outcomes").expect("outcomes");
        for stage in stages.rows.iter().filter(|r| r.key != "total") {
            let hidden = OUTCOME_GROUPS.iter().filter(|(g, _)| at(&stage.key, g) == Cell::Suppressed).count();
            assert!(stage.count == Cell::Suppressed || hidden != 1, "stage {}", stage.key);
        }
        for (group, _) in OUTCOME_GROUPS {
            let hidden = stages.rows.iter().filter(|r| r.key != "total" && at(&r.key, group) == Cell::Suppressed);
            let total = outcomes.row(group).expect("group").count;
            assert!(total == Cell::Suppressed || hidden.count() != 1, "group {group}");
        }
        assert_eq!(stages.row("total").map(|r| r.count), Some(Cell::Count(22)));
    }

    #[test]
    fn medians_need_five_values() {
        assert_eq!(median(&[1, 2, 3, 4]), None);
        assert_eq!(median(&[5, 1, 3, 2, 4]), Some(3.0));
        assert_eq!(median(&[1, 2, 3, 4, 5, 6]), Some(3.5));
    }

    #[test]
    fn cells_render_in_each_format() {
        assert_eq!(Cell::Suppressed.plain(), "<5");
        assert_eq!(Cell::Suppressed.german(), "<5", "a hidden count");
        assert_eq!(
            Cell::Suppressed.german_derived(),
            "nicht ausgewiesen",
            "a hidden rate or median is no small number"
        );
        assert_eq!(Cell::Percent(12.5).german_derived(), "12,5 %");
        assert_eq!(Cell::Cents(156_000).plain(), "1560.00");
        assert_eq!(Cell::Cents(1_234_500).german(), "12.345 €");
        assert_eq!(Cell::Percent(83.333).german(), "83,3 %");
        assert_eq!(serde_json::to_string(&Cell::Suppressed).unwrap(), "\"<5\"");
        assert_eq!(serde_json::to_string(&Cell::Count(7)).unwrap(), "7");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!("CSV".parse::<Format>(), Ok(Format::Csv));
        assert!("pdf".parse::<Format>().is_err());
    }
}
