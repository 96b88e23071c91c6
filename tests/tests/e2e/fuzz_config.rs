//! Fuzzing of the configuration loader: mutated `hub.toml` files through
//! `hub::config::Config::load`, which parses the TOML and runs the checks the hub runs at start-up
//! (`[sla]` category names, `[email]` and `[email.smtp]` rules).
//!
//! Properties: no input panics; a configuration that loads is usable: the derived values (database
//! URL, public URL, SMTP port, key file, the retry schedule and, for sane day counts, a reply-by date
//! per category) are computed without panicking.
//!
//! Inputs: an entry of `tests/fuzz/corpus/config/` and a list of steps, each a byte mutation (with the
//! dictionary below) or, two times in five, a line mutation that keeps the file mostly TOML. 2,000 cases
//! (`PROPTEST_CASES`), fixed seed (`PROPTEST_RNG_SEED`); see `tests/fuzz/mutations.rs` and
//! `scripts/fuzz.sh`. The loader also reads `HUB_*` variables; none of those it reads is set here.

use crate::mutations;

use std::rc::Rc;

use mutations::{ByteOp, Step};
use proptest::prelude::*;
use proptest::sample::{Index, select};

use hub::config::Config;
use hub::domain::time::Day;
use hub::domain::vocab::ReferralCategory;

/// Keys, tables and TOML syntax the mutations insert.
const DICTIONARY: &[&str] = &[
    "data_dir = ",
    "listen = ",
    "database_url = ",
    "auto_migrate = ",
    "max_message_bytes = ",
    "scheduler_interval_secs = ",
    "\n[sla]\n",
    "\n[sla.reply_days]\n",
    "default_reply_days = ",
    "escalate_after_days = ",
    "deadline_margin_days = ",
    "schonfrist_warning_days = ",
    "eviction_warning_days = ",
    "remind_days_before = ",
    "LANDLORD_AGREEMENT = ",
    "RENT_DEBT_TAKEOVER_SGB2 = ",
    "\n[email]\n",
    "\n[email.smtp]\n",
    "\n[email.delivery]\n",
    "\n[email.web]\n",
    "enabled = true\n",
    "enabled = false\n",
    "link_ttl_days = ",
    "key_file = ",
    "poll_secs = ",
    "lease_secs = ",
    "batch = ",
    "host = ",
    "port = ",
    "security = \"plain\"",
    "security = \"tls\"",
    "username = ",
    "password = ",
    "from = ",
    "pool_size = ",
    "timeout_secs = ",
    "max_attempts = ",
    "retry_base_secs = ",
    "retry_max_secs = ",
    "public_url = ",
    "tls_cert = ",
    "tls_key = ",
    "\"\"",
    "\"\"\"",
    "'''",
    "[[",
    "]]",
    "{",
    "}",
    " = ",
    ",",
    ".",
    "true",
    "false",
    "inf",
    "-inf",
    "nan",
    "1979-05-27T07:32:00Z",
    "0x7f",
    "0o777",
    "0b1",
    "1_000",
    "+1",
    "\"127.0.0.1:0\"",
    "\"[::1]:65535\"",
    "\"https://\"",
    "\"Hub <hub@example.org>\"",
    "\"<>\"",
    "\"\\u0000\"",
    "\"\\uD800\"",
    "\\",
    "#",
];

/// Values written after a `key = ` by the line mutator.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "1e400",
    "nan",
    "true",
    "false",
    "\"\"",
    "\"x\"",
    "\"127.0.0.1:50051\"",
    "\"0.0.0.0:0\"",
    "\"localhost:587\"",
    "\"https://wohnungserhalt.example.org\"",
    "\"http://localhost\"",
    "\"Hub <hub@example.org>\"",
    "\"hub@\"",
    "\"starttls\"",
    "\"tls\"",
    "\"plain\"",
    "\"LANDLORD_AGREEMENT\"",
    "[]",
    "[1, 2]",
    "{}",
    "{ LANDLORD_AGREEMENT = 4000000000 }",
    "1979-05-27",
    "'''multi\nline'''",
];

/// A mutation that keeps the file mostly TOML: a line's value replaced, a line dropped,
/// duplicated or moved, or a `key = value` line from the dictionary inserted.
#[derive(Debug, Clone)]
enum LineOp {
    /// The value after ` = ` becomes `value`; a line without one becomes `key` and `value`.
    SetValue {
        line: Index,
        key: &'static str,
        value: &'static str,
    },
    Drop {
        line: Index,
    },
    Copy {
        line: Index,
        to: Index,
    },
    /// A dictionary line (`key` and `value` when the key ends in ` = `) before the line.
    Insert {
        line: Index,
        key: &'static str,
        value: &'static str,
    },
}

