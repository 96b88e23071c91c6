//! Notice views: a housing company's status list and the Fachstelle's triage list.

use hub_proto::v1::{Deadline, NoticeProgress, NoticeSource, NoticeStatus, OpenNotice, Stadtbezirk, ThreatStage};
use serde_json::{Value, json};

use crate::input::format_cents;
use crate::names::name_of;
use crate::render::{Table, when, when_json};

/// The housing company's notices as a table.
pub fn statuses_table(statuses: &[NoticeStatus]) -> String {
    let mut table = Table::new(&["REFERENCE", "PROGRESS", "AMOUNT", "PAYMENT EXPECTED", "UPDATED", "NOTICE"]);
    for status in statuses {
        table.row(vec![
            status.tenancy_reference.clone(),
            match status.withdrawn_at {
                Some(_) => "WITHDRAWN".to_owned(),
                None => name_of::<NoticeProgress>(status.progress),
            },
            status.approved_amount_cents.map_or_else(|| "-".to_owned(), format_cents),
            dash(&status.expected_payment_date),
            when(status.updated_at.as_ref()),
            status.notice_id.clone(),
        ]);
    }
    table.render("no notices")
}

/// One status as JSON.
pub fn status_json(status: &NoticeStatus) -> Value {
    json!({
        "notice_id": status.notice_id,
        "tenancy_reference": status.tenancy_reference,
        "progress": name_of::<NoticeProgress>(status.progress),
        "approved_amount_cents": status.approved_amount_cents,
        "expected_payment_date": empty_null(&status.expected_payment_date),
        "updated_at": when_json(status.updated_at.as_ref()),
        "withdrawn_at": when_json(status.withdrawn_at.as_ref()),
    })
}

/// The triage list as a table, in the hub's order (most urgent first). A provisional deadline's
/// date is marked with `*`.
pub fn triage_table(notices: &[OpenNotice]) -> String {
    let mut table = Table::new(&["NOTICE", "DEADLINE", "DATE", "STAGE", "ARREARS", "REFERENCE", "REPORTER", "TENANT"]);
    for notice in notices {
        let (kind, date) = match &notice.nearest_deadline {
            Some(deadline) => {
                let mark = if deadline.provisional { "*" } else { "" };
                (deadline.kind.clone(), format!("{}{mark}", deadline.date))
            }
            None => ("-".to_owned(), "-".to_owned()),
        };
        table.row(vec![
            notice.notice_id.clone(),
            kind,
            date,
            name_of::<ThreatStage>(notice.stage),
            format_cents(notice.arrears_cents),
            notice.reference.clone(),
            notice.reported_by.clone(),
            dash(&notice.tenant_name),
        ]);
    }
    let mut out = table.render("no open notices");
    if notices.iter().any(|notice| notice.nearest_deadline.as_ref().is_some_and(|deadline| deadline.provisional)) {
        out.push_str("* provisional: derived from an unconfirmed date\n");
    }
    out
}

/// One open notice as JSON.
pub fn open_notice_json(notice: &OpenNotice) -> Value {
    json!({
        "notice_id": notice.notice_id,
        "source": name_of::<NoticeSource>(notice.source),
        "reported_by": notice.reported_by,
        "reference": notice.reference,
        "stadtbezirk": if notice.stadtbezirk == 0 { Value::Null } else { json!(name_of::<Stadtbezirk>(notice.stadtbezirk)) },
        "stage": name_of::<ThreatStage>(notice.stage),
        "arrears_cents": notice.arrears_cents,
        "consented": notice.consented,
        "nearest_deadline": notice.nearest_deadline.as_ref().map_or(Value::Null, deadline_json),
        "deadlines": notice.deadlines.iter().map(deadline_json).collect::<Vec<_>>(),
        "received_at": when_json(notice.received_at.as_ref()),
        "tenant_name": empty_null(&notice.tenant_name),
    })
}

fn deadline_json(deadline: &Deadline) -> Value {
    json!({
        "kind": deadline.kind,
        "date": deadline.date,
        "source": deadline.source,
        "provisional": deadline.provisional,
        "warnings": deadline.warnings,
    })
}

fn dash(text: &str) -> String {
    if text.is_empty() { "-".to_owned() } else { text.to_owned() }
}

fn empty_null(text: &str) -> Value {
    if text.is_empty() { Value::Null } else { json!(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisional_deadlines_are_marked() {
        let notice = OpenNotice {
            notice_id: "n-1".into(),
            reference: "514 C 1/26".into(),
            reported_by: "court".into(),
            stage: ThreatStage::KlageEingereicht as i32,
            arrears_cents: 156_000,
            nearest_deadline: Some(Deadline {
                kind: "SCHONFRIST".into(),
                date: "2026-03-05".into(),
                provisional: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        let text = triage_table(std::slice::from_ref(&notice));
        assert!(text.contains("SCHONFRIST  2026-03-05*"), "{text}");
        assert!(text.contains("1560.00 EUR") && text.contains("KLAGE_EINGEREICHT"), "{text}");
        assert_eq!(open_notice_json(&notice)["nearest_deadline"]["provisional"], true);
    }

    #[test]
    fn statuses_show_amount_and_payment_date() {
        let status = NoticeStatus {
            notice_id: "n-1".into(),
            tenancy_reference: "WN-1".into(),
            progress: NoticeProgress::TakeoverApproved as i32,
            approved_amount_cents: Some(156_000),
            expected_payment_date: "2026-01-28".into(),
            updated_at: None,
            withdrawn_at: None,
        };
        let text = statuses_table(std::slice::from_ref(&status));
        assert!(text.contains("TAKEOVER_APPROVED  1560.00 EUR  2026-01-28"), "{text}");
        let withdrawn = NoticeStatus { withdrawn_at: Some(prost_types::Timestamp::default()), ..status };
        assert!(statuses_table(&[withdrawn]).contains("WN-1       WITHDRAWN"), "a withdrawn notice says so");
    }
}
