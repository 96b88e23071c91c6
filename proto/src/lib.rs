//! The Wohnungserhalt Hub's wire types. Only the hub's gRPC edge and clients import this crate;
//! the domain never sees generated types.

/// `wohnungserhalt.hub.v1`: the one versioned API package.
pub mod v1 {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("wohnungserhalt.hub.v1");
}

/// Encoded `FileDescriptorSet` of the API, for the reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hub_descriptor.bin"));
