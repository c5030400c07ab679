//! Clearinghouse: a gRPC service that matches requests for assistance with offers of
//! assistance under UN Security Council resolution 1540.
//!
//! Layers, outside in: [`api`] (thin tonic handlers) → [`convert`] (wire ↔ domain) →
//! [`app`] (use cases: roles, ownership, visibility) → the `clearinghouse-domain` and
//! `clearinghouse-storage` crates. [`auth`] authenticates and authorizes every call
//! before a handler runs; [`error`] is the one place errors become gRPC statuses.
//! Beside gRPC on the same port: [`http`] (Connect JSON and gRPC-Web, through the same
//! gRPC stack) and [`console`] (server-rendered pages over the same use cases).
//!
//! Entry point: [`server::run`], used identically by `main` and the end-to-end tests.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod codec;
pub mod config;
pub mod console;
pub mod convert;
pub mod demo;
pub mod error;
pub mod feed;
pub mod http;
pub mod json;
pub mod metrics;
pub mod server;
pub mod shutdown;

pub use server::run;

/// Generated protobuf and gRPC code for `clearinghouse.v1`.
#[allow(missing_docs, missing_debug_implementations, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("clearinghouse.v1");

    /// Encoded `FileDescriptorSet` of the public contract, imports included, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/clearinghouse_descriptor.bin"));
}
