//! What becomes of each row of an import, for the reports of hubctl and of the portal.

use crate::msg::Msg;

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as a new notice.
    Accepted,
    /// An existing notice was updated.
    Updated,
    /// Identical to what the hub holds.
    Unchanged,
    /// Not stored: refused locally or by the hub.
    Rejected,
    /// Parsed without problems; not sent (`--dry-run`).
    Valid,
}

impl Outcome {
    /// The outcome's name in reports (`accepted`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Rejected => "rejected",
            Self::Valid => "valid",
        }
    }
}

/// A problem with one cell (or the whole row, column `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The CSV column, or the hub's field path when it has no column.
    pub column: String,
    /// What is wrong, in English.
    pub reason: String,
    /// What is wrong, in German.
    pub reason_de: String,
}

impl Problem {
    /// A problem with a column.
    pub fn new(column: impl Into<String>, reason: Msg) -> Self {
        Self { column: column.into(), reason: reason.en, reason_de: reason.de }
    }

    /// A problem stated in English only (the hub's verdicts as hubctl receives them over gRPC); the
    /// German text is the same.
    pub fn english(column: impl Into<String>, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self { column: column.into(), reason_de: reason.clone(), reason }
    }
}

/// The result of one row.
#[derive(Debug, Clone)]
pub struct RowResult {
    /// 1-based row number (the header is 1).
    pub row: usize,
    /// What happened.
    pub outcome: Outcome,
    /// The notice id, when stored.
    pub notice_id: String,
    /// The case the notice was linked to, when the hub says so (court notices).
    pub case_id: String,
    /// Why it was rejected.
    pub problems: Vec<Problem>,
    /// Cells left out of what was sent, and why (the row itself went through).
    pub warnings: Vec<Problem>,
}

impl RowResult {
    /// A row refused before sending.
    pub fn rejected(row: usize, problems: Vec<Problem>) -> Self {
        Self {
            row,
            outcome: Outcome::Rejected,
            notice_id: String::new(),
            case_id: String::new(),
            problems,
            warnings: Vec::new(),
        }
    }
}
