//! `deadlines`: the legal deadlines of a tenancy, computed locally with the hub's own engine, so a
//! caseworker can check dates without a connection or a certificate.

use deadlines::{Deadline, Facts, LedgerEntry};
use serde_json::{Value, json};

use crate::args::DeadlinesArgs;
use crate::german;
use crate::render::Table;

/// Parses `DUE=AMOUNT_DUE/PAID` (`04.11.2025=780,00/0`); `/PAID` may be left out for 0.
pub fn ledger_entry(input: &str) -> Result<LedgerEntry, String> {
    let (due, amounts) = input.split_once('=').ok_or_else(|| {
        format!("invalid ledger line '{input}'; expected DUE=AMOUNT_DUE/PAID, e.g. 04.11.2025=780,00/0")
    })?;
    let (amount_due, paid) = amounts.split_once('/').unwrap_or((amounts, "0"));
    let in_line = |reason: erp_import::msg::Msg| format!("invalid ledger line '{input}': {reason}");
    Ok(LedgerEntry {
        due: german::date_option(due).map_err(in_line)?,
        amount_due_cents: german::amount_cents(amount_due).map_err(in_line)?,
        amount_paid_cents: german::amount_cents(paid).map_err(in_line)?,
    })
}

/// The engine's facts from the options.
pub fn facts(args: &DeadlinesArgs) -> Facts {
    Facts {
        monthly_rent_cents: args.rent,
        ledger: args.ledger.clone(),
        tenancy_start: args.tenancy_start,
        ordinary_notice_received: args.notice_received,
        termination_without_notice_received: args.termination,
        claim_served: args.claim_served,
        claim_served_confirmed: args.claim_served.is_some() && !args.claim_served_unconfirmed,
        claim_filed: args.claim_filed,
        earlier_cure: args.earlier_cure,
        raeumungsfrist_end: args.raeumungsfrist_end,
        eviction_date: args.eviction_date,
        eviction_announced_on: args.eviction_announced,
    }
}

/// The deadlines as a table.
pub fn table(list: &[Deadline]) -> String {
    let mut table = Table::new(&["KIND", "DATE", "DAY", "SOURCE", "PROVISIONAL", "WARNINGS"]);
    for deadline in list {
        table.row(vec![
            deadline.kind.as_str().to_owned(),
            german::iso(deadline.date),
            german::weekday(deadline.date).to_owned(),
            deadline.source.to_owned(),
            if deadline.provisional { "yes" } else { "no" }.to_owned(),
            if deadline.warnings.is_empty() {
                "-".to_owned()
            } else {
                deadline.warnings.iter().map(|w| w.en()).collect::<Vec<_>>().join("; ")
            },
        ]);
    }
    table.render("no deadlines follow from these facts")
}

/// The deadlines as JSON.
pub fn json(list: &[Deadline]) -> Value {
    Value::Array(
        list.iter()
            .map(|deadline| {
                json!({
                    "kind": deadline.kind.as_str(),
                    "date": german::iso(deadline.date),
                    "weekday": german::weekday(deadline.date),
                    "source": deadline.source,
                    "provisional": deadline.provisional,
                    "warnings": deadline.warnings.iter().map(|w| w.en()).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;
    use time::macros::date;

    #[test]
    fn ledger_lines() {
        assert_eq!(
            ledger_entry("04.11.2025=780,00/0"),
            Ok(LedgerEntry { due: date!(2025 - 11 - 04), amount_due_cents: 78_000, amount_paid_cents: 0 })
        );
        assert_eq!(
            ledger_entry("2025-12-03=780/100,5"),
            Ok(LedgerEntry { due: date!(2025 - 12 - 03), amount_due_cents: 78_000, amount_paid_cents: 10_050 })
        );
        assert_eq!(ledger_entry("04.11.2025=780").map(|entry| entry.amount_paid_cents), Ok(0));
        for input in ["04.11.2025", "31.11.2025=780/0", "04.11.2025=7,800/0", "04.11.2025=780/-1"] {
            assert!(ledger_entry(input).is_err(), "{input}");
        }
    }

    #[test]
    fn frau_k_variant_needs_no_connection_options() {
        let cli = Cli::try_parse_from([
            "hubctl",
            "deadlines",
            "--rent",
            "780,00",
            "--ledger",
            "04.11.2025=780,00/0",
            "--ledger",
            "03.12.2025=780,00/0",
            "--claim-served",
            "10.02.2026",
        ])
        .expect("parses");
        let Command::Deadlines(args) = &cli.command else {
            panic!("deadlines");
        };
        let facts = facts(args);
        assert!(facts.claim_served_confirmed);
        let list = deadlines::compute(&facts);
        let schonfrist = list.iter().find(|deadline| deadline.kind == deadlines::DeadlineKind::Schonfrist);
        assert_eq!(schonfrist.map(|deadline| deadline.date), Some(date!(2026 - 04 - 10)));
        let text = table(&list);
        assert!(text.contains("SCHONFRIST") && text.contains("2026-04-10  Fr"), "{text}");
        assert_eq!(json(&list)[0]["provisional"], false);
    }

    #[test]
    fn unconfirmed_service_needs_a_service_date() {
        assert!(Cli::try_parse_from(["hubctl", "deadlines", "--claim-served-unconfirmed"]).is_err());
    }
}
