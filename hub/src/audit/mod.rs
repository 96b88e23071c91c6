//! The tamper-evident audit trail: the hash chain over the audit records, the seals that sign its
//! head, verification (`hub audit verify`) and the export for the data protection officer
//! (`hub audit export`). Both store backends chain records with [`record_hash`], and the verifier
//! recomputes it, so the chain has one definition.
//!
//! # The chain
//!
//! Every record stores `prev_hash` (the `hash` of the record before it, or [`GENESIS`] for the first
//! chained record) and `hash`:
//!
//! ```text
//! hash = hex(SHA-256( "whub-audit-v1" 0x00
//!                     || str(prev_hash) || i64(occurred_at_ms) || str(actor) || opt(staff)
//!                     || str(action) || opt(case_id) || opt(referral_id) || str(legal_basis) || str(detail) ))
//! str(s)   = u64 big-endian byte length of s || s as UTF-8
//! opt(x)   = 0x00 for none, 0x01 || str(x) for some
//! i64(n)   = 8 bytes big-endian two's complement
//! ```
//!
//! Length prefixes make the encoding unambiguous (no field can absorb its neighbour), and the format
//! is easy to recompute with any language from an export. `seq` is not hashed: the order is fixed by
//! the links, so a record moved, deleted or inserted breaks a link.
//!
//! Records written before migration 0004 have no hashes. They may only form a prefix of the log
//! ("unchained legacy records"): the first chained record must chain to [`GENESIS`], and a record
//! without hashes after it is reported.
//!
//! # Seals
//!
//! The chain alone only shows that the records agree with each other: whoever can write the table
//! can recompute every hash after a change. Periodically the hub therefore signs the head (seq,
//! hash, time) with its Ed25519 key ([`seal`]); the key lives in the data directory, never in the
//! database. A seal whose record changed, or is missing, proves that records up to it were changed.
//! Records after the newest seal are protected by the chain only until the next seal.

pub mod export;
pub mod seal;

use std::collections::VecDeque;
use std::fmt;

use sha2::{Digest, Sha256};

use crate::store::{AuditEntry, AuditQuery, AuditRecord, AuditSeal, Store, StoreError};

pub use seal::{AuditSealer, SealKeyError, SealPublicKey};

/// The `prev_hash` of the first chained record: 64 hex zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation of record hashes (a record hash can never be mistaken for another hash).
const RECORD_TAG: &[u8] = b"whub-audit-v1\0";
/// Domain separation of seal signatures.
const SEAL_TAG: &[u8] = b"whub-audit-seal-v1\0";

/// Records read per page while verifying or exporting (bounded memory on any log size).
pub(crate) const PAGE: u32 = 2000;
/// How many recent records the verifier remembers to tell an insertion from a deletion.
const WINDOW: usize = 256;
/// Problems kept in a report; further ones are only counted.
const MAX_PROBLEMS: usize = 200;

/// The hashed fields of one record, borrowed from an entry being written or a record being checked.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    /// Milliseconds since the epoch.
    pub occurred_at: i64,
    /// Actor id.
    pub actor: &'a str,
    /// Staff member.
    pub staff: Option<&'a str>,
    /// Action.
    pub action: &'a str,
    /// Case id as stored.
    pub case_id: Option<&'a str>,
    /// Referral id as stored.
    pub referral_id: Option<&'a str>,
    /// Legal basis.
    pub legal_basis: &'a str,
    /// Detail, as stored.
    pub detail: std::borrow::Cow<'a, str>,
}

impl<'a> From<&'a AuditEntry> for Fields<'a> {
    fn from(a: &'a AuditEntry) -> Self {
        Self {
            occurred_at: a.at.millis(),
            actor: &a.actor,
            staff: a.staff.as_deref(),
            action: a.action.as_str(),
            case_id: a.case_id.as_ref().map(|c| c.as_str()),
            referral_id: a.referral_id.as_ref().map(|r| r.as_str()),
            legal_basis: &a.legal_basis,
            detail: a.detail.stored().into(),
        }
    }
}

impl<'a> From<&'a AuditRecord> for Fields<'a> {
    fn from(r: &'a AuditRecord) -> Self {
        Self {
            occurred_at: r.at.millis(),
            actor: &r.actor,
            staff: r.staff.as_deref(),
            action: &r.action,
            case_id: r.case_id.as_deref(),
            referral_id: r.referral_id.as_deref(),
            legal_basis: &r.legal_basis,
            detail: r.detail.as_str().into(),
        }
    }
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

