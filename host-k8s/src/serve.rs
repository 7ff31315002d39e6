//! `emissary serve`: the control plane daemon. Sources feed manifests; a
//! translator thread debounces their changes, translates, and publishes
//! versioned snapshots on a watch channel; the ADS server streams them to
//! Envoys; the admin endpoint reports on all of it; and, unless told
//! otherwise, a supervised Envoy in the same process tree serves traffic.
//!
//! The rule for inputs that are not used (the last good snapshot keeps
//! serving) is in [`judge`].

use anyhow::{Context as _, Result};
use emissary_core::diag::Severity;
use emissary_core::xds::ads_bootstrap::{AdsBootstrap, AdsProtocol};
use emissary_core::{Inputs, Options, Translation};
use std::collections::BTreeMap;
use std::hash::{Hash as _, Hasher as _};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

use crate::admin::{Attempt, Metrics, ReportCell};
use crate::source::{self, Source};
use emissary_k8s::ads::{self, AdsStats};
use emissary_k8s::snapshot::{Encoder, Snapshot};

/// Which ADS variant the supervised Envoy asks for.
#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub(crate) enum XdsProtocol {
    /// State of the world.
    Sotw,
    /// Incremental.
    Delta,
}

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Directory of manifests, watched for changes. Default: `./config` when
    /// it exists, else the built-in quickstart example.
    #[arg(long, env = "EMISSARY_CONFIG_DIR")]
    pub(crate) config_dir: Option<PathBuf>,
    /// Port of the ADS (gRPC) server.
    #[arg(long, env = "EMISSARY_ADS_PORT", default_value_t = 18000)]
    pub(crate) ads_port: u16,
    /// Address the ADS server binds.
    #[arg(long, env = "EMISSARY_ADS_ADDRESS", default_value = "127.0.0.1")]
    pub(crate) ads_address: IpAddr,
    /// Port of the admin HTTP endpoint (health, metrics, debug, `/ambassador/v0/`).
    #[arg(long, env = "EMISSARY_ADMIN_PORT", default_value_t = 8877)]
    pub(crate) admin_port: u16,
    /// Address the admin endpoint binds.
    #[arg(long, env = "EMISSARY_ADMIN_ADDRESS", default_value = "0.0.0.0")]
    pub(crate) admin_address: IpAddr,
    /// The Envoy binary to supervise. Default: `$VIRTUAL_ENV/bin/envoy`,
    /// `.venv/bin/envoy` here or above, or `envoy` on PATH.
    #[arg(long, env = "EMISSARY_ENVOY")]
    pub(crate) envoy: Option<PathBuf>,
    /// Run the control plane only; Envoys connect by themselves (see `emissary ads-bootstrap`).
    #[arg(long, conflicts_with = "envoy")]
    pub(crate) no_envoy: bool,
    /// Admin port of the supervised Envoy.
    #[arg(long, env = "EMISSARY_ENVOY_ADMIN_PORT", default_value_t = emissary_core::xds::ADMIN_PORT)]
    pub(crate) envoy_admin_port: u16,
    /// Node id of the supervised Envoy.
    #[arg(long, env = "EMISSARY_NODE_ID", default_value = "emissary")]
    pub(crate) node_id: String,
    /// ADS variant the supervised Envoy asks for.
    #[arg(long, env = "EMISSARY_XDS_PROTOCOL", value_enum, default_value_t = XdsProtocol::Sotw)]
    pub(crate) xds_protocol: XdsProtocol,
    /// Hot-restart base id of the supervised Envoy (default: hot restart disabled).
    #[arg(long, env = "EMISSARY_ENVOY_BASE_ID")]
    pub(crate) envoy_base_id: Option<u32>,
    /// How long the supervised Envoy drains its listeners on shutdown, in seconds.
    #[arg(long, env = "EMISSARY_ENVOY_DRAIN_SECONDS", default_value_t = 2)]
    pub(crate) envoy_drain_seconds: u64,
    /// Log level of the supervised Envoy.
    #[arg(long, env = "EMISSARY_ENVOY_LOG_LEVEL", default_value = "warning")]
    pub(crate) envoy_log_level: String,
    /// Also start the example backends the quickstart Mappings point at
    /// (127.0.0.1:9000 and 127.0.0.1:9001).
    #[arg(long)]
    pub(crate) with_example_backends: bool,
    #[command(flatten)]
    pub(crate) env: crate::Env,
}

