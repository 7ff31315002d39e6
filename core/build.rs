//! Generates the Envoy v3 message types (prost), their proto3 JSON serde
//! impls (pbjson, with original proto field names) and a registry of message
//! types by full name (for `google.protobuf.Any` JSON), all from the pruned
//! descriptor set `proto/envoy.bin` (`cargo xtask codegen` writes it). No
//! protoc: everything comes from the descriptor set.
#![allow(clippy::disallowed_methods)] // a build script reads files and env vars by nature

use std::fmt::Write as _;
use std::path::PathBuf;

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorSet};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let fds_path = manifest.join("proto/envoy.bin");
    println!("cargo:rerun-if-changed={}", fds_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let bytes = std::fs::read(&fds_path).expect("read proto/envoy.bin");
    let fds = FileDescriptorSet::decode(bytes.as_slice()).expect("decode proto/envoy.bin");

    prost_build::Config::new()
        .type_name_domain(["."], "type.googleapis.com")
        .disable_comments(["."])
        .enable_type_names()
        .btree_map(["."])
        // A Route's RouteAction is large: keep it off the Route itself so routes move cheaply.
        .boxed(".envoy.config.route.v3.Route.action.route")
        .compile_well_known_types()
        .extern_path(".google.protobuf.Any", "crate::pb::Any")
        .extern_path(".google.protobuf.Struct", "crate::pb::wkt::Struct")
        .extern_path(".google.protobuf.Value", "crate::pb::wkt::Value")
        .extern_path(".google.protobuf.ListValue", "crate::pb::wkt::ListValue")
        .extern_path(".google.protobuf.NullValue", "crate::pb::wkt::NullValue")
        .extern_path(".google.protobuf", "::pbjson_types")
        .include_file("mod.rs")
        .compile_fds(fds.clone())
        .expect("prost-build");

    // Proto3 JSON serde impls for every package but the well-known types
    // (pbjson-types has those; our `Any` is hand-written in `pb.rs`).
    let packages: std::collections::BTreeSet<String> = fds
        .file
        .iter()
        .map(|f| f.package().to_owned())
        .filter(|p| p != "google.protobuf")
        .collect();
    let prefixes: Vec<String> = packages.iter().map(|p| format!(".{p}")).collect();
    pbjson_build::Builder::new()
        .register_descriptors(&bytes)
        .expect("pbjson descriptors")
        .out_dir(&out)
        .preserve_proto_field_names()
        .btree_map(["."])
        .extern_path(".google.protobuf.Any", "crate::pb::Any")
        .extern_path(".google.protobuf.Struct", "crate::pb::wkt::Struct")
        .extern_path(".google.protobuf.Value", "crate::pb::wkt::Value")
        .extern_path(".google.protobuf.ListValue", "crate::pb::wkt::ListValue")
        .extern_path(".google.protobuf.NullValue", "crate::pb::wkt::NullValue")
        .build(&prefixes)
        .expect("pbjson-build");

    // Make each package file include its serde impls.
    for package in &packages {
        let stem = rust_module_path(package).join(".");
        let module_file = out.join(format!("{stem}.rs"));
        let serde_file = format!("{stem}.serde.rs");
        if out.join(&serde_file).exists() {
            let mut text = std::fs::read_to_string(&module_file).expect("read generated package");
            let _ = writeln!(
                text,
                "include!(concat!(env!(\"OUT_DIR\"), \"/{serde_file}\"));"
            );
            std::fs::write(&module_file, text).expect("write generated package");
        }
    }

    // `google.protobuf` comes from pbjson-types (plus our `Any`).
    let mod_rs = out.join("mod.rs");
    let text = std::fs::read_to_string(&mod_rs).expect("read mod.rs");
    let wkt = "pub mod google {\n    pub mod protobuf {\n        pub use ::pbjson_types::*;\n        pub use crate::pb::Any;\n        pub use crate::pb::wkt::{ListValue, NullValue, Struct, Value, value};\n    }\n";
    assert!(
        text.contains("pub mod google {\n"),
        "mod.rs has a google module"
    );
    std::fs::write(&mod_rs, text.replacen("pub mod google {\n", wkt, 1)).expect("write mod.rs");

    std::fs::write(out.join("any_registry.rs"), registry(&fds)).expect("write any_registry.rs");
}

/// The Rust module path prost-build gives a protobuf package.
fn rust_module_path(package: &str) -> Vec<String> {
    package
        .split('.')
        .map(|p| sanitize(p.to_snake_case()))
        .collect()
}

/// prost-build's escaping of identifiers that are Rust keywords.
fn sanitize(ident: String) -> String {
    const RAW: &[&str] = &[
        "as", "break", "const", "continue", "else", "enum", "false", "fn", "for", "if", "impl",
        "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
        "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "dyn", "abstract",
        "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
        "virtual", "yield", "async", "await", "try", "gen",
    ];
    if RAW.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else if ["_", "super", "self", "Self", "extern", "crate"].contains(&ident.as_str()) {
        format!("{ident}_")
    } else if ident.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{ident}")
    } else {
        ident
    }
}

/// `lookup_ser`/`lookup_de`: from a message's full name to functions that
/// render/parse it, for every message type of the descriptor set.
fn registry(fds: &FileDescriptorSet) -> String {
    let mut entries = Vec::new();
    for file in &fds.file {
        if file.package() == "google.protobuf" {
            continue;
        }
        let module = format!("crate::pb::{}", rust_module_path(file.package()).join("::"));
        for msg in &file.message_type {
            collect(msg, file.package(), &module, &mut entries);
        }
    }
    entries.sort();
    let mut s = String::from("// @generated by build.rs from proto/envoy.bin\n");
    s.push_str("pub(crate) fn lookup_ser<S: ::serde::Serializer>(full_name: &str) -> Option<crate::pb::json::SerFn<S>> {\n    Some(match full_name {\n");
    for (name, path) in &entries {
        let _ = writeln!(
            s,
            "        {name:?} => crate::pb::json::ser_payload::<{path}, S>,"
        );
    }
    s.push_str("        _ => return None,\n    })\n}\n\n");
    s.push_str("pub(crate) fn lookup_de(full_name: &str) -> Option<crate::pb::json::DeFn> {\n    Some(match full_name {\n");
    for (name, path) in &entries {
        let _ = writeln!(
            s,
            "        {name:?} => crate::pb::json::de_payload::<{path}>,"
        );
    }
    s.push_str("        _ => return None,\n    })\n}\n");
    s
}

fn collect(msg: &DescriptorProto, scope: &str, module: &str, out: &mut Vec<(String, String)>) {
    if msg.options.as_ref().is_some_and(|o| o.map_entry()) {
        return;
    }
    let full = format!("{scope}.{}", msg.name());
    out.push((
        full.clone(),
        format!("{module}::{}", sanitize(msg.name().to_upper_camel_case())),
    ));
    let inner = format!("{module}::{}", sanitize(msg.name().to_snake_case()));
    for nested in &msg.nested_type {
        collect(nested, &full, &inner, out);
    }
}
