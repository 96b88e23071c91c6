//! The hub's logs as an operator's central logging reads them: `HUB_LOG_FORMAT=json` writes one JSON
//! object per line; text logs written to a pipe or file carry no ANSI colour codes; an unknown format
//! stops the hub at start with a clear message. The real `hub serve` binary on a fresh data directory.

use crate::process;

use process::{Replica, hub_binary, hub_command, said};

/// Starts `hub serve` with `format` (unset: the default) and returns its stderr lines up to and
/// including the one that says it listens.
fn lines_until_listening(format: Option<&str>) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut cmd = hub_command(
        &hub_binary(),
        &["serve", "--data-dir", data.to_str().expect("UTF-8 path"), "--listen", "127.0.0.1:0"],
    );
    cmd.env("HUB_LOG", "info");
    if let Some(f) = format {
        cmd.env("HUB_LOG_FORMAT", f);
    }
    let hub = Replica::spawn("logs", cmd);
    let mut lines = hub.log();
    let listening = lines.iter().position(|l| said(l).is_some_and(|m| m.starts_with("listening on")));
    lines.truncate(listening.expect("the line that says it listens") + 1);
    lines
}

#[test]
fn json_logs_are_one_object_per_line() {
    let lines = lines_until_listening(Some("json"));
    assert!(lines.len() >= 2, "{lines:#?}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string(), "{line}");
        assert!(v["fields"]["message"].is_string(), "{line}");
    }
    let listening = lines.last().expect("a line");
    assert!(listening.contains("\"level\":\"INFO\""), "{listening}");
}

#[test]
fn text_logs_to_a_pipe_carry_no_colour_codes() {
    let lines = lines_until_listening(None);
    for line in &lines {
        assert!(!line.contains('\u{1b}'), "an ANSI escape code in a log written to a pipe: {line:?}");
    }
    assert!(lines.iter().any(|l| l.contains(" INFO ")), "{lines:#?}");
}

#[test]
fn an_unknown_log_format_stops_the_hub_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = hub_command(&hub_binary(), &["serve", "--data-dir", dir.path().to_str().expect("path")])
        .env("HUB_LOG_FORMAT", "yaml")
        .output()
        .expect("run hub serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HUB_LOG_FORMAT: 'yaml' is not a log format; use text or json"), "{stderr}");
}
