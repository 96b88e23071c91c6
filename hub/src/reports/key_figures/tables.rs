//! Building the tables of the key figures from the cohort: each table's counts, the additive
//! relations between them that the suppression must respect, the rates over the published counts, and
//! the figures the hub cannot compute. What each table counts is defined in the parent module.

use std::collections::{BTreeMap, HashMap};

use super::cohort::Record;
use super::suppression::{RULE, Suppression};
use super::{
    CASES_BY_MONTH, Cell, KeyFigures, MONTHS_DE, NotRecorded, OUTCOME_BY_STAGE, OUTCOME_GROUPS, OrgRef, Rate, Row,
    SUPPRESSED, SuppressionNote, Table,
};
use crate::audit::export::rfc3339;
use crate::domain::ids::OrgId;
use crate::domain::referral::{Referral, ReferralState};
use crate::domain::time::Instant;
use crate::domain::vocab::{
    CaseOutcome, CompletionResult, Gender, HouseholdType, ReferralCategory, RescueMeans, RouteIn, Stadtbezirk,
    ThreatStage,
};
use crate::labels;

/// The row key of cases without a recorded stage.
const STAGE_NONE: &str = "none";
const STAGE_NONE_DE: &str = "keine Stufe erfasst";

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

/// The suppressed key figures of `records` (the cohort of `year`); `orgs` names the recipients of
/// referrals, `now` dates the report. The tables' counts enter the suppression in the order they are
/// built here: the rule breaks ties by that order, so it is part of the result.
pub(super) fn compute(
    year: i32,
    organisation: Option<OrgRef>,
    records: &[Record],
    orgs: &HashMap<OrgId, String>,
    now: Instant,
) -> KeyFigures {
    let mut s = Suppression::default();
    let mut drafts = Vec::new();

    let (cases, total, erased) = cases_draft(&mut s, records);
    drafts.push(cases);
    drafts.push(partition(
        &mut s,
        total,
        RouteIn::ALL
            .iter()
            .map(|v| {
                (v.as_str().to_owned(), labels::route_in(*v).to_owned(), count_where(records, |r| r.route_in == *v))
            })
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
    drafts.push(first_stage_draft(&mut s, records, total));
    let (outcomes, main, kept) = outcomes_draft(&mut s, records, total);
    drafts.push(outcomes);
    drafts.push(rescue_means_draft(&mut s, records, kept));
    drafts.push(takeovers_draft(&mut s, records));
    drafts.push(decision_days_draft(&mut s, records, orgs));
    drafts.push(casework_draft(&mut s, records, total, erased));
    drafts.push(follow_ups_draft(&mut s, records));
    drafts.push(partition(
        &mut s,
        total,
        HouseholdType::ALL
            .iter()
            .map(|v| {
                (
                    v.as_str().to_owned(),
                    labels::household(*v).to_owned(),
                    count_where(records, |r| r.household_type == *v),
                )
            })
            .collect(),
        ("household_type", "Household type", "Haushaltstyp", true, "", ""),
    ));
    let (gender, female) = gender_draft(&mut s, records, total, erased);
    drafts.push(gender);
    drafts.push(age_group_draft(&mut s, records, total, erased));
    drafts.push(partition(
        &mut s,
        total,
        Stadtbezirk::ALL
            .iter()
            .map(|v| {
                (v.as_str().to_owned(), labels::district(*v).to_owned(), count_where(records, |r| r.stadtbezirk == *v))
            })
            .collect(),
        ("stadtbezirk", "District (Stadtbezirk)", "Stadtbezirke", true, "", ""),
    ));
    let (women, women_nodes) = women_draft(&mut s, records, female);
    drafts.push(women);
    let (violence, violence_nodes) = violence_protection_draft(&mut s, records);
    drafts.push(violence);

    // Added last so that their nodes come after the others' (the rule breaks ties by node order).
    let by_month = month_draft(&mut s, records, total);
    let at = drafts.iter().position(|d| d.key == "cases").map_or(0, |i| i + 1);
    drafts.insert(at, by_month);
    let by_stage = outcome_by_stage_draft(&mut s, records, &drafts, &main);
    let at = drafts.iter().position(|d| d.key == "outcomes").map_or(drafts.len(), |i| i + 1);
    drafts.insert(at, by_stage);

    s.run();

    let rates = rates(&s, [("all", &main), ("women", &women_nodes), ("violence_protection", &violence_nodes)]);
    KeyFigures {
        year,
        organisation,
        generated_at: rfc3339(now),
        suppression: SuppressionNote { marker: SUPPRESSED, rule: RULE },
        tables: finish(&s, drafts),
        rates,
        not_recorded: not_recorded_list(),
    }
}

/// How many records `f` holds for.
fn count_where(records: &[Record], f: impl Fn(&Record) -> bool) -> i64 {
    records.iter().filter(|r| f(r)).count() as i64
}

/// The English and German title and note of a table that partitions the cohort: key, title,
/// German title, whether erased cases count, note, German note.
type Heading = (&'static str, &'static str, &'static str, bool, &'static str, &'static str);

/// A partition of the cohort (`total`) by a key: `items` as (row key, German label, count).
fn partition(s: &mut Suppression, total: usize, items: Vec<(String, String, i64)>, heading: Heading) -> Draft {
    let mut rows = vec![row("total", "Fälle insgesamt", total)];
    let mut parts = Vec::new();
    for (key, label, n) in items {
        let node = s.count(n);
        parts.push(node);
        rows.push(row(key, label, node));
    }
    s.sum(total, &parts);
    let (key, title, title_de, includes_erased, note, note_de) = heading;
    Draft { key, title, title_de, includes_erased, note, note_de, count_heading_de: "Fälle", rows }
}

/// The cohort and where its data comes from; returns the table with the nodes of the total and of
/// the erased cases, which other tables share.
fn cases_draft(s: &mut Suppression, records: &[Record]) -> (Draft, usize, usize) {
    let total = s.count(records.len() as i64);
    let live = s.count(count_where(records, |r| !r.erased));
    let erased = s.count(count_where(records, |r| r.erased));
    s.sum(total, &[live, erased]);
    let draft = Draft {
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
    };
    (draft, total, erased)
}

/// The stage at first contact: a partition of the cohort with a row for cases without a stage.
fn first_stage_draft(s: &mut Suppression, records: &[Record], total: usize) -> Draft {
    let mut stages: Vec<(String, String, i64)> = ThreatStage::ALL
        .iter()
        .map(|v| {
            (v.as_str().to_owned(), labels::stage(*v).to_owned(), count_where(records, |r| r.first_stage == Some(*v)))
        })
        .collect();
    stages.push((STAGE_NONE.into(), STAGE_NONE_DE.into(), count_where(records, |r| r.first_stage.is_none())));
    partition(
        s,
        total,
        stages,
        (
            "first_stage",
            "Stage at first contact",
            "Stufe beim Erstkontakt",
            true,
            "The first threat stage recorded in the case.",
            "Die erste im Fall erfasste Bedrohungsstufe.",
        ),
    )
}

/// Outcomes: a partition into open and the nine outcomes, with closed, contact and success; returns
/// the table with the outcome nodes of all cases and the node of the kept tenancies.
fn outcomes_draft(s: &mut Suppression, records: &[Record], total: usize) -> (Draft, OutcomeNodes, usize) {
    let all: Vec<&Record> = records.iter().collect();
    let (main, mut outcome_rows) = group_outcomes(s, total, &all);
    let mut per_outcome = Vec::new();
    let mut outcome_node = HashMap::new();
    for o in CaseOutcome::ALL {
        let node = s.count(count_where(records, |r| r.outcome == Some(*o)));
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
    let draft = Draft {
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
    };
    (draft, main, outcome_node[&CaseOutcome::WohnungErhalten])
}

/// How kept tenancies (`kept`, the node of `WOHNUNG_ERHALTEN`) were secured.
fn rescue_means_draft(s: &mut Suppression, records: &[Record], kept: usize) -> Draft {
    let mut means_rows = vec![row("WOHNUNG_ERHALTEN", "Wohnung erhalten", kept)];
    let mut means_nodes = Vec::new();
    for m in RescueMeans::ALL {
        let node = s.count(count_where(records, |r| {
            r.outcome == Some(CaseOutcome::WohnungErhalten) && r.rescue_means == Some(*m)
        }));
        means_nodes.push(node);
        means_rows.push(row(m.as_str(), labels::rescue_means(*m), node));
    }
    s.sum(kept, &means_nodes);
    Draft {
        key: "rescue_means",
        title: "How kept tenancies were secured",
        title_de: "Mittel der Wohnungssicherung",
        includes_erased: true,
        note: "Rescue means recorded when a case closed as WOHNUNG_ERHALTEN: loan or grant, SGB II or XII, own means.",
        note_de: "Beim Abschluss „Wohnung erhalten“ erfasstes Mittel: Darlehen oder Beihilfe, SGB II oder XII, eigene \
                  Mittel.",
        count_heading_de: "Fälle",
        rows: means_rows,
    }
}

/// Rent-debt takeovers from the completed referrals, per kind with their amounts.
fn takeovers_draft(s: &mut Suppression, records: &[Record]) -> Draft {
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
        let (cell, amount_node) = amount_cell(s, &of, node);
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
    let (approved_cell, approved_amount) = amount_cell(s, &approved_refs, approved);
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
    Draft {
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
    }
}

/// Days from referral to decision, per recipient (`orgs` names them).
fn decision_days_draft(s: &mut Suppression, records: &[Record], orgs: &HashMap<OrgId, String>) -> Draft {
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
    Draft {
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
    }
}

/// Casework: reaching the household and repeat cases, a partition of the cohort (`total`) with the
/// erased cases (`erased`), which keep no casework.
fn casework_draft(s: &mut Suppression, records: &[Record], total: usize, erased: usize) -> Draft {
    let reached = s.count(count_where(records, |r| r.casework.as_ref().is_some_and(|c| c.days_to_contact.is_some())));
    let not_reached =
        s.count(count_where(records, |r| r.casework.as_ref().is_some_and(|c| c.days_to_contact.is_none())));
    s.sum(total, &[reached, not_reached, erased]);
    let contact_days: Vec<i64> =
        records.iter().filter_map(|r| r.casework.as_ref().and_then(|c| c.days_to_contact)).collect();
    let mut reached_row = row("reached", "Haushalt erreicht (Kontaktversuch mit Erfolg erfasst)", reached);
    reached_row.median = Some(median(&contact_days));
    let repeat = s.count(count_where(records, |r| r.casework.as_ref().is_some_and(|c| c.repeat)));
    Draft {
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
    }
}

/// Whether kept tenancies held at the follow-ups after 3, 6 and 12 months.
fn follow_ups_draft(s: &mut Suppression, records: &[Record]) -> Draft {
    let kept_live = s.count(count_where(records, |r| r.outcome == Some(CaseOutcome::WohnungErhalten) && !r.erased));
    let mut held_rows = vec![row("kept", "Wohnung erhalten (gespeicherte Fälle)", kept_live)];
    for (i, months) in ["3", "6", "12"].into_iter().enumerate() {
        let with = |want: Option<bool>| {
            count_where(records, |r| {
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
    Draft {
        key: "follow_ups",
        title: "Kept tenancies followed up after 3, 6 and 12 months",
        title_de: "Verstetigung: gehaltene Wohnungen nach 3, 6 und 12 Monaten",
        includes_erased: false,
        note: "Cases closed as WOHNUNG_ERHALTEN, by the result of the follow-up at 3, 6 and 12 months.",
        note_de: "Als „Wohnung erhalten“ abgeschlossene Fälle nach dem Ergebnis der Wiedervorlage nach 3, 6 und 12 \
                  Monaten.",
        count_heading_de: "Fälle",
        rows: held_rows,
    }
}

/// The main tenant's gender, with the erased cases as not recorded; returns the table with the node
/// of the female main tenants, which the table of women shares.
fn gender_draft(s: &mut Suppression, records: &[Record], total: usize, erased: usize) -> (Draft, usize) {
    let mut gender_nodes = HashMap::new();
    let mut gender_rows = vec![row("total", "Fälle insgesamt", total)];
    for g in Gender::ALL {
        let node = s.count(count_where(records, |r| r.main_tenant.is_some_and(|(x, _)| x == *g)));
        gender_nodes.insert(*g, node);
        gender_rows.push(row(g.as_str(), labels::gender(*g), node));
    }
    gender_rows.push(row("erased", "nicht erfasst (gelöschter Fall)", erased));
    let mut parts: Vec<usize> = Gender::ALL.iter().map(|g| gender_nodes[g]).collect();
    parts.push(erased);
    s.sum(total, &parts);
    let draft = Draft {
        key: "gender",
        title: "Gender of the main tenant",
        title_de: "Geschlecht der Hauptmieterin oder des Hauptmieters",
        includes_erased: false,
        note: "Erased cases do not keep the gender: they are counted as not recorded.",
        note_de: "Gelöschte Fälle enthalten kein Geschlecht: sie sind als „nicht erfasst“ gezählt.",
        count_heading_de: "Fälle",
        rows: gender_rows,
    };
    (draft, gender_nodes[&Gender::Female])
}

/// The main tenant's age group, with the erased cases as not recorded.
fn age_group_draft(s: &mut Suppression, records: &[Record], total: usize, erased: usize) -> Draft {
    let mut age_rows = vec![row("total", "Fälle insgesamt", total)];
    let mut parts = Vec::new();
    for key in AGE_GROUPS {
        let node = s.count(count_where(records, |r| r.main_tenant.is_some_and(|(_, age)| age_group(age).0 == key)));
        parts.push(node);
        age_rows.push(row(key, age_group_label(key), node));
    }
    parts.push(erased);
    age_rows.push(row("erased", "nicht erfasst (gelöschter Fall)", erased));
    s.sum(total, &parts);
    Draft {
        key: "age_group",
        title: "Age group of the main tenant",
        title_de: "Altersgruppe der Hauptmieterin oder des Hauptmieters",
        includes_erased: false,
        note: "Opening year minus year of birth. Erased cases do not keep the age: they are counted as not recorded.",
        note_de: "Eröffnungsjahr minus Geburtsjahr. Gelöschte Fälle enthalten kein Alter: sie sind als „nicht erfasst“ \
                  gezählt.",
        count_heading_de: "Fälle",
        rows: age_rows,
    }
}

/// The outcomes of the cases with a female main tenant (`female`, their node in the gender table).
fn women_draft(s: &mut Suppression, records: &[Record], female: usize) -> (Draft, OutcomeNodes) {
    let women: Vec<&Record> =
        records.iter().filter(|r| r.main_tenant.is_some_and(|(g, _)| g == Gender::Female)).collect();
    let (women_nodes, women_rows) = group_outcomes(s, female, &women);
    let draft = Draft {
        key: "women",
        title: "Women (female main tenant)",
        title_de: "Frauen (Hauptmieterin)",
        includes_erased: false,
        note: "Cases whose main tenant is female; erased cases do not keep the gender and cannot count here.",
        note_de: "Fälle mit einer Hauptmieterin; gelöschte Fälle enthalten kein Geschlecht und können hier nicht zählen.",
        count_heading_de: "Fälle",
        rows: women_rows,
    };
    (draft, women_nodes)
}

/// The outcomes of the cases with a Schutzsperre or a referral to women's counselling, and which of
/// the two they have.
fn violence_protection_draft(s: &mut Suppression, records: &[Record]) -> (Draft, OutcomeNodes) {
    let violence: Vec<&Record> =
        records.iter().filter(|r| r.schutzsperre == Some(true) || r.womens_counselling).collect();
    let violence_total = s.count(violence.len() as i64);
    let (violence_nodes, mut violence_rows) = group_outcomes(s, violence_total, &violence);
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
    let draft = Draft {
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
    };
    (draft, violence_nodes)
}

/// The rates (contact, success) of each group with its outcome nodes, shown when numerator and
/// denominator are; `s` has run.
fn rates(s: &Suppression, groups: [(&'static str, &OutcomeNodes); 3]) -> Vec<Rate> {
    let mut rates = Vec::new();
    for (group, nodes) in groups {
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

    rates
}

/// The tables as published: every node of `drafts` read from the suppression `s`, which has run.
fn finish(s: &Suppression, drafts: Vec<Draft>) -> Vec<Table> {
    let cell = |s: &Suppression, n: usize| if s.is_suppressed(n) { Cell::Suppressed } else { Cell::Count(s.value(n)) };
    drafts
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
                    count: cell(s, r.count),
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
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::key_figures::cohort::Casework;

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
}
