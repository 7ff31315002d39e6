//! Generates the ADS gRPC service (server and client stubs) from core's pruned
//! Envoy descriptor set, with every message type taken from
//! `emissary_core::pb` (one copy of the Envoy types). No protoc.
#![allow(clippy::disallowed_methods)] // a build script reads files and env vars by nature

use std::path::PathBuf;

use prost::Message as _;
use prost_types::FileDescriptorSet;

/// The one file whose service we generate; its messages live in core.
const ADS_PROTO: &str = "envoy/service/discovery/v3/ads.proto";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let fds_path = manifest.join("../core/proto/envoy.bin");
    println!("cargo:rerun-if-changed={}", fds_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let bytes = std::fs::read(&fds_path).expect("read core/proto/envoy.bin");
    let mut fds = FileDescriptorSet::decode(bytes.as_slice()).expect("decode core/proto/envoy.bin");
    // Only ads.proto: its service is what we need, every message is extern.
    fds.file.retain(|f| f.name() == ADS_PROTO);
    assert_eq!(fds.file.len(), 1, "{ADS_PROTO} is in the descriptor set");

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .extern_path(".envoy", "::emissary_core::pb::envoy")
        .extern_path(".google.protobuf.Any", "::emissary_core::pb::Any")
        .extern_path(".google", "::emissary_core::pb::google")
        .extern_path(".xds", "::emissary_core::pb::xds")
        .compile_fds(fds)
        .expect("tonic-prost-build");
}
