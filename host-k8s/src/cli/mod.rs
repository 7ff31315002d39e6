//! The `emissary` command line: `serve` (the control plane daemon with its
//! supervised Envoy, [`crate::serve`]), `translate` / `validate` /
//! `explain` / `migrate` for manifests on disk, `ads-bootstrap`, and the
//! hidden `example-backend`. The binary only parses it ([`Cli`]) and runs it.
//!
//! Exit codes of `translate` / `validate` / `migrate`: 0 = no errors, 1 = errors found
//! (output is still printed for the parts that translated), 2 = usage or IO
//! failure. `explain`: 0 when the request is served, 1 otherwise. `serve`
//! exits 0 after a clean shutdown (SIGTERM or SIGINT) and 2 when it cannot
//! start.

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use emissary_core::xds::ads_bootstrap::AdsProtocol;
use emissary_core::{Inputs, Options, SourceFile, xds};

use crate::source::dir;
use crate::{backend, serve};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

pub mod explain;
pub mod migrate;
pub mod overload;

/// The command line.
#[derive(Parser)]
#[command(
    name = "emissary",
    version,
    about = "An Emissary-ingress compatible control plane for Envoy"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The translation options, from flags or Emissary's environment variables.
#[derive(clap::Args, Clone, Debug)]
pub struct Env {
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
    Serve(Box<ServeArgs>),
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
        #[arg(long, value_enum, default_value_t = XdsProtocol::Sotw)]
        xds_protocol: XdsProtocol,
        #[command(flatten)]
        overload: overload::OverloadArgs,
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
    /// Rewrite getambassador.io/v2 (and v1) manifests as getambassador.io/v3alpha1.
    Migrate(migrate::Args),
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

impl Cli {
    /// Runs the command; errors (usage, IO, a daemon that cannot start)
    /// are printed and exit with 2.
    pub fn run(self) -> ExitCode {
        match run(self) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        }
    }
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // kube's client logs each failed request itself; the source logs one
        // line per attempt with what it was doing.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,kube_client::client::builder=off")
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            init_logging();
            serve::run(args.config())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::AdsBootstrap {
            node_id,
            ads_address,
            ads_port,
            admin_port,
            xds_protocol,
            overload,
        } => {
            use xds::ads_bootstrap::{AdsBootstrap, DEFAULT_MAX_HEAP_BYTES, ads_bootstrap};
            let b = ads_bootstrap(&AdsBootstrap {
                node_id,
                ads_host: ads_address,
                ads_port,
                admin_port,
                protocol: xds_protocol.into(),
                // The Envoy runs elsewhere: this machine's memory says nothing of it.
                overload: overload.overload(|| DEFAULT_MAX_HEAP_BYTES),
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
            init_logging();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(backend::serve(
                std::net::SocketAddr::new(address, port),
                name.unwrap_or_else(|| format!("backend-{port}")),
                async {
                    let _ = tokio::signal::ctrl_c().await;
                },
            ))?;
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
        Command::Migrate(args) => migrate::run(args),
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
        Format::Yaml => w.write_all(
            emissary_core::pb::yaml::to_string(&serde_json::to_value(value)?).as_bytes(),
        )?,
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
pub(crate) fn read_inputs(paths: &[PathBuf], env: &Env) -> Result<Inputs> {
    Ok(Inputs {
        files: read_files(paths)?,
        options: options(env),
    })
}

/// The files of [`read_inputs`].
pub(crate) fn read_files(paths: &[PathBuf]) -> Result<Vec<SourceFile>> {
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
            dir::walk(p, &mut found)?;
            found.sort();
            for f in found {
                files.push(dir::read_file(&f)?);
            }
        } else {
            files.push(dir::read_file(p)?);
        }
    }
    Ok(files)
}

/// Which ADS variant the supervised Envoy asks for.
#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum XdsProtocol {
    /// State of the world.
    Sotw,
    /// Incremental.
    Delta,
}
/// `emissary serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Directory of manifests, watched for changes. Default: `./config` when
    /// it exists, else the built-in quickstart example.
    #[arg(long, env = "EMISSARY_CONFIG_DIR", conflicts_with = "kubernetes")]
    config_dir: Option<PathBuf>,
    /// Read the manifests from the Kubernetes API (in-cluster service
    /// account, else `--kubeconfig`, `$KUBECONFIG` or `~/.kube/config`)
    /// instead of a directory. Also `EMISSARY_SOURCE=kubernetes`.
    #[arg(long)]
    kubernetes: bool,
    /// Where manifests come from: `files` (the default) or `kubernetes`.
    #[arg(long, env = "EMISSARY_SOURCE", value_enum, default_value_t = SourceKind::Files, hide = true)]
    source: SourceKind,
    /// The kubeconfig to use (before `$KUBECONFIG`, the in-cluster
    /// service account and `~/.kube/config`).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// Kubernetes: do not write status back to the objects.
    #[arg(long, env = "EMISSARY_NO_STATUS")]
    no_status: bool,
    /// Kubernetes: the Service that fronts Envoy (`NAMESPACE/NAME`, or
    /// `NAME` in `AMBASSADOR_NAMESPACE`), whose load balancer the served
    /// Ingresses show in their status.
    #[arg(long, env = "EMISSARY_STATUS_SERVICE", default_value = "emissary")]
    status_service: String,
    /// Kubernetes: the Lease (in `AMBASSADOR_NAMESPACE`) that elects the
    /// replica that writes status. Default: `emissary-status`, with
    /// `-AMBASSADOR_ID` appended unless the id is `default`.
    #[arg(long, env = "EMISSARY_LEASE")]
    lease: Option<String>,
    /// Kubernetes: only objects with these labels (`AMBASSADOR_LABEL_SELECTOR`).
    #[arg(long, env = "AMBASSADOR_LABEL_SELECTOR", hide = true)]
    label_selector: Option<String>,
    /// Kubernetes: only objects matching this field selector (`AMBASSADOR_FIELD_SELECTOR`).
    #[arg(long, env = "AMBASSADOR_FIELD_SELECTOR", hide = true)]
    field_selector: Option<String>,
    /// Port of the ADS (gRPC) server.
    #[arg(long, env = "EMISSARY_ADS_PORT", default_value_t = 18000)]
    ads_port: u16,
    /// Address the ADS server binds.
    #[arg(long, env = "EMISSARY_ADS_ADDRESS", default_value = "127.0.0.1")]
    ads_address: IpAddr,
    /// Port of the admin HTTP endpoint (health, metrics, debug, `/ambassador/v0/`).
    #[arg(long, env = "EMISSARY_ADMIN_PORT", default_value_t = 8877)]
    admin_port: u16,
    /// Address the admin endpoint binds.
    #[arg(long, env = "EMISSARY_ADMIN_ADDRESS", default_value = "0.0.0.0")]
    admin_address: IpAddr,
    /// The Envoy binary to supervise. Default: `$VIRTUAL_ENV/bin/envoy`,
    /// `.venv/bin/envoy` here or above, or `envoy` on PATH.
    #[arg(long, env = "EMISSARY_ENVOY")]
    envoy: Option<PathBuf>,
    /// Run the control plane only; Envoys connect by themselves (see `emissary ads-bootstrap`).
    #[arg(long, conflicts_with = "envoy")]
    no_envoy: bool,
    /// Admin port of the supervised Envoy.
    #[arg(long, env = "EMISSARY_ENVOY_ADMIN_PORT", default_value_t = emissary_core::xds::ADMIN_PORT)]
    envoy_admin_port: u16,
    /// Node id of the supervised Envoy.
    #[arg(long, env = "EMISSARY_NODE_ID", default_value = "emissary")]
    node_id: String,
    /// ADS variant the supervised Envoy asks for.
    #[arg(long, env = "EMISSARY_XDS_PROTOCOL", value_enum, default_value_t = XdsProtocol::Sotw)]
    xds_protocol: XdsProtocol,
    /// Seconds an ADS stream may fail to hand a response to its Envoy (the
    /// Envoy stopped reading) before the stream is cut off.
    #[arg(long, env = "EMISSARY_XDS_STALL_TIMEOUT", value_parser = parse_seconds, default_value = "30")]
    xds_stall_timeout: std::time::Duration,
    /// Hot-restart base id of the supervised Envoy (default: hot restart disabled).
    #[arg(long, env = "EMISSARY_ENVOY_BASE_ID")]
    envoy_base_id: Option<u32>,
    /// How long the supervised Envoy drains its listeners on shutdown, in seconds.
    #[arg(long, env = "EMISSARY_ENVOY_DRAIN_SECONDS", default_value_t = 2)]
    envoy_drain_seconds: u64,
    /// Log level of the supervised Envoy.
    #[arg(long, env = "EMISSARY_ENVOY_LOG_LEVEL", default_value = "warning")]
    envoy_log_level: String,
    /// What SIGUSR2 does after leaving Envoy running for the next control
    /// plane: exit, or re-execute this binary in place (same PID).
    /// Default: exec when the daemon is PID 1 (a container), else exit.
    #[arg(long, env = "EMISSARY_HANDOVER", value_enum)]
    handover: Option<HandoverMode>,
    /// Also start the example backends the quickstart Mappings point at
    /// (127.0.0.1:9000 and 127.0.0.1:9001).
    #[arg(long)]
    with_example_backends: bool,
    /// The built web playground (`web-playground/dist`) to serve under
    /// `/ui/` on the admin port. Default: `web-playground/dist` here or above.
    #[arg(long, env = "EMISSARY_UI_DIR")]
    ui_dir: Option<PathBuf>,
    #[command(flatten)]
    overload: overload::OverloadArgs,
    #[command(flatten)]
    env: Env,
}

