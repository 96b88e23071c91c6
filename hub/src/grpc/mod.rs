//! The gRPC edge: services, conversions, identity and the error mapping.

pub mod convert;
pub mod deliveries;
pub mod identity;
pub mod notices;
pub mod services;
pub mod status;