fn put_opt(h: &mut Sha256, s: Option<&str>) {
    match s {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            put_str(h, s);
        }
    }
}

/// The hash of a record with `fields` following a record whose hash is `prev_hash` (see the module
/// documentation for the exact encoding), as lowercase hex.
pub fn record_hash(prev_hash: &str, f: &Fields<'_>) -> String {
    let mut h = Sha256::new();
    h.update(RECORD_TAG);
    put_str(&mut h, prev_hash);
    h.update(f.occurred_at.to_be_bytes());
    put_str(&mut h, f.actor);
    put_opt(&mut h, f.staff);
    put_str(&mut h, f.action);
    put_opt(&mut h, f.case_id);
    put_opt(&mut h, f.referral_id);
    put_str(&mut h, f.legal_basis);
    put_str(&mut h, &f.detail);
    hex::encode(h.finalize())
}

/// The bytes a seal signs: the tag, the position, the hash and the time.
pub fn seal_message(seq: i64, hash: &str, sealed_at_ms: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(SEAL_TAG.len() + 8 + 8 + hash.len() + 8);
    m.extend_from_slice(SEAL_TAG);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&(hash.len() as u64).to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m.extend_from_slice(&sealed_at_ms.to_be_bytes());
    m
}

/// One way the audit trail was found broken, naming where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The record's hash does not match its content (and its stored `prev_hash`).
    Altered {
        /// The record.
        seq: i64,
    },
    /// The record does not chain to the previous one: one or more records between them were
    /// deleted, the records were re-ordered, or the previous record was altered and re-hashed.
    Broken {
        /// The record whose `prev_hash` does not match.
        seq: i64,
        /// The previous chained record (`None`: the record is the first chained one and does not
        /// chain to the genesis value).
        after: Option<i64>,
    },
    /// Records that are not part of the chain: the record after them chains past them.
    Inserted {
        /// The inserted records.
        seqs: Vec<i64>,
        /// The record that chains past them.
        seq: i64,
        /// The record it chains to.
        chained_to: i64,
    },
    /// A record without hashes after the chain began.
    Unchained {
        /// The record.
        seq: i64,
    },
    /// A seal whose signature does not verify with the public key.
    SealSignature {
        /// The seal's position.
        seq: i64,
    },
    /// A seal whose hash differs from its record's: records up to it were changed.
    SealMismatch {
        /// The seal's position.
        seq: i64,
    },
    /// A seal whose record is missing: records up to it were deleted.
    SealRecordMissing {
        /// The seal's position.
        seq: i64,
    },
    /// Seals exist but no public key was given, so their signatures could not be checked.
    NoPublicKey {
        /// How many seals went unchecked.
        seals: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Altered { seq } => write!(f, "record seq {seq} was altered: its hash does not match its content"),
            Problem::Broken { seq, after: Some(after) } => write!(
                f,
                "a record before seq {seq} was deleted or the chain was re-ordered: seq {seq} does not chain to seq \
                 {after} (or seq {after} was altered and its hash recomputed)"
            ),
            Problem::Broken { seq, after: None } => write!(
                f,
                "a record before seq {seq} was deleted or the chain was re-ordered: seq {seq} is the first chained \
                 record but does not chain to the genesis value"
            ),
            Problem::Inserted { seqs, seq, chained_to } => {
                let list = seqs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
                let (what, verb) = if seqs.len() == 1 { ("record", "was") } else { ("records", "were") };
                write!(f, "{what} seq {list} {verb} inserted: seq {seq} chains past it to seq {chained_to}")
            }
            Problem::Unchained { seq } => {
                write!(f, "record seq {seq} was inserted or altered: it has no hash although the chain began before it")
            }
            Problem::SealSignature { seq } => write!(
                f,
                "seal at seq {seq} has an invalid signature: it was forged or altered, or signed with another key"
            ),
            Problem::SealMismatch { seq } => {
                write!(f, "seal at seq {seq} does not match: records up to it were changed")
            }
            Problem::SealRecordMissing { seq } => write!(
                f,
                "seal at seq {seq} does not match: record seq {seq} is missing (records up to it were deleted)"
            ),
            Problem::NoPublicKey { seals } => write!(
                f,
                "the signatures of {seals} seal(s) could not be checked: no public key (keys/audit-seal.pub in the \
                 data directory, or --public-key)"
            ),
        }
    }
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records read.
    pub records: u64,
    /// Records before the chain began (no hashes; written before migration 0004).
    pub legacy: u64,
    /// Seals read.
    pub seals: u64,
    /// Position of the newest seal.
    pub last_sealed_seq: Option<i64>,
    /// Records after the newest seal (protected by the chain only until the next seal).
    pub unsealed: u64,
    /// The problems found, in order of position (at most a few hundred are kept).
    pub problems: Vec<Problem>,
    /// Problems found beyond those kept.
    pub more_problems: u64,
}

