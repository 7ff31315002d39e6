//! `emissary serve`: the wiring of the daemon. It binds the ports, starts
//! the parts and stops them in order; all logic is in the modules it calls
//! down into, and none of them imports this one:
//!
//! - a source ([`crate::source`]) feeds changes, debounced on the
//!   translator thread, where the [`Pipeline`] prepares and commits
//!   snapshots;
//! - the ADS server ([`crate::ads`]) streams the published snapshots to
//!   Envoys;
//! - the admin endpoint ([`crate::admin`]) reports on all of it;
//! - unless told otherwise, a supervised Envoy ([`crate::envoy`]) in the
//!   same process tree serves traffic, and optionally the example backends
//!   ([`crate::backend`]) answer the quickstart's routes.
//!
//! Shutdown order: on SIGTERM/SIGINT Envoy and the translator stop first;
//! the servers after Envoy is gone, so that it keeps its ADS stream while
//! it drains.
//!
//! Handover (SIGUSR2): the same order, except that Envoy is left running
//! for the next control plane to adopt (see [`crate::envoy`]). Then the
//! daemon either exits 0 ([`Handover::Exit`]), and whatever supervises it
//! starts the successor, or re-executes its binary in place
//! ([`Handover::Exec`]: the path it was started from, with the same
//! arguments and environment), keeping its PID, so that Envoy stays its
//! child. Decision: exec is the default when the daemon is PID 1 — in a
//! container, PID 1 exiting takes Envoy with it — and exit otherwise.

use anyhow::{Context as _, Result};
use emissary_core::Options;
use emissary_core::xds::ads_bootstrap::{AdsBootstrap, AdsProtocol, Overload};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use crate::admin::{self, Metrics};
use crate::ads::{self, AdsStats};
use crate::envoy;
use crate::pipeline::Pipeline;
use crate::source::Source;
use crate::source::debounce::{self, Signal};
use crate::source::dir::DirSource;
use crate::source::embedded::{self, EmbeddedSource};
use crate::source::kubernetes::{self, ClientOptions, KubeSource, Scope};
use crate::status::write::{FrontService, Writer};

/// How to run the daemon (the command line of `emissary serve`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of manifests; `None`: `./config` when it exists, else the
    /// built-in quickstart.
    pub config_dir: Option<PathBuf>,
    /// Read the Kubernetes API instead of files.
    pub kubernetes: Option<Kubernetes>,
    /// Where the ADS server listens.
    pub ads: SocketAddr,
    /// Where the admin endpoint listens.
    pub admin: SocketAddr,
    /// The Envoy to supervise: `None` for none, `Some(None)` to find it
    /// (see [`envoy::find`]).
    pub envoy: Option<Option<PathBuf>>,
    /// Admin port of the supervised Envoy.
    pub envoy_admin_port: u16,
    /// Node id of the supervised Envoy.
    pub node_id: String,
    /// ADS variant the supervised Envoy asks for.
    pub xds_protocol: AdsProtocol,
    /// Hot-restart base id of the supervised Envoy (`None`: hot restart disabled).
    pub envoy_base_id: Option<u32>,
    /// How long the supervised Envoy drains its listeners on shutdown.
    pub envoy_drain: Duration,
    /// Log level of the supervised Envoy.
    pub envoy_log_level: String,
    /// The supervised Envoy's overload manager limits.
    pub overload: Overload,
    /// What SIGUSR2 does after leaving Envoy running.
    pub handover: Handover,
    /// Also start the example backends the quickstart Mappings point at.
    pub with_example_backends: bool,
    /// Translation options.
    pub options: Options,
    /// How long an ADS stream may fail to hand a response to its Envoy
    /// before it is cut off (see [`ads::Config::stall_timeout`]).
    pub xds_stall_timeout: Duration,
    /// The built web playground for `/ui/` on the admin port (see
    /// [`admin::ui`]); `None`: found by [`admin::ui::find_dir`] when it can be.
    pub ui_dir: Option<PathBuf>,
}

/// How a daemon hands its Envoy over to its successor (on SIGUSR2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    /// Exit 0; the successor is started by someone else.
    Exit,
    /// Re-execute the daemon's binary in place, same PID and arguments.
    Exec,
}

/// How to read the Kubernetes API.
#[derive(Debug, Clone, Default)]
pub struct Kubernetes {
    /// Where the client configuration comes from.
    pub client: ClientOptions,
    /// What to watch.
    pub scope: Scope,
    /// Write status back (by the replica holding the Lease).
    pub status: Option<StatusConfig>,
}