/// A positive number of seconds (fractions allowed).
fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s.parse().map_err(|e| format!("{e}"))?;
    std::time::Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?} is not a positive number of seconds"))
}

impl From<XdsProtocol> for AdsProtocol {
    fn from(p: XdsProtocol) -> AdsProtocol {
        match p {
            XdsProtocol::Sotw => AdsProtocol::Sotw,
            XdsProtocol::Delta => AdsProtocol::Delta,
        }
    }
}

/// What `serve` does on SIGUSR2 (see [`serve::Handover`]).
#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum HandoverMode {
    /// Exit 0, leaving Envoy for a successor started by someone else.
    Exit,
    /// Re-execute the binary in place, keeping the PID.
    Exec,
}

/// Where `serve` reads manifests from.
#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum SourceKind {
    /// A directory (`--config-dir`), or the built-in quickstart.
    Files,
    /// The Kubernetes API.
    Kubernetes,
}

impl ServeArgs {
    fn status_config(&self) -> serve::StatusConfig {
        let ns = &self.env.ambassador_namespace;
        let front = match self.status_service.split_once('/') {
            _ if self.status_service.is_empty() => None,
            Some((n, s)) => Some((n.to_string(), s.to_string())),
            None => Some((ns.clone(), self.status_service.clone())),
        };
        let lease = self
            .lease
            .clone()
            .unwrap_or_else(|| match self.env.ambassador_id.as_str() {
                "default" => "emissary-status".into(),
                id => format!("emissary-status-{id}"),
            });
        // The pod's name (the downward API's POD_NAME, else the hostname,
        // which is the pod name in Kubernetes) and the process, so that two
        // daemons on one machine are two candidates.
        let who = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .or_else(|_| std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()))
            .unwrap_or_else(|_| "emissary".into());
        serve::StatusConfig {
            front: front
                .map(|(namespace, name)| crate::status::write::FrontService { namespace, name }),
            lease: (ns.clone(), lease),
            identity: format!("{who}-{}", std::process::id()),
        }
    }

    fn config(&self) -> serve::Config {
        let kubernetes =
            (self.kubernetes || self.source == SourceKind::Kubernetes).then(|| serve::Kubernetes {
                client: crate::source::kubernetes::ClientOptions {
                    kubeconfig: self.kubeconfig.clone(),
                    context: self.context.clone(),
                },
                scope: crate::source::kubernetes::Scope {
                    namespace: self
                        .env
                        .single_namespace
                        .then(|| self.env.ambassador_namespace.clone()),
                    label_selector: self.label_selector.clone(),
                    field_selector: self.field_selector.clone(),
                },
                status: (!self.no_status).then(|| self.status_config()),
            });
        serve::Config {
            config_dir: self.config_dir.clone(),
            kubernetes,
            ads: std::net::SocketAddr::new(self.ads_address, self.ads_port),
            admin: std::net::SocketAddr::new(self.admin_address, self.admin_port),
            envoy: (!self.no_envoy).then(|| self.envoy.clone()),
            envoy_admin_port: self.envoy_admin_port,
            node_id: self.node_id.clone(),
            xds_protocol: self.xds_protocol.into(),
            envoy_base_id: self.envoy_base_id,
            envoy_drain: std::time::Duration::from_secs(self.envoy_drain_seconds),
            envoy_log_level: self.envoy_log_level.clone(),
            overload: self
                .overload
                .overload(|| overload::heap_default(std::path::Path::new("/sys/fs/cgroup"))),
            handover: match self.handover {
                Some(HandoverMode::Exec) => serve::Handover::Exec,
                Some(HandoverMode::Exit) => serve::Handover::Exit,
                None if std::process::id() == 1 => serve::Handover::Exec,
                None => serve::Handover::Exit,
            },
            with_example_backends: self.with_example_backends,
            options: options(&self.env),
            ui_dir: self.ui_dir.clone(),
            xds_stall_timeout: self.xds_stall_timeout,
        }
    }
}