impl VerifyReport {
    /// Whether the chain and every seal are intact.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty() && self.more_problems == 0
    }

    /// One line: `audit chain intact: N records, M seals, last sealed seq S`, with the legacy and
    /// unsealed counts when there are any; or `audit chain BROKEN: K problem(s)`.
    pub fn summary(&self) -> String {
        if !self.is_intact() {
            let n = self.problems.len() as u64 + self.more_problems;
            return format!("audit chain BROKEN: {n} problem(s) in {} records and {} seals", self.records, self.seals);
        }
        let sealed = match self.last_sealed_seq {
            Some(s) => format!("last sealed seq {s}"),
            None => "nothing sealed yet".to_owned(),
        };
        let mut s = format!("audit chain intact: {} records, {} seals, {sealed}", self.records, self.seals);
        if self.legacy > 0 {
            s.push_str(&format!("; {} records before the chain began (unchained legacy records)", self.legacy));
        }
        if self.unsealed > 0 {
            s.push_str(&format!("; {} records after the last seal, not sealed yet", self.unsealed));
        }
        s
    }
}

/// The verifier, fed records and seals in position order (a seal right after the record at its
/// position). Pure, so it is tested without a database; [`verify`] drives it from a store.
pub struct ChainCheck<'k> {
    key: Option<&'k SealPublicKey>,
    report: VerifyReport,
    /// The first chained record's position, once seen.
    chain_began: Option<i64>,
    /// The newest chained records (position, stored hash), newest last.
    recent: VecDeque<(i64, String)>,
    /// Seals seen without a key to check them.
    unchecked: u64,
}

impl<'k> ChainCheck<'k> {
    /// A verifier checking seal signatures with `key` (without one, each seal is a problem).
    pub fn new(key: Option<&'k SealPublicKey>) -> Self {
        Self { key, report: VerifyReport::default(), chain_began: None, recent: VecDeque::new(), unchecked: 0 }
    }

    fn problem(&mut self, p: Problem) {
        if self.report.problems.len() < MAX_PROBLEMS {
            self.report.problems.push(p);
        } else {
            self.report.more_problems += 1;
        }
    }

    /// Checks the next record (in ascending position).
    pub fn record(&mut self, r: &AuditRecord) {
        self.report.records += 1;
        self.report.unsealed += 1;
        let Some(hash) = &r.hash else {
            if self.chain_began.is_none() && r.prev_hash.is_none() {
                self.report.legacy += 1;
            } else {
                self.problem(Problem::Unchained { seq: r.seq });
            }
            return;
        };
        let first = self.chain_began.is_none();
        self.chain_began.get_or_insert(r.seq);
        let stored_prev = r.prev_hash.as_deref().unwrap_or_default();
        if record_hash(stored_prev, &Fields::from(r)) != *hash {
            self.problem(Problem::Altered { seq: r.seq });
        }
        let expected_prev = self.recent.back().map_or(GENESIS, |(_, h)| h.as_str());
        if stored_prev != expected_prev {
            // Chaining to an earlier record: the records after that one were inserted.
            let earlier = self.recent.iter().rposition(|(_, h)| h == stored_prev);
            match earlier {
                Some(i) => {
                    let chained_to = self.recent[i].0;
                    let seqs = self.recent.iter().skip(i + 1).map(|(s, _)| *s).collect();
                    self.problem(Problem::Inserted { seqs, seq: r.seq, chained_to });
                }
                None => {
                    let after = if first { None } else { self.recent.back().map(|(s, _)| *s) };
                    self.problem(Problem::Broken { seq: r.seq, after });
                }
            }
        }
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back((r.seq, hash.clone()));
    }

