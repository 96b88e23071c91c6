//! `arrears import`: a housing company's ERP export of tenancies in arrears, one early notice per
//! row, sent in one client stream.
//!
//! The file is read by the reader hubctl shares with the hub's portal (`erp_import::arrears`): rows
//! that do not parse are refused there and never leave the machine, and cells a row without consent may
//! not carry are dropped with a warning. The hub checks the rest again and its verdicts are mapped back
//! to the CSV columns, so the report always speaks the file's language.

use std::collections::HashMap;

use hub_proto::v1::notice_service_client::NoticeServiceClient;
use hub_proto::v1::{ArrearsNotice, NoticeOutcome, StreamArrearsNoticesRequest};

pub use erp_import::arrears::*;

use crate::connect::Hub;
use crate::import::{Outcome, Problem, Progress, Report, RowResult};

/// Sends the valid rows in one stream and merges the hub's results with the local rejections.
pub async fn send(hub: &Hub, valid: Vec<Valid>, mut results: Vec<RowResult>) -> anyhow::Result<Report> {
    let mut client = NoticeServiceClient::new(hub.channel()).max_decoding_message_size(MAX_RESPONSE_BYTES);
    let mut progress = Progress::new(valid.len());
    let mut sent: HashMap<usize, (ArrearsNotice, Vec<Problem>)> = HashMap::with_capacity(valid.len());
    let messages: Vec<StreamArrearsNoticesRequest> = valid
        .into_iter()
        .map(|Valid { row, notice, warnings }| {
            let message = StreamArrearsNoticesRequest { record_ref: row.to_string(), notice: Some(notice.clone()) };
            sent.insert(row, (notice, warnings));
            message
        })
        .collect();
    let stream = tokio_stream::iter(messages.into_iter().inspect(move |_| progress.tick()));
    let response = client.stream_arrears_notices(hub.request(stream)).await?.into_inner();

    for result in response.results {
        let Ok(row) = result.record_ref.parse::<usize>() else {
            eprintln!("warning: the hub returned a result for unknown record '{}'", result.record_ref);
            continue;
        };
        let Some((notice, warnings)) = sent.remove(&row) else {
            eprintln!("warning: the hub returned a second result for row {row}");
            continue;
        };
        let outcome = match NoticeOutcome::try_from(result.outcome) {
            Ok(NoticeOutcome::Accepted) => Outcome::Accepted,
            Ok(NoticeOutcome::Updated) => Outcome::Updated,
            Ok(NoticeOutcome::Unchanged) => Outcome::Unchanged,
            Ok(NoticeOutcome::Rejected | NoticeOutcome::Unspecified) | Err(_) => Outcome::Rejected,
        };
        let mut problems: Vec<Problem> = result
            .violations
            .iter()
            .map(|violation| Problem::english(column_of(&violation.field, Some(&notice)), violation.reason.clone()))
            .collect();
        if outcome == Outcome::Rejected && problems.is_empty() {
            problems.push(Problem::english("-", "rejected by the hub without a reason"));
        }
        results.push(RowResult {
            row,
            outcome,
            notice_id: result.notice_id,
            case_id: String::new(),
            problems,
            warnings,
        });
    }
    // A result per record is the contract; a row the hub did not answer for must not look stored.
    for row in sent.into_keys() {
        results.push(RowResult::rejected(row, vec![Problem::english("-", "the hub returned no result for this row")]));
    }
    Ok(Report::new(results))
}

/// The answer to a stream lists every record; 550,000 results take about 40 MB.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