/// State shared by the daemon's tasks.
pub(crate) struct Shared {
    pub(crate) snapshots: watch::Sender<Option<Arc<Snapshot>>>,
    pub(crate) stats: Arc<AdsStats>,
    pub(crate) metrics: Metrics,
    pub(crate) report: ReportCell,
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    init_logging();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(main(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn main(args: Args) -> Result<()> {
    let options = crate::options(&args.env);
    let source: Box<dyn Source> = match &args.config_dir {
        Some(d) => Box::new(source::DirSource::new(d.clone())?),
        None if std::path::Path::new("config").is_dir() => {
            Box::new(source::DirSource::new(PathBuf::from("config"))?)
        }
        None => Box::new(source::EmbeddedSource),
    };
    let envoy = if args.no_envoy {
        None
    } else {
        Some(crate::envoy::find(args.envoy.as_deref())?)
    };
    // Bind first, so that a port in use fails before anything starts.
    let ads_addr = SocketAddr::new(args.ads_address, args.ads_port);
    let ads_listener = tokio::net::TcpListener::bind(ads_addr)
        .await
        .with_context(|| format!("binding the ADS port {ads_addr}"))?;
    let admin_addr = SocketAddr::new(args.admin_address, args.admin_port);
    let admin_listener = tokio::net::TcpListener::bind(admin_addr)
        .await
        .with_context(|| format!("binding the admin port {admin_addr}"))?;

    let (snap_tx, snap_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        snapshots: snap_tx,
        stats: Arc::new(AdsStats::new()),
        metrics: Metrics::default(),
        report: Default::default(),
    });
    // Two phases: Envoy and the translator stop first; the servers after
    // Envoy is gone, so that it keeps its ADS stream while it drains.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (servers_stop_tx, servers_stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    tracing::info!(source = %source.name(), ads = %ads_addr, admin = %admin_addr, "control plane starting");
    let translator = spawn_translator(
        source,
        options,
        shared.clone(),
        tokio::runtime::Handle::current(),
        stop_rx.clone(),
    )?;

    let ads_task = tokio::spawn(ads::serve(
        ads_listener,
        snap_rx,
        shared.stats.clone(),
        stopped(servers_stop_rx.clone()),
    ));
    let admin_task = tokio::spawn({
        let app = crate::admin::router(shared.clone());
        let stop = stopped(servers_stop_rx.clone());
        async move {
            axum::serve(admin_listener, app)
                .with_graceful_shutdown(stop)
                .await
        }
    });
    let mut backends = Vec::new();
    if args.with_example_backends {
        for (port, name) in [(9000, "backend-v1"), (9001, "backend-v2")] {
            backends.push(tokio::spawn(crate::backend::serve(
                SocketAddr::from(([127, 0, 0, 1], port)),
                name.into(),
                stopped(servers_stop_rx.clone()),
            )));
        }
    }
    let run_dir = tempfile::Builder::new()
        .prefix("emissary-")
        .tempdir()
        .context("creating a run directory")?;
    let envoy_task = envoy.map(|binary| {
        let cfg = crate::envoy::Config {
            binary,
            bootstrap: AdsBootstrap {
                node_id: args.node_id.clone(),
                ads_host: match args.ads_address {
                    a if a.is_unspecified() => "127.0.0.1".into(),
                    a => a.to_string(),
                },
                ads_port: args.ads_port,
                admin_host: "127.0.0.1".into(),
                admin_port: args.envoy_admin_port,
                protocol: match args.xds_protocol {
                    XdsProtocol::Sotw => AdsProtocol::Sotw,
                    XdsProtocol::Delta => AdsProtocol::Delta,
                },
                ..Default::default()
            },
            base_id: args.envoy_base_id,
            drain_time: Duration::from_secs(args.envoy_drain_seconds),
            log_level: args.envoy_log_level.clone(),
            run_dir: run_dir.path().to_path_buf(),
        };
        tokio::spawn(crate::envoy::supervise(
            cfg,
            shared.clone(),
            stop_rx.clone(),
        ))
    });

    let signal = shutdown_signal().await?;
    tracing::info!(signal, "shutting down");
    let _ = stop_tx.send(true);
    // Envoy first (it drains while the ADS server still answers), then the rest.
    if let Some(t) = envoy_task {
        log_outcome("envoy supervisor", t.await);
    }
    let _ = servers_stop_tx.send(true);
    log_outcome("ADS server", ads_task.await);
    log_outcome(
        "admin server",
        admin_task.await.map(|r| r.map_err(Into::into)),
    );
    for b in backends {
        log_outcome("example backend", b.await);
    }
    let _ = tokio::task::spawn_blocking(move || translator.join()).await;
    tracing::info!("stopped");
    Ok(())
}

fn log_outcome(what: &str, r: Result<Result<()>, tokio::task::JoinError>) {
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "{what} failed"),
        Err(e) => tracing::error!(error = %e, "{what} panicked"),
    }
}

async fn shutdown_signal() -> Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

