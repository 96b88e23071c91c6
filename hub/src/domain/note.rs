//! Notes: the thread between sender and recipient of a referral.

use serde::{Deserialize, Serialize};

use super::ids::{Actor, NoteId, ReferralId};
use super::time::Instant;

/// A note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Id.
    pub id: NoteId,
    /// Referral.
    pub referral_id: ReferralId,
    /// Author.
    pub author: Actor,
    /// Text.
    pub text: String,
    /// Written.
    pub created_at: Instant,
}
