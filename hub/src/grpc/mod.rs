//! The gRPC edge: services, conversions, identity and the error mapping.

pub mod convert;
pub mod identity;
pub mod notices;
pub mod services;
pub mod status;