/// The translator runs on its own thread: reading and translating are
/// blocking and CPU-bound, and must not stall the ADS and admin servers.
fn spawn_translator(
    mut source: Box<dyn Source>,
    options: Options,
    shared: Arc<Shared>,
    rt: tokio::runtime::Handle,
    mut stop: watch::Receiver<bool>,
) -> Result<std::thread::JoinHandle<()>> {
    let changes = Arc::new(source::Changes::default());
    source.watch(changes.clone())?;
    // The first translation happens at once.
    changes.signal(true);
    let t = std::thread::Builder::new()
        .name("translator".into())
        .spawn(move || {
            let mut state = Translator::default();
            loop {
                // Translates during the debounce; serves once the source settled.
                let prepared = rt.block_on(async {
                    tokio::select! {
                        p = source::settle(&changes, source::QUIET, source::DEBOUNCE_MAX, || {
                            state.prepare(source.as_ref(), &options)
                        }) => Some(p),
                        _ = stop.wait_for(|s| *s) => None,
                    }
                });
                let Some(prepared) = prepared else {
                    return;
                };
                state.commit(prepared, &shared);
            }
        })?;
    Ok(t)
}

/// What the translator remembers between runs.
#[derive(Default)]
pub(crate) struct Translator {
    version: u64,
    /// Hash of the inputs of the snapshot being served.
    input_hash: Option<u64>,
    /// Listener count of the snapshot being served.
    listeners: usize,
    /// Remembers parsed documents: only changed ones are parsed again.
    core: emissary_core::Translator,
    /// Remembers encoded clusters: only changed ones are encoded again.
    encoder: Encoder,
}

/// Why an input is not used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Use,
    Reject(String),
}

/// The rule for unusable input; the last good snapshot keeps serving when
/// any of these holds:
/// - a file could not be read (IO error, not UTF-8);
/// - a file does not parse as YAML/JSON (any `yaml-*` error: syntax, too
///   deep, too large, too many documents, recursive aliases) — a file saved
///   half-way looks like this, and a partial parse could drop objects;
/// - the translation has no listeners while the served snapshot has some —
///   an emptied or truncated file looks like this, and serving it would take
///   every route down at once.
///
/// Anything else is served: objects with errors are left out of it (and
/// reported), all others are translated.
pub(crate) fn judge(unreadable: &[String], t: &Translation, served_listeners: usize) -> Verdict {
    if let Some(u) = unreadable.first() {
        return Verdict::Reject(format!("unreadable input: {u}"));
    }
    if let Some(d) = t
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error && d.code.starts_with("yaml-"))
    {
        let file = d.span.map(|s| t.sources.name(s.file)).unwrap_or("<input>");
        return Verdict::Reject(format!("{file} does not parse ({})", d.code));
    }
    if t.ir.listeners.is_empty() && served_listeners > 0 {
        return Verdict::Reject(format!(
            "no listeners (the snapshot being served has {served_listeners}); \
             a file is probably being written"
        ));
    }
    Verdict::Use
}

/// A translation made while the source may still be changing: what
/// [`Translator::commit`] serves (or reports) once the source is known to
/// have settled with the content it was read from.
pub(crate) struct Prepared {
    attempt: Attempt,
    /// Diagnostics per severity and input bytes, when translated.
    counts: Option<(BTreeMap<&'static str, u64>, usize)>,
    outcome: Outcome,
}

enum Outcome {
    /// The same inputs as the snapshot being served.
    Unchanged,
    /// Not used: the last good snapshot keeps serving.
    Rejected(String),
    /// To be served.
    Use {
        snapshot: Arc<Snapshot>,
        listeners: usize,
        input_hash: u64,
    },
}

impl Translator {
    /// Reads, translates and judges; builds the snapshot to serve, if any.
    /// Nothing is served, logged or recorded yet (the content may be
    /// superseded before [`Translator::commit`]); only the parse cache learns.
    pub(crate) fn prepare(&mut self, source: &dyn Source, options: &Options) -> Prepared {
        let started = Instant::now();
        let mut lap = started;
        let mut phase = |attempt: &mut Attempt, name: &'static str| {
            let now = Instant::now();
            attempt
                .phases_ms
                .push((name, (now - lap).as_secs_f64() * 1e3));
            lap = now;
        };
        let content = source.read();
        let input_bytes: usize = content.files.iter().map(|f| f.text.len()).sum();
        let hash = input_hash(&content.files, options);
        let mut attempt = Attempt {
            unix_ms: unix_ms(),
            files: content.files.len(),
            unreadable: content.unreadable.clone(),
            ..Default::default()
        };
        phase(&mut attempt, "read");
        let done = |mut attempt: Attempt, counts, outcome| {
            attempt.duration_ms = started.elapsed().as_secs_f64() * 1e3;
            Prepared {
                attempt,
                counts,
                outcome,
            }
        };
        if content.unreadable.is_empty() && self.input_hash == Some(hash) {
            return done(attempt, None, Outcome::Unchanged);
        }
        let inputs = Inputs {
            files: content.files,
            options: options.clone(),
        };
        let t = self.core.translate(&inputs);
        drop(inputs);
        phase(&mut attempt, "translate");
        attempt.reused_segments = self.core.reused_segments();
        let mut counts = BTreeMap::new();
        for d in &t.diagnostics {
            *counts.entry(d.severity.as_str()).or_insert(0u64) += 1;
        }
        attempt.errors = counts.get("error").copied().unwrap_or(0) as usize;
        attempt.warnings = counts.get("warning").copied().unwrap_or(0) as usize;
        attempt.rendered = t.render_diagnostics();
        attempt.diagnostics = t.diagnostics.clone();
        phase(&mut attempt, "diagnostics");
        let counts = Some((counts, input_bytes));
        match judge(&content.unreadable, &t, self.listeners) {
            Verdict::Reject(reason) => done(attempt, counts, Outcome::Rejected(reason)),
            Verdict::Use => {
                let listeners = t.ir.listeners.len();
                let snapshot = self.encoder.snapshot(self.version + 1, t);
                attempt.reused_clusters = self.encoder.reused_clusters();
                phase(&mut attempt, "snapshot");
                done(
                    attempt,
                    counts,
                    Outcome::Use {
                        snapshot,
                        listeners,
                        input_hash: hash,
                    },
                )
            }
        }
    }