/// How statuses are written.
#[derive(Debug, Clone)]
pub struct StatusConfig {
    /// The Service that fronts Envoy, whose load balancer Ingresses show.
    pub front: Option<FrontService>,
    /// The Lease that elects the writer: namespace and name.
    pub lease: (String, String),
    /// This replica's name in the Lease.
    pub identity: String,
}

/// Runs the daemon until SIGTERM or SIGINT, on a runtime of its own; on
/// SIGUSR2 hands its Envoy over (see the module documentation).
pub fn run(config: Config) -> Result<()> {
    // The path the binary was started from, read now: an upgrade may
    // replace the file before the handover re-executes it.
    let exe = std::env::current_exe().context("finding the daemon's binary")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let handover = config.handover;
    let ended = rt.block_on(main(config))?;
    drop(rt);
    if ended == Ended::Handover && handover == Handover::Exec {
        use std::os::unix::process::CommandExt as _;
        let mut argv = std::env::args_os();
        let mut cmd = std::process::Command::new(&exe);
        if let Some(arg0) = argv.next() {
            cmd.arg0(arg0);
        }
        tracing::info!(binary = %exe.display(), "re-executing the daemon");
        let e = cmd.args(argv).exec();
        return Err(e).with_context(|| format!("re-executing {}", exe.display()));
    }
    Ok(())
}

/// How the daemon ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Stopped,
    Handover,
}

async fn main(config: Config) -> Result<Ended> {
    let mut kube_status = None;
    let (source, root): (Box<dyn Source>, String) = match (&config.kubernetes, &config.config_dir) {
        (Some(k), _) => {
            let (client_config, origin) = kubernetes::client::config(&k.client).await?;
            let client =
                kube::Client::try_from(client_config).context("creating the Kubernetes client")?;
            tracing::info!(config = %origin, "Kubernetes client configured");
            let source = KubeSource::new(client.clone(), k.scope.clone(), origin.to_string());
            kube_status = k.status.clone().map(|s| (client, source.kinds(), s));
            (Box::new(source), String::new())
        }
        (None, Some(d)) => dir_source(d.clone())?,
        (None, None) if std::path::Path::new("config").is_dir() => {
            dir_source(PathBuf::from("config"))?
        }
        (None, None) => (Box::new(EmbeddedSource::default()), embedded::ROOT.into()),
    };
    let envoy = match &config.envoy {
        None => None,
        Some(explicit) => Some(envoy::find(explicit.as_deref())?),
    };
    // Bind first, so that a port in use fails before anything starts.
    let ads_addr = config.ads;
    let ads_listener = tokio::net::TcpListener::bind(ads_addr)
        .await
        .with_context(|| format!("binding the ADS port {ads_addr}"))?;
    let admin_addr = config.admin;
    let admin_listener = tokio::net::TcpListener::bind(admin_addr)
        .await
        .with_context(|| format!("binding the admin port {admin_addr}"))?;

    let mut pipeline = Pipeline::new(config.options.clone(), root);
    if config.kubernetes.is_some() {
        // Only the Secrets the configuration refers to keep their data.
        pipeline.narrow_secrets(kubernetes::secret_of);
    }
    let snapshots = pipeline.snapshots();
    let ads_stats = Arc::new(AdsStats::new());
    let envoy_status = Arc::new(envoy::Status::default());
    let metrics = Arc::new(Metrics::new(
        snapshots.clone(),
        ads_stats.clone(),
        envoy_status.clone(),
    ));
    let admin_state = admin::State {
        snapshots: snapshots.clone(),
        ads: ads_stats.clone(),
        report: pipeline.report(),
        metrics: metrics.clone(),
        ui_dir: config.ui_dir.clone().or_else(admin::ui::find_dir),
    };
    // Two phases: Envoy and the translator stop first; the servers after
    // Envoy is gone, so that it keeps its ADS stream while it drains.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (servers_stop_tx, servers_stop_rx) = watch::channel(false);
    let (envoy_stop_tx, envoy_stop_rx) = watch::channel(None);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let status_task = kube_status.map(|(client, kinds, s)| {
        let statuses = pipeline.statuses(kubernetes::object_of);
        let (leader_tx, leader_rx) = watch::channel(false);
        let lease = crate::status::lease::LeaseConfig::new(s.lease.0, s.lease.1, s.identity);
        let elect = tokio::spawn(crate::status::lease::elect(
            client.clone(),
            lease,
            leader_tx,
            stop_rx.clone(),
        ));
        let writer = Writer::new(client, kinds, s.front, Some(ads_stats.clone()));
        let write = tokio::spawn(writer.run(statuses, leader_rx, stop_rx.clone()));
        (elect, write)
    });
    tracing::info!(source = %source.name(), ads = %ads_addr, admin = %admin_addr, "control plane starting");
    let translator = spawn_translator(
        source,
        pipeline,
        metrics,
        tokio::runtime::Handle::current(),
        stop_rx.clone(),
    )?;

    let ads_task = tokio::spawn(ads::serve_with(
        ads_listener,
        snapshots,
        ads_stats,
        ads::Config {
            stall_timeout: config.xds_stall_timeout,
        },
        stopped(servers_stop_rx.clone()),
    ));
    let admin_task = tokio::spawn({
        let app = admin::router(admin_state);
        let stop = stopped(servers_stop_rx.clone());
        async move {
            axum::serve(admin_listener, app)
                .with_graceful_shutdown(stop)
                .await
        }
    });
    let mut backends = Vec::new();
    if config.with_example_backends {
        for (port, name) in [(9000, "backend-v1"), (9001, "backend-v2")] {
            backends.push(tokio::spawn(crate::backend::serve(
                SocketAddr::from(([127, 0, 0, 1], port)),
                name.into(),
                stopped(servers_stop_rx.clone()),
            )));
        }
    }
    let envoy_task = envoy.map(|binary| {
        tracing::info!(
            max_downstream_connections = ?config.overload.max_downstream_connections,
            max_heap_bytes = ?config.overload.max_heap_bytes,
            "Envoy's overload limits"
        );
        let cfg = envoy::Config {
            binary,
            bootstrap: AdsBootstrap {
                node_id: config.node_id.clone(),
                ads_host: match config.ads.ip() {
                    a if a.is_unspecified() => "127.0.0.1".into(),
                    a => a.to_string(),
                },
                ads_port: config.ads.port(),
                admin_host: "127.0.0.1".into(),
                admin_port: config.envoy_admin_port,
                protocol: config.xds_protocol,
                overload: config.overload,
                ..Default::default()
            },
            base_id: config.envoy_base_id,
            drain_time: config.envoy_drain,
            log_level: config.envoy_log_level.clone(),
        };
        tokio::spawn(envoy::supervise(cfg, envoy_status, envoy_stop_rx))
    });

    let signal = shutdown_signal().await?;
    let ended = if signal == "SIGUSR2" {
        tracing::info!(signal, how = ?config.handover, "handing over to the next control plane");
        Ended::Handover
    } else {
        tracing::info!(signal, "shutting down");
        Ended::Stopped
    };
    let _ = envoy_stop_tx.send(Some(match ended {
        Ended::Stopped => envoy::Shutdown::Stop,
        Ended::Handover => envoy::Shutdown::Handover,
    }));
    let _ = stop_tx.send(true);
    // Envoy first (it drains while the ADS server still answers), then the rest.
    if let Some(t) = envoy_task {
        log_outcome("envoy supervisor", t.await);
    }
    if let Some((elect, write)) = status_task {
        // The Lease is released, so that another replica writes at once.
        let _ = write.await;
        let _ = elect.await;
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
    Ok(ended)
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
    let mut usr2 = signal(SignalKind::user_defined2())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = usr2.recv() => "SIGUSR2",
    })
}

