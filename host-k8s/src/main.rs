//! The `emissary` binary: `serve` (the control plane daemon with its
//! supervised Envoy), and `translate` / `validate` for manifests on disk.
//!
//! Exit codes of `translate` / `validate`: 0 = no errors, 1 = errors found
//! (output is still printed for the parts that translated), 2 = usage or IO
//! failure. `serve` exits 0 after a clean shutdown (SIGTERM or SIGINT) and 2
//! when it cannot start.

mod admin;
mod backend;
mod envoy;
mod serve;
mod source;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use emissary_core::{Inputs, Options, SourceFile, xds};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

mod explain;

/// mimalloc rather than the system allocator: translation allocates and frees
/// many small objects (about a third of its time under glibc malloc), and a
/// long-running daemon should hand freed memory back to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "emissary",
    version,
    about = "An Emissary-ingress compatible control plane for Envoy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone, Debug)]
struct Env {
    /// Only objects whose `ambassador_id` lists this id are used.
    #[arg(long, env = "AMBASSADOR_ID", default_value = "default")]
    ambassador_id: String,
    /// The namespace Emissary runs in (services in other namespaces get qualified).
    #[arg(long, env = "AMBASSADOR_NAMESPACE", default_value = "default")]
    ambassador_namespace: String,
    /// Only read objects from the Emissary namespace.
    #[arg(long, env = "AMBASSADOR_SINGLE_NAMESPACE", value_parser = parse_env_bool, default_value = "false")]
    single_namespace: bool,
    /// Use a placeholder certificate for missing TLS Secrets instead of reporting them.
    #[arg(long)]
    placeholder_secrets: bool,
}

