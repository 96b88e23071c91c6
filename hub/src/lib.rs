//! Wohnungserhalt Hub: a mutual-TLS gRPC hub that brokers consent-based referrals between the
//! Fachstelle Wohnungserhalt and its partners. See the README for the model and the API.
#![forbid(unsafe_code)]

pub mod clock;
pub mod domain;
pub mod service;
pub mod store;