    /// Checks a seal: its signature, and its hash against `record`, the record at its position
    /// (`None`: there is none). Call it after the record at its position.
    pub fn seal(&mut self, s: &AuditSeal, record: Option<&AuditRecord>) {
        self.report.seals += 1;
        match self.key {
            Some(key) if !key.verify(s) => self.problem(Problem::SealSignature { seq: s.seq }),
            Some(_) => {}
            None => self.unchecked += 1,
        }
        match record {
            None => self.problem(Problem::SealRecordMissing { seq: s.seq }),
            Some(r) if r.seq != s.seq => self.problem(Problem::SealRecordMissing { seq: s.seq }),
            Some(r) if r.hash.as_deref() != Some(s.hash.as_str()) => self.problem(Problem::SealMismatch { seq: s.seq }),
            Some(_) => {}
        }
        if self.report.last_sealed_seq.is_none_or(|last| s.seq > last) {
            self.report.last_sealed_seq = Some(s.seq);
            self.report.unsealed = 0;
        }
    }

    /// The report.
    pub fn finish(mut self) -> VerifyReport {
        if self.unchecked > 0 {
            let seals = self.unchecked;
            self.problem(Problem::NoPublicKey { seals });
        }
        self.report
    }
}

/// Verifies the whole audit trail of `store` on one consistent snapshot: every record in position
/// order against its content and its predecessor, every seal against its signature (with `key`) and
/// its record. Reads page by page, so memory stays bounded however long the log is.
pub async fn verify(store: &dyn Store, key: Option<&SealPublicKey>) -> Result<VerifyReport, StoreError> {
    let mut tx = store.begin_read().await?;
    let mut check = ChainCheck::new(key);
    let mut seals: VecDeque<AuditSeal> = VecDeque::new();
    let mut seals_after = 0;
    let mut seals_done = false;
    let mut after = 0;
    loop {
        let page = tx.audit_records(&AuditQuery { after_seq: after, limit: PAGE, ..AuditQuery::default() }).await?;
        for r in &page {
            after = r.seq;
            // Seals before this record have no record of their own; the one at it is checked with it.
            let mut at_record = Vec::new();
            loop {
                if seals.is_empty() && !seals_done {
                    let more = tx.audit_seals(seals_after, PAGE).await?;
                    seals_done = more.len() < PAGE as usize;
                    if let Some(last) = more.last() {
                        seals_after = last.seq;
                    }
                    seals.extend(more);
                }
                match seals.front() {
                    Some(s) if s.seq < r.seq => {
                        if let Some(s) = seals.pop_front() {
                            check.seal(&s, None);
                        }
                    }
                    Some(s) if s.seq == r.seq => {
                        if let Some(s) = seals.pop_front() {
                            at_record.push(s);
                        }
                    }
                    _ => break,
                }
            }
            check.record(r);
            for s in &at_record {
                check.seal(s, Some(r));
            }
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    // Seals after the last record: the records they sealed are gone.
    loop {
        for s in seals.drain(..) {
            check.seal(&s, None);
        }
        if seals_done {
            break;
        }
        let more = tx.audit_seals(seals_after, PAGE).await?;
        seals_done = more.len() < PAGE as usize;
        if let Some(last) = more.last() {
            seals_after = last.seq;
        }
        seals.extend(more);
    }
    Ok(check.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Instant;

    fn rec(seq: i64, detail: &str) -> AuditRecord {
        AuditRecord {
            seq,
            at: Instant::from_millis(1_767_949_200_000 + seq),
            actor: "fachstelle-hannover".into(),
            staff: Some("Fachkraft A".into()),
            action: "case.read".into(),
            case_id: Some("C-1".into()),
            referral_id: None,
            legal_basis: "owner".into(),
            detail: detail.into(),
            prev_hash: None,
            hash: None,
        }
    }

    /// A correctly chained log of `n` records, seq 1..=n, following `prev`.
    fn chain_from(prev: &str, seqs: std::ops::RangeInclusive<i64>) -> Vec<AuditRecord> {
        let mut prev = prev.to_owned();
        seqs.map(|seq| {
            let mut r = rec(seq, &format!("IDENTITY #{seq}"));
            r.prev_hash = Some(prev.clone());
            let h = record_hash(&prev, &Fields::from(&r));
            r.hash = Some(h.clone());
            prev = h;
            r
        })
        .collect()
    }

    fn rehash(r: &mut AuditRecord) {
        let prev = r.prev_hash.clone().unwrap_or_default();
        r.hash = Some(record_hash(&prev, &Fields::from(&*r)));
    }

    fn check(records: &[AuditRecord], seals: &[AuditSeal], key: Option<&SealPublicKey>) -> VerifyReport {
        let mut c = ChainCheck::new(key);
        let mut seals: VecDeque<&AuditSeal> = seals.iter().collect();
        for r in records {
            while seals.front().is_some_and(|s| s.seq < r.seq) {
                c.seal(seals.pop_front().unwrap(), None);
            }
            c.record(r);
            while seals.front().is_some_and(|s| s.seq == r.seq) {
                c.seal(seals.pop_front().unwrap(), Some(r));
            }
        }
        for s in seals {
            c.seal(s, None);
        }
        c.finish()
    }

    #[test]
    fn hash_is_stable_and_covers_every_field() {
        let r = rec(1, "IDENTITY");
        let base = record_hash(GENESIS, &Fields::from(&r));
        assert_eq!(base.len(), 64);
        assert_eq!(base, record_hash(GENESIS, &Fields::from(&r.clone())));
        let variants: Vec<AuditRecord> = vec![
            AuditRecord { at: Instant::from_millis(r.at.millis() + 1), ..r.clone() },
            AuditRecord { actor: "jobcenter-hannover".into(), ..r.clone() },
            AuditRecord { staff: None, ..r.clone() },
            AuditRecord { staff: Some(String::new()), ..r.clone() },
            AuditRecord { action: "case.open".into(), ..r.clone() },
            AuditRecord { case_id: None, ..r.clone() },
            AuditRecord { referral_id: Some("R-1".into()), ..r.clone() },
            AuditRecord { legal_basis: "statute".into(), ..r.clone() },
            AuditRecord { detail: "ARREARS".into(), ..r.clone() },
        ];
        for v in &variants {
            assert_ne!(record_hash(GENESIS, &Fields::from(v)), base, "{v:?}");
        }
        assert_ne!(record_hash(&"1".repeat(64), &Fields::from(&r)), base, "prev_hash is covered");
    }

    #[test]
    fn encoding_is_unambiguous_between_neighbouring_fields() {
        // Plain concatenation would hash these two alike.
        let a = AuditRecord { legal_basis: "owner".into(), detail: "IDENTITY".into(), ..rec(1, "") };
        let b = AuditRecord { legal_basis: "ownerIDENT".into(), detail: "ITY".into(), ..rec(1, "") };
        assert_ne!(record_hash(GENESIS, &Fields::from(&a)), record_hash(GENESIS, &Fields::from(&b)));
        let c = AuditRecord { staff: None, case_id: Some("x".into()), ..rec(1, "") };
        let d = AuditRecord { staff: Some("x".into()), case_id: None, ..rec(1, "") };
        assert_ne!(record_hash(GENESIS, &Fields::from(&c)), record_hash(GENESIS, &Fields::from(&d)));
    }

    #[test]
    fn intact_chain_with_legacy_prefix_and_seal() {
        let (sealer, _) = AuditSealer::generate().unwrap();
        let key = sealer.public_key();
        let mut log = vec![rec(1, "old"), rec(2, "old")];
        log.extend(chain_from(GENESIS, 3..=10));
        let seal = sealer.seal(8, log[7].hash.as_deref().unwrap(), Instant::from_millis(5));
        let report = check(&log, &[seal], Some(&key));
        assert!(report.is_intact(), "{report:?}");
        assert_eq!((report.records, report.legacy, report.seals, report.unsealed), (10, 2, 1, 2));
        assert_eq!(report.last_sealed_seq, Some(8));
        let s = report.summary();
        assert!(s.starts_with("audit chain intact: 10 records, 1 seals, last sealed seq 8"), "{s}");
        assert!(s.contains("2 records before the chain began (unchained legacy records)"), "{s}");
    }

    #[test]
    fn altered_record_is_named() {
        let mut log = chain_from(GENESIS, 1..=20);
        log[16].detail = "IDENTITY,HEALTH".into();
        let report = check(&log, &[], None);
        assert_eq!(report.problems, [Problem::Altered { seq: 17 }]);
        assert!(report.problems[0].to_string().contains("record seq 17 was altered"));
    }

    #[test]
    fn deleted_record_is_named() {
        let mut log = chain_from(GENESIS, 1..=20);
        log.remove(16);
        let report = check(&log, &[], None);
        assert_eq!(report.problems, [Problem::Broken { seq: 18, after: Some(16) }]);
        assert!(
            report.problems[0].to_string().contains("a record before seq 18 was deleted or the chain was re-ordered")
        );
        // Deleting the very first record breaks the link to the genesis value.
        let mut log = chain_from(GENESIS, 1..=3);
        log.remove(0);
        assert_eq!(check(&log, &[], None).problems, [Problem::Broken { seq: 2, after: None }]);
    }

    #[test]
    fn inserted_record_is_named_even_when_it_chains_correctly() {
        let mut log = chain_from(GENESIS, 1..=5);
        // A forger who knows the format chains the record to seq 3 and gives it seq 4; the real
        // records move up (as a renumbering would), but seq 5 still chains to seq 3.
        for r in log.iter_mut().skip(3) {
            r.seq += 100;
        }
        let mut forged = rec(4, "forged");
        forged.prev_hash = log[2].hash.clone();
        rehash(&mut forged);
        log.insert(3, forged);
        let report = check(&log, &[], None);
        assert_eq!(report.problems, [Problem::Inserted { seqs: vec![4], seq: 104, chained_to: 3 }]);
        assert!(report.problems[0].to_string().contains("record seq 4 was inserted"), "{}", report.problems[0]);
    }

    #[test]
    fn unchained_record_after_the_chain_began_is_named() {
        let mut log = chain_from(GENESIS, 1..=3);
        log.push(rec(4, "no hash"));
        assert_eq!(check(&log, &[], None).problems, [Problem::Unchained { seq: 4 }]);
    }

    #[test]
    fn rehashed_chain_is_caught_by_the_seal() {
        let (sealer, _) = AuditSealer::generate().unwrap();
        let key = sealer.public_key();
        let log = chain_from(GENESIS, 1..=10);
        let seal = sealer.seal(8, log[7].hash.as_deref().unwrap(), Instant::from_millis(5));
        // Alter seq 3 and recompute every hash after it: the chain itself is consistent again.
        let mut forged = log[..2].to_vec();
        let mut changed = rec(3, "IDENTITY,HEALTH");
        changed.prev_hash = log[1].hash.clone();
        rehash(&mut changed);
        let tail = chain_from(changed.hash.as_deref().unwrap(), 4..=10);
        forged.push(changed);
        forged.extend(tail);
        let report = check(&forged, std::slice::from_ref(&seal), Some(&key));
        assert_eq!(report.problems, [Problem::SealMismatch { seq: 8 }]);
        assert!(report.problems[0].to_string().contains("seal at seq 8 does not match: records up to it were changed"));
        // Cutting the log back to before the seal is caught as well.
        let report = check(&log[..6], std::slice::from_ref(&seal), Some(&key));
        assert_eq!(report.problems, [Problem::SealRecordMissing { seq: 8 }]);
    }

    #[test]
    fn forged_or_foreign_seals_are_refused() {
        let (sealer, _) = AuditSealer::generate().unwrap();
        let (other, _) = AuditSealer::generate().unwrap();
        let log = chain_from(GENESIS, 1..=4);
        let hash = log[3].hash.clone().unwrap();
        let mut altered = sealer.seal(4, &hash, Instant::from_millis(5));
        altered.sealed_at = Instant::from_millis(6);
        let foreign = other.seal(4, &hash, Instant::from_millis(5));
        for s in [altered, foreign] {
            let report = check(&log, &[s], Some(&sealer.public_key()));
            assert_eq!(report.problems, [Problem::SealSignature { seq: 4 }]);
        }
        let good = sealer.seal(4, &hash, Instant::from_millis(5));
        let report = check(&log, &[good], None);
        assert_eq!(report.problems, [Problem::NoPublicKey { seals: 1 }]);
    }
}
