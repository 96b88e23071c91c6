//! Legal deadlines of a case or notice, computed by the `deadlines` engine from the facts the hub
//! holds (stage history, tenancy, notice dates).

use serde::{Deserialize, Serialize};

use super::case::{Case, StageEntry};
use super::notice::{Notice, NoticeData};
use super::time::Day;
use super::vocab::ThreatStage;

/// A computed deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDeadline {
    /// Kind, e.g. `SCHONFRIST`.
    pub kind: String,
    /// Date.
    pub date: Day,
    /// Legal source.
    pub source: String,
    /// Derived from an unconfirmed date.
    pub provisional: bool,
    /// What the caseworker must check or tell the tenant.
    pub warnings: Vec<DeadlineWarning>,
}

/// A warning of the deadlines engine: typed, so each edge says it in its language (the API in
/// English, the pages in German). Events stored before the warnings were typed carry the English
/// text; they stay readable as [`DeadlineWarning::Text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeadlineWarning {
    /// A warning of the engine.
    Typed(deadlines::Warning),
    /// An English warning as stored by an older version.
    Text(String),
}

impl DeadlineWarning {
    /// In English, for the API.
    pub fn en(&self) -> String {
        match self {
            DeadlineWarning::Typed(w) => w.en(),
            DeadlineWarning::Text(t) => t.clone(),
        }
    }

    /// In German, for the pages (an older stored warning only has its English text).
    pub fn de(&self) -> String {
        match self {
            DeadlineWarning::Typed(w) => w.de(),
            DeadlineWarning::Text(t) => t.clone(),
        }
    }
}

impl CaseDeadline {
    /// The key under which an announcement is remembered.
    pub fn announcement_key(&self) -> String {
        format!("{}:{}", self.kind, self.date)
    }
}

fn convert(list: Vec<deadlines::Deadline>) -> Vec<CaseDeadline> {
    let mut out: Vec<CaseDeadline> = list
        .into_iter()
        .map(|d| CaseDeadline {
            kind: d.kind.as_str().to_owned(),
            date: Day::from_date(d.date),
            source: d.source.to_owned(),
            provisional: d.provisional,
            warnings: d.warnings.into_iter().map(DeadlineWarning::Typed).collect(),
        })
        .collect();
    out.sort_by(|a, b| a.date.cmp(&b.date).then(a.kind.cmp(&b.kind)));
    out
}

fn latest(case: &Case, stage: ThreatStage) -> Option<&StageEntry> {
    case.stages.iter().filter(|s| s.stage == stage).max_by_key(|s| s.date)
}

/// The deadlines of a case, nearest first, from its stage history and tenancy.
pub fn for_case(case: &Case) -> Vec<CaseDeadline> {
    let rent = case.details.tenancy.rent;
    let monthly = rent.total_cents();
    let served = latest(case, ThreatStage::Rechtshaengig).map(|s| s.date);
    let filed = latest(case, ThreatStage::KlageEingereicht).map(|s| s.date);
    let eviction = latest(case, ThreatStage::Raeumungstermin);
    let eviction_date = eviction.map(|e| e.end_date.unwrap_or(e.date));
    let facts = deadlines::Facts {
        monthly_rent_cents: (monthly > 0).then_some(monthly),
        ledger: vec![],
        tenancy_start: case.details.tenancy.start.map(Day::date),
        ordinary_notice_received: latest(case, ThreatStage::KuendigungOrdentlich).map(|s| s.date.date()),
        termination_without_notice_received: latest(case, ThreatStage::KuendigungFristlos).map(|s| s.date.date()),
        claim_served: served.or(filed).map(Day::date),
        claim_served_confirmed: served.is_some(),
        claim_filed: filed.map(Day::date),
        earlier_cure: None,
        raeumungsfrist_end: latest(case, ThreatStage::Raeumungsfrist).and_then(|s| s.end_date).map(Day::date),
        eviction_date: eviction_date.map(Day::date),
        eviction_announced_on: eviction.filter(|e| e.end_date.is_some()).map(|e| e.date.date()),
    };
    convert(deadlines::compute(&facts))
}

/// The deadlines computable from a notice. A court notice without a service date makes the
/// dependent deadlines provisional (estimated from the day the claim reached the court).
pub fn for_notice(notice: &Notice, received: Day) -> Vec<CaseDeadline> {
    let _ = received;
    let facts = match &notice.data {
        NoticeData::Arrears(a) => {
            let rent = a.rent.base.get() + a.rent.service_charge_advance.get() + a.rent.heating_advance.get();
            let ordinary = a.stage == ThreatStage::KuendigungOrdentlich;
            deadlines::Facts {
                monthly_rent_cents: (rent > 0).then_some(rent),
                ledger: a
                    .ledger
                    .iter()
                    .map(|l| deadlines::LedgerEntry {
                        due: l.due.date(),
                        amount_due_cents: l.due_amount.get(),
                        amount_paid_cents: l.paid.get(),
                    })
                    .collect(),
                tenancy_start: None,
                ordinary_notice_received: a.termination_date.filter(|_| ordinary).map(Day::date),
                termination_without_notice_received: a.termination_date.filter(|_| !ordinary).map(Day::date),
                claim_served: a.claim_served.map(Day::date),
                claim_served_confirmed: a.claim_served.is_some(),
                claim_filed: None,
                earlier_cure: None,
                raeumungsfrist_end: None,
                eviction_date: a.eviction_date.map(Day::date),
                eviction_announced_on: None,
            }
        }
        NoticeData::Court(c) => deadlines::Facts {
            monthly_rent_cents: (c.monthly_rent.get() > 0).then_some(c.monthly_rent.get()),
            ledger: vec![],
            tenancy_start: None,
            ordinary_notice_received: None,
            termination_without_notice_received: None,
            claim_served: Some(c.claim_served.unwrap_or(c.claim_received).date()),
            claim_served_confirmed: c.claim_served.is_some(),
            claim_filed: Some(c.claim_received.date()),
            earlier_cure: None,
            raeumungsfrist_end: None,
            eviction_date: None,
            eviction_announced_on: None,
        },
    };
    convert(deadlines::compute(&facts))
}