/// A directory source and its store's root (the directory as given, so
/// that inputs are named as the paths below it).
fn dir_source(dir: PathBuf) -> Result<(Box<dyn Source>, String)> {
    let root = dir.display().to_string();
    Ok((Box::new(DirSource::new(dir)?), root))
}

/// The translator runs on its own thread: reading and translating are
/// blocking and CPU-bound, and must not stall the ADS and admin servers.
/// It prepares while the debounce waits and commits only what the sources
/// settled on (see [`debounce::settle`]).
fn spawn_translator(
    mut source: Box<dyn Source>,
    mut pipeline: Pipeline,
    metrics: Arc<Metrics>,
    rt: tokio::runtime::Handle,
    mut stop: watch::Receiver<bool>,
) -> Result<std::thread::JoinHandle<()>> {
    let signal = Arc::new(Signal::default());
    // The source signals when its first content can be read.
    source.watch(signal.clone())?;
    let t = std::thread::Builder::new()
        .name("translator".into())
        .spawn(move || {
            loop {
                let prepared = rt.block_on(async {
                    tokio::select! {
                        p = debounce::settle(&signal, debounce::QUIET, debounce::DEBOUNCE_MAX, || {
                            pipeline.prepare(|| source.changes())
                        }) => Some(p),
                        _ = stop.wait_for(|s| *s) => None,
                    }
                });
                let Some(prepared) = prepared else {
                    return;
                };
                let committed = pipeline.commit(prepared);
                metrics.translated(&committed);
                if !committed.refetch.is_empty() {
                    source.refetch(&committed.refetch);
                }
            }
        })?;
    Ok(t)
}