impl LineOp {
    fn apply(&self, input: &mut Vec<u8>) {
        let Ok(text) = std::str::from_utf8(input) else {
            return;
        };
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match self {
            LineOp::SetValue { line, key, value } => {
                let i = line.index(n);
                lines[i] = match lines[i].split_once(" = ") {
                    Some((k, _)) => format!("{k} = {value}"),
                    None => format!("{}{value}", key.trim_start_matches('\n')),
                };
            }
            LineOp::Drop { line } => {
                lines.remove(line.index(n));
            }
            LineOp::Copy { line, to } => {
                let copy = lines[line.index(n)].clone();
                lines.insert(to.index(n + 1), copy);
            }
            LineOp::Insert { line, key, value } => {
                let new = if key.ends_with(" = ") { format!("{key}{value}") } else { (*key).to_owned() };
                lines.insert(line.index(n), new);
            }
        }
        *input = lines.join("\n").into_bytes();
    }
}

/// A step: a byte mutation, or (two in five) a line mutation.
#[derive(Debug, Clone)]
enum ConfigStep {
    Bytes(ByteOp),
    Lines(LineOp),
}

impl Step for ConfigStep {
    fn apply(&self, buf: &mut Vec<u8>, corpus: &[Vec<u8>]) {
        match self {
            ConfigStep::Bytes(op) => op.apply(buf, corpus, 0, MAX_LEN),
            ConfigStep::Lines(op) => {
                op.apply(buf);
                buf.truncate(MAX_LEN);
            }
        }
    }
}

fn step() -> BoxedStrategy<ConfigStep> {
    let dict: Rc<[Vec<u8>]> = DICTIONARY.iter().map(|w| w.as_bytes().to_vec()).collect();
    let idx = any::<Index>;
    let (key, value) = (|| select(DICTIONARY), || select(VALUES));
    let lines = prop_oneof![
        2 => (idx(), key(), value()).prop_map(|(line, key, value)| LineOp::SetValue { line, key, value }).boxed(),
        1 => idx().prop_map(|line| LineOp::Drop { line }).boxed(),
        1 => (idx(), idx()).prop_map(|(line, to)| LineOp::Copy { line, to }).boxed(),
        1 => (idx(), key(), value()).prop_map(|(line, key, value)| LineOp::Insert { line, key, value }).boxed(),
    ];
    prop_oneof![
        3 => mutations::byte_op(&dict).prop_map(ConfigStep::Bytes).boxed(),
        2 => lines.prop_map(ConfigStep::Lines).boxed(),
    ]
    .boxed()
}

/// The longest input generated.
const MAX_LEN: usize = 16 * 1024;

/// The largest day count for which the reply-by date is computed (it walks the calendar day by day).
const SANE_DAYS: u32 = 260;

#[test]
fn fuzz_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hub.toml");
    let today = Day::parse("2026-01-09").expect("a date");
    let seeds = mutations::load_corpus("config");
    mutations::run("config", 2_000, &seeds, mutations::cases(&seeds, step()), |input| {
        std::fs::write(&path, input).map_err(|e| format!("writing the temp file: {e}"))?;
        let config = match Config::load(Some(&path)) {
            Ok(c) => c,
            Err(e) => {
                // A refused configuration is a fine outcome; its message is still made.
                let _ = format!("{e:#}");
                return Ok(());
            }
        };
        // A configuration that loads must be usable.
        let _ = config.database_url();
        let _ = config.email.public_url();
        let _ = config.email.smtp.port();
        let _ = config.email.key_file(&config.data_dir);
        let policy = &config.email.delivery;
        for attempt in 0..=config.email.delivery.max_attempts.min(70) {
            let _ = email_adapter::retry::backoff(policy, attempt, u64::from(attempt));
        }
        let sla = &config.sla;
        let days =
            [sla.default_reply_days, sla.deadline_margin_days].into_iter().chain(sla.reply_days.values().copied());
        // Config validation bounds every day count, so reply-by dates are always cheap to compute.
        assert!(days.into_iter().all(|d| d <= SANE_DAYS), "a loaded config names an implausible SLA day count");
        for category in ReferralCategory::ALL {
            let _ = sla.reply_by(*category, today, &[]);
        }
        Ok(())
    });
}
