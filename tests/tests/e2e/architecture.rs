//! Every rule lives once, in `hub/src/domain/` or `hub/src/service/`: the edges (the gRPC API, the
//! dashboard, the email desk and dispatcher) only convert their transport's shapes and call the use cases.
//! This test reads the edges' source and fails when one of them
//! - reaches the store around the service (`.store()`, `crate::store::`, its transactions), or
//! - builds a domain aggregate itself instead of through the domain's checked constructors.
//!
//! Test modules (`#[cfg(test)]` and below) are not edges and are skipped.

use std::path::{Path, PathBuf};

/// The edge folders of the hub crate.
const EDGES: &[&str] = &["grpc", "dashboard", "email"];

/// What an edge must not write, and why.
const STORE_ACCESS: &[(&str, &str)] = &[
    (".store()", "reaches the store around the use cases"),
    ("crate::store::", "uses the store's types"),
    (".begin_read()", "opens a store transaction"),
    (".begin().await", "opens a store transaction"),
    ("append_audit", "writes the audit trail itself"),
];

/// Domain aggregates that only the domain builds (through checked constructors) and the service stores.
const AGGREGATES: &[&str] = &["Consent", "Referral", "Case", "Closure", "Disclosure", "StageEntry", "Note"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The non-test code of an edge file, line by line with numbers.
fn production_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect()
}

/// Whether `line` builds `name` as a struct literal (not a pattern with `..`, a type, or a proto message).
fn builds(line: &str, name: &str) -> bool {
    let needle = format!("{name} {{");
    line.match_indices(&needle).any(|(at, _)| {
        let before = &line[..at];
        let word_start = before.chars().last().is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != ':');
        let proto = before.ends_with("pb::");
        let signature = line.contains("fn ") || line.contains("struct ") || line.contains("impl ");
        word_start && !proto && !signature && !line[at..].contains("..")
    })
}

#[test]
fn edges_only_convert_and_call_the_use_cases() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hub/src");
    let mut files = Vec::new();
    for edge in EDGES {
        rust_files(&src.join(edge), &mut files);
    }
    assert!(files.len() >= 10, "the edges' sources were found: {files:?}");
    let mut offences = Vec::new();
    for file in &files {
        let shown = file.strip_prefix(&src).unwrap_or(file).display().to_string();
        for (n, line) in production_lines(file) {
            for (needle, why) in STORE_ACCESS {
                if line.contains(needle) {
                    offences.push(format!("hub/src/{shown}:{n} {why}: {}", line.trim()));
                }
            }
            for name in AGGREGATES {
                if builds(&line, name) {
                    offences.push(format!("hub/src/{shown}:{n} builds a {name} itself: {}", line.trim()));
                }
            }
        }
    }
    assert!(offences.is_empty(), "edges must go through domain/ and service/:\n{}", offences.join("\n"));
}

#[test]
fn the_scanner_sees_what_it_forbids() {
    assert!(builds("let c = Consent { id, case_id };", "Consent"));
    assert!(builds("Ok(Referral {", "Referral"));
    assert!(!builds("Some(Organisation { name, .. }) => name,", "Organisation"));
    assert!(!builds("pb::Consent {", "Consent"));
    assert!(!builds("pub struct Consent {", "Consent"));
    assert!(!builds("let v = NewConsent {", "Consent"));
}
