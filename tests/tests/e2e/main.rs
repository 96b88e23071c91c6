//! The hub's end-to-end suite, compiled as one test binary.
//!
//! Each module is one story (a file of its own, named for what it checks); the helpers they share
//! (`common`, `process`, `browser`, `mailsink`, `emailkit`, the fuzz `mutations`) are compiled once
//! here instead of once per story. One binary also lets the test harness run the stories side by
//! side on both cores, where separate binaries ran one after another.
//!
//! Run one story with its module name as the filter, e.g. `cargo test -p hub-tests --test e2e store_story::`.

mod browser;
mod common;
mod emailkit;
mod mailsink;
#[path = "../../fuzz/mutations.rs"]
mod mutations;
mod process;

mod access;
mod access_report;
mod architecture;
mod arrears_import;
mod art9_display;
mod audit_chain;
mod audit_trail;
mod authz_matrix;
mod capacity;
mod certificates;
mod consent;
mod crash_recovery;
mod dashboard_browser;
mod dashboard_day;
mod dashboard_http;
mod dashboard_models;
mod dashboard_triage;
mod data_requests;
mod domain_rules;
mod email_delivery;
mod email_flow;
mod email_links;
mod encryption;
mod events;
mod faults;
mod frau_k;
mod fuzz_config;
mod fuzz_requests;
mod fuzz_tokens;
mod housing_portal;
mod idempotency;
mod key_figures;
mod lifecycle;
mod logs;
mod mailsink_selftest;
mod migrations;
mod notices;
mod operations;
mod partner_inbox;
mod projection;
mod rectification;
mod replica_processes;
mod replicas;
mod restriction;
mod schema_drift;
mod store_story;
mod tls_refusals;
