//! Wohnungserhalt Hub: a mutual-TLS gRPC hub that brokers consent-based referrals between the
//! Fachstelle Wohnungserhalt and its partners. See the README for the model and the API.

pub mod audit;
pub mod client;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod domain;
pub mod email;
pub mod grpc;
pub(crate) mod keyfile;
pub mod labels;
pub mod network;
pub mod pki;
pub mod reports;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod vault;
