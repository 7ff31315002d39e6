//! Project automation: `cargo xtask <command>`.
//!
//! Commands:
//! - `codegen [--from PATH] [--out PATH]`: prune the FileDescriptorSet of
//!   Envoy's protos shipped by the `envoy-types` crate (its `types.bin`) to the
//!   transitive closure of the files an ingress needs, strip source info, and
//!   write it to `core/proto/envoy.bin`, from which `core/build.rs` generates
//!   the Envoy message types.
//! - `gen-manifests N OUTDIR [--hosts H] [--tls]`: write N Mappings over H
//!   Hosts (default 1; TLS Hosts and their Secrets with `--tls`) behind the
//!   two standard Listeners into OUTDIR, for benchmarks (see
//!   `core/benches/gen.rs`).
//! - `deploy [--check]`: the CRDs and the single-file install in `deploy/`
//!   (see [`deploy`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use prost::Message;
use prost_types::{FileDescriptorProto, FileDescriptorSet};

mod deploy;

#[path = "../../core/benches/gen.rs"]
mod r#gen;

/// The proto files whose dependency closure core needs. Each must exist.
const ROOTS: &[&str] = &[
    "envoy/config/bootstrap/v3/bootstrap.proto",
    "envoy/config/listener/v3/listener.proto",
    "envoy/config/route/v3/route.proto",
    "envoy/config/cluster/v3/cluster.proto",
    "envoy/config/endpoint/v3/endpoint.proto",
    "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
    "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
    "envoy/extensions/filters/http/router/v3/router.proto",
    "envoy/extensions/filters/http/cors/v3/cors.proto",
    "envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto",
    "envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto",
    "envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto",
    "envoy/extensions/filters/http/grpc_http1_bridge/v3/config.proto",
    "envoy/extensions/filters/http/grpc_stats/v3/config.proto",
    "envoy/extensions/filters/http/lua/v3/lua.proto",
    "envoy/extensions/filters/http/compressor/v3/compressor.proto",
    "envoy/extensions/compression/gzip/compressor/v3/gzip.proto",
    "envoy/extensions/filters/http/buffer/v3/buffer.proto",
    "envoy/extensions/filters/http/rbac/v3/rbac.proto",
    "envoy/extensions/filters/http/health_check/v3/health_check.proto",
    "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
    "envoy/extensions/filters/listener/proxy_protocol/v3/proxy_protocol.proto",
    "envoy/extensions/transport_sockets/tls/v3/tls.proto",
    "envoy/extensions/transport_sockets/tls/v3/cert.proto",
    "envoy/extensions/transport_sockets/tls/v3/secret.proto",
    "envoy/extensions/transport_sockets/quic/v3/quic_transport.proto",
    "envoy/extensions/access_loggers/file/v3/file.proto",
    "envoy/extensions/access_loggers/stream/v3/stream.proto",
    "envoy/extensions/access_loggers/grpc/v3/als.proto",
    "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
    "envoy/config/trace/v3/zipkin.proto",
    "envoy/config/trace/v3/datadog.proto",
    "envoy/config/trace/v3/opentelemetry.proto",
    "envoy/config/overload/v3/overload.proto",
    "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.proto",
    "envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.proto",
    "envoy/service/discovery/v3/ads.proto",
    "envoy/service/discovery/v3/discovery.proto",
    "envoy/service/secret/v3/sds.proto",
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("codegen") => codegen(&args[1..]),
        Some("gen-manifests") => gen_manifests(&args[1..]),
        Some("deploy") => deploy::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask codegen [--from PATH/types.bin] [--out PATH/envoy.bin]");
            eprintln!("       cargo xtask gen-manifests N OUTDIR [--hosts H] [--tls]");
            eprintln!("       cargo xtask deploy [--check]");
            std::process::exit(2)
        }
    }
}

fn codegen(args: &[String]) -> Result<()> {
    let mut from = None;
    let mut out = workspace_root().join("core/proto/envoy.bin");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--from" => from = Some(PathBuf::from(it.next().context("--from needs a path")?)),
            "--out" => out = PathBuf::from(it.next().context("--out needs a path")?),
            other => bail!("unknown argument {other:?}"),
        }
    }
    let from = match from {
        Some(p) => p,
        None => default_types_bin()?,
    };
    let bytes = std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
    let set = FileDescriptorSet::decode(bytes.as_slice()).context("decoding FileDescriptorSet")?;
    let pruned = prune(set, ROOTS)?;
    let encoded = pruned.encode_to_vec();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, &encoded).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} ({} files, {} bytes) from {}",
        out.display(),
        pruned.file.len(),
        encoded.len(),
        from.display()
    );
    Ok(())
}

fn gen_manifests(args: &[String]) -> Result<()> {
    let (mut pos, mut hosts, mut tls) = (Vec::new(), 1usize, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--hosts" => hosts = it.next().context("--hosts needs a number")?.parse()?,
            "--tls" => tls = true,
            _ => pos.push(a),
        }
    }
    let [n, dir] = pos[..] else {
        bail!("usage: gen-manifests N OUTDIR [--hosts H] [--tls]")
    };
    let n: usize = n.parse().context("N must be a number")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
    for (name, text) in r#gen::manifests(n, hosts, tls) {
        let path = Path::new(dir).join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {n} Mappings over {hosts} Host(s) (tls: {tls}) to {dir}");
    Ok(())
}

/// Keep the files reachable from `roots` through `dependency`, in an order
/// where every file follows its dependencies, without source code info.
fn prune(set: FileDescriptorSet, roots: &[&str]) -> Result<FileDescriptorSet> {
    let by_name: BTreeMap<String, FileDescriptorProto> = set
        .file
        .into_iter()
        .map(|f| (f.name().to_owned(), f))
        .collect();
    let mut done = BTreeSet::new();
    let mut ordered = Vec::new();
    for root in roots {
        if !by_name.contains_key(*root) {
            bail!("root {root} is not in the descriptor set");
        }
        visit(root, &by_name, &mut done, &mut ordered)?;
    }
    let file = ordered
        .into_iter()
        .map(|name| {
            let mut f = by_name[&name].clone();
            f.source_code_info = None;
            f
        })
        .collect();
    Ok(FileDescriptorSet { file })
}

fn visit(
    name: &str,
    by_name: &BTreeMap<String, FileDescriptorProto>,
    done: &mut BTreeSet<String>,
    ordered: &mut Vec<String>,
) -> Result<()> {
    if !done.insert(name.to_owned()) {
        return Ok(());
    }
    let file = by_name
        .get(name)
        .with_context(|| format!("dependency {name} is not in the descriptor set"))?;
    for dep in &file.dependency {
        visit(dep, by_name, done, ordered)?;
    }
    ordered.push(name.to_owned());
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// `$CARGO_HOME/registry/src/*/envoy-types-0.7.7/src/generated/types.bin`.
fn default_types_bin() -> Result<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let src = cargo_home.join("registry/src");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&src).with_context(|| format!("listing {}", src.display()))? {
        let p = entry?
            .path()
            .join("envoy-types-0.7.7/src/generated/types.bin");
        if p.is_file() {
            found.push(p);
        }
    }
    found.sort();
    found.into_iter().next().context(
        "envoy-types 0.7.7 is not in the cargo registry: fetch it (a throwaway project \
         depending on envoy-types = \"=0.7.7\", then `cargo fetch`) or pass --from PATH",
    )
}
