//! Fuzzing of the configuration loader: mutated `hub.toml` files through
//! `hub::config::Config::load`, which parses the TOML and runs the checks the hub runs at start-up
//! (`[sla]` category names, `[email]` and `[email.smtp]` rules).
//!
//! Properties: no input panics; a configuration that loads is usable: the derived values (database
//! URL, public URL, SMTP port, key file, the retry schedule and, for sane day counts, a reply-by date
//! per category) are computed without panicking.
//!
//! Budget: `HUB_FUZZ_ITERATIONS` (default 2,000), seed `HUB_FUZZ_SEED`; see `tests/fuzz/fuzzkit.rs`
//! and `scripts/fuzz.sh`. The loader also reads `HUB_*` variables; none of those it reads is set here.

#[path = "../fuzz/fuzzkit.rs"]
mod fuzzkit;

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
fn mutate_lines(rng: &mut fuzzkit::Rng, input: &[u8], _corpus: &[Vec<u8>]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(input).ok()?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let i = rng.below(lines.len());
    match rng.below(5) {
        0 | 1 => {
            let value = rng.pick(VALUES);
            match lines[i].split_once(" = ") {
                Some((key, _)) => lines[i] = format!("{key} = {value}"),
                None => lines[i] = format!("{}{value}", rng.pick(DICTIONARY).trim_start_matches('\n')),
            }
        }
        2 => {
            lines.remove(i);
        }
        3 => {
            let line = lines[i].clone();
            lines.insert(rng.below(lines.len() + 1), line);
        }
        _ => {
            let key = rng.pick(DICTIONARY);
            let line = if key.ends_with(" = ") { format!("{key}{}", rng.pick(VALUES)) } else { (*key).to_owned() };
            lines.insert(i, line);
        }
    }
    Some(lines.join("\n").into_bytes())
}

/// The largest day count for which the reply-by date is computed (it walks the calendar day by day).
const SANE_DAYS: u32 = 260;

#[test]
fn fuzz_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hub.toml");
    let today = Day::parse("2026-01-09").expect("a date");
    let report = fuzzkit::Fuzzer::new("config")
        .dictionary(DICTIONARY)
        .max_len(16 * 1024)
        .mutator(40, mutate_lines)
        .run(|input| {
            std::fs::write(&path, input).map_err(|e| format!("writing the temp file: {e}"))?;
            let config = match Config::load(Some(&path)) {
                Ok(c) => c,
                Err(e) => {
                    // The outcome: the first line of the outermost cause (parse error kinds and validation rules).
                    let msg = format!("{e:#}").replace(&path.display().to_string(), "FILE");
                    let gist = fuzzkit::gist(msg.split('\n').next().unwrap_or(""), 60);
                    return Ok(format!("refused: {gist}"));
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
            Ok(format!("loaded (email {}, reply_days {})", config.email.enabled, sla.reply_days.len().min(3)))
        });
    report.assert_clean();
}