    /// Serves (or reports why not) what [`Translator::prepare`] made.
    pub(crate) fn commit(&mut self, prepared: Prepared, shared: &Shared) {
        let Prepared {
            mut attempt,
            counts,
            outcome,
        } = prepared;
        // Reading to snapshot; not the wait for the source to settle.
        let took = Duration::from_secs_f64(attempt.duration_ms / 1e3);
        attempt.committed_unix_ms = unix_ms();
        if let Some((counts, input_bytes)) = counts {
            shared.metrics.diagnostics(counts, input_bytes as u64);
        }
        if !attempt.rendered.is_empty() {
            if attempt.errors > 0 {
                tracing::warn!("diagnostics:\n{}", attempt.rendered.trim_end());
            } else {
                tracing::info!("diagnostics:\n{}", attempt.rendered.trim_end());
            }
        }
        match outcome {
            Outcome::Unchanged => {
                attempt.outcome = "unchanged";
                shared.metrics.translated("unchanged", took);
                tracing::debug!("inputs unchanged");
                self.record(shared, attempt, false);
            }
            Outcome::Rejected(reason) => {
                tracing::warn!(%reason, serving = self.input_hash.map(|_| self.version), "input not used; the last good snapshot keeps serving");
                attempt.outcome = "rejected";
                attempt.reason = Some(reason);
                shared.metrics.translated("rejected", took);
                self.record(shared, attempt, false);
            }
            Outcome::Use {
                snapshot,
                listeners,
                input_hash,
            } => {
                self.listeners = listeners;
                self.input_hash = Some(input_hash);
                let current = shared.snapshots.borrow().clone();
                if current.is_some_and(|c| c.same_content(&snapshot)) {
                    tracing::info!(
                        version = self.version,
                        "translation unchanged; version kept"
                    );
                    shared.metrics.translated("unchanged", took);
                    attempt.outcome = "unchanged";
                    self.record(shared, attempt, false);
                    return;
                }
                self.version += 1;
                debug_assert_eq!(snapshot.version, self.version);
                shared.snapshots.send_replace(Some(snapshot));
                shared.metrics.translated("published", took);
                tracing::info!(
                    version = self.version,
                    took_ms = attempt.duration_ms as u64,
                    errors = attempt.errors,
                    warnings = attempt.warnings,
                    "snapshot published"
                );
                attempt.outcome = "published";
                self.record(shared, attempt, true);
            }
        }
    }

    fn record(&self, shared: &Shared, attempt: Attempt, published: bool) {
        let mut r = shared.report.lock().expect("report lock");
        if published {
            r.serving_version = Some(self.version);
        }
        r.last = Some(attempt);
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A fingerprint of everything a translation depends on.
fn input_hash(files: &[emissary_core::SourceFile], options: &Options) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for f in files {
        f.name.hash(&mut h);
        f.text.hash(&mut h);
    }
    options.ambassador_id.hash(&mut h);
    options.ambassador_namespace.hash(&mut h);
    options.single_namespace.hash(&mut h);
    options.placeholder_secrets.hash(&mut h);
    h.finish()
}