/// Emissary treats any non-empty value of AMBASSADOR_SINGLE_NAMESPACE as set.
fn parse_env_bool(s: &str) -> Result<bool, String> {
    Ok(!matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "" | "false" | "0" | "no"
    ))
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane: watch manifests, serve them to Envoy over ADS,
    /// and supervise an Envoy.
    Serve(Box<serve::Args>),
    /// Translate manifests into Envoy configuration.
    Translate {
        /// What to print.
        #[arg(long, value_enum, default_value_t = Output::Bootstrap)]
        output: Output,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Indent JSON (the default when stdout is a terminal).
        #[arg(long)]
        pretty: bool,
        /// Files or directories of manifests (`-` for stdin).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        env: Env,
    },
    /// Check manifests and print diagnostics only.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        env: Env,
    },
    /// Print the Bootstrap for an Envoy that takes its configuration from `emissary serve`.
    AdsBootstrap {
        /// Node id the Envoy announces.
        #[arg(long, default_value = "emissary")]
        node_id: String,
        /// Address of the ADS server.
        #[arg(long, default_value = "127.0.0.1")]
        ads_address: String,
        #[arg(long, default_value_t = 18000)]
        ads_port: u16,
        /// Envoy's admin port.
        #[arg(long, default_value_t = xds::ADMIN_PORT)]
        admin_port: u16,
        #[arg(long, value_enum, default_value_t = serve::XdsProtocol::Sotw)]
        xds_protocol: serve::XdsProtocol,
    },
    /// A tiny echo HTTP server for examples and tests.
    #[command(hide = true)]
    ExampleBackend {
        #[arg(long)]
        port: u16,
        /// Name it answers with (default `backend-PORT`).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "127.0.0.1")]
        address: std::net::IpAddr,
    },
    /// Tell which Mapping serves a request, and why the routes before it do not.
    Explain(explain::Args),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    /// A complete static Envoy Bootstrap.
    Bootstrap,
    /// `{"listeners":[],"routes":[],"clusters":[],"endpoints":[],"secrets":[]}` as served over ADS.
    Xds,
    /// The intermediate representation.
    Ir,
    /// Diagnostics as JSON.
    Diagnostics,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::AdsBootstrap {
            node_id,
            ads_address,
            ads_port,
            admin_port,
            xds_protocol,
        } => {
            use xds::ads_bootstrap::{AdsBootstrap, AdsProtocol, ads_bootstrap};
            let b = ads_bootstrap(&AdsBootstrap {
                node_id,
                ads_host: ads_address,
                ads_port,
                admin_port,
                protocol: match xds_protocol {
                    serve::XdsProtocol::Sotw => AdsProtocol::Sotw,
                    serve::XdsProtocol::Delta => AdsProtocol::Delta,
                },
                ..Default::default()
            });
            println!("{}", serde_json::to_string_pretty(&b)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::ExampleBackend {
            port,
            name,
            address,
        } => {
            backend::run(port, name, address)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Translate {
            output,
            format,
            pretty,
            paths,
            env,
        } => {
            let inputs = read_inputs(&paths, &env)?;
            let t = emissary_core::translate(&inputs);
            drop(inputs);
            eprint!("{}", t.render_diagnostics());
            let errors = t.has_errors();
            let stdout = std::io::stdout();
            let pretty = pretty || stdout.is_terminal();
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            // Each arm frees the translation before rendering, to keep the peak low.
            match output {
                Output::Bootstrap => {
                    let b = t.bootstrap();
                    drop(t);
                    emit(&mut w, format, pretty, &b)?
                }
                Output::Xds => {
                    let r = t.resources(xds::Mode::Ads);
                    drop(t);
                    emit(&mut w, format, pretty, &r)?
                }
                Output::Ir => emit(&mut w, format, pretty, &t.ir)?,
                Output::Diagnostics => emit(&mut w, format, pretty, &t.diagnostics)?,
            }
            w.flush()?;
            Ok(exit(errors))
        }
        Command::Validate { paths, env } => {
            let inputs = read_inputs(&paths, &env)?;
            let t = emissary_core::translate(&inputs);
            eprint!("{}", t.render_diagnostics());
            let (e, w) = t
                .diagnostics
                .iter()
                .fold((0, 0), |(e, w), d| match d.severity {
                    emissary_core::diag::Severity::Error => (e + 1, w),
                    emissary_core::diag::Severity::Warning => (e, w + 1),
                    _ => (e, w),
                });
            eprintln!("{e} error(s), {w} warning(s)");
            Ok(exit(t.has_errors()))
        }
        Command::Explain(args) => explain::run(args),
    }
}

/// Writes a value as JSON (indented when asked, or when stdout is a terminal) or YAML.
fn emit<T: serde::Serialize>(
    w: &mut impl std::io::Write,
    format: Format,
    pretty: bool,
    value: &T,
) -> Result<()> {
    match format {
        Format::Json if pretty => {
            serde_json::to_writer_pretty(&mut *w, value)?;
            w.write_all(b"\n")?;
        }
        Format::Json => {
            serde_json::to_writer(&mut *w, value)?;
            w.write_all(b"\n")?;
        }
        Format::Yaml => {
            w.write_all(xds::yaml::to_string(&serde_json::to_value(value)?).as_bytes())?
        }
    }
    Ok(())
}

fn exit(errors: bool) -> ExitCode {
    if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn options(env: &Env) -> Options {
    Options {
        ambassador_id: env.ambassador_id.clone(),
        ambassador_namespace: env.ambassador_namespace.clone(),
        single_namespace: env.single_namespace,
        placeholder_secrets: env.placeholder_secrets,
    }
}

/// Reads files, directories (recursively: `*.yaml`, `*.yml`, `*.json`, sorted) and stdin.
fn read_inputs(paths: &[PathBuf], env: &Env) -> Result<Inputs> {
    let mut files = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
            files.push(SourceFile {
                name: "<stdin>".into(),
                text,
            });
        } else if p.is_dir() {
            let mut found = Vec::new();
            source::walk(p, &mut found)?;
            found.sort();
            for f in found {
                files.push(source::read_file(&f)?);
            }
        } else {
            files.push(source::read_file(p)?);
        }
    }
    Ok(Inputs {
        files,
        options: options(env),
    })
}
