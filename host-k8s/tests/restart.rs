//! End-to-end tests of restarting the control plane under load, with the
//! real Envoy: a daemon killed outright, or handing over on SIGUSR2 (by
//! exiting, or by re-executing itself), is followed by one that adopts the
//! running Envoy — no request fails, the Envoy keeps its pid and rebuilds
//! nothing, and it takes new configuration from its new control plane —
//! while a successor with another Bootstrap replaces the Envoy. Each test
//! prints the requests it sent and how many failed (the figures in
//! BENCHMARKS.md, "Control-plane restart").

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::*;

const LONG: Duration = Duration::from_secs(30);

/// Polls `GET path` through Envoy until the body contains `want`.
fn wait_route(port: u16, path: &str, want: &str) -> Response {
    wait_for(&format!("GET {path} answering {want:?}"), LONG, || {
        get(port, path)
            .ok()
            .filter(|r| r.status == 200 && r.body.contains(want))
    })
}

/// The pid of the supervised Envoy, from the file the daemon keeps.
fn envoy_pid(envoy_admin: u16) -> Option<i32> {
    let file = std::env::temp_dir().join(format!("emissary-envoy-{envoy_admin}.pid"));
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

fn alive(pid: i32) -> bool {
    // A zombie has an empty command line; a live Envoy does not.
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

/// Kills an Envoy the test saw, when the test ends (a failed test must
/// not leave one behind: no daemon may be left to stop it).
struct Reap(i32);

impl Drop for Reap {
    fn drop(&mut self) {
        let cmd = std::fs::read(format!("/proc/{}/cmdline", self.0)).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains("envoy-bootstrap.json") {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0), Signal::SIGKILL);
        }
    }
}

/// A Listener and a Mapping `/alpha/` to a backend, and the `serve`
/// arguments that make a daemon supervise Envoy.
struct Setup {
    // Dropped first: the backend stops before its directory goes.
    _backend: Proc,
    w: Workdir,
    listen: u16,
    backend_port: u16,
    envoy_admin: u16,
    plane: Plane,
    args: Vec<String>,
}

impl Setup {
    fn new() -> Setup {
        let w = Workdir::new();
        let [listen, backend_port, envoy_admin] = free_ports(3)[..] else {
            unreachable!()
        };
        let b = backend(w.path(), "alpha", backend_port);
        w.write("listener.yaml", &listener_yaml(listen));
        w.write(
            "mappings.yaml",
            &mapping_yaml("alpha", "/alpha/", backend_port),
        );
        let envoy = emissary_tests::envoy_bin().unwrap();
        let args = [
            "--envoy",
            envoy.to_str().unwrap(),
            "--envoy-admin-port",
            &envoy_admin.to_string(),
            "--envoy-drain-seconds",
            "1",
        ]
        .map(String::from)
        .to_vec();
        Setup {
            _backend: b,
            w,
            listen,
            backend_port,
            envoy_admin,
            plane: Plane::new(),
            args,
        }
    }

    /// Starts `emissary serve` supervising Envoy, with `extra` arguments
    /// (node id `restart` unless they name one).
    fn start(&self, extra: &[&str]) -> Proc {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        if !extra.contains(&"--node-id") {
            args.extend(["--node-id", "restart"]);
        }
        args.extend(extra);
        self.plane.start(self.w.path(), &self.w.config(), &args)
    }

    /// Starts the first daemon and waits until its Envoy serves and ACKed.
    fn start_first(&self, extra: &[&str]) -> (Proc, i32, Reap) {
        let serve = self.start(extra);
        wait_route(self.listen, "/alpha/one", "backend=alpha");
        self.wait_ready();
        let pid = envoy_pid(self.envoy_admin).expect("the daemon records its Envoy's pid");
        assert!(alive(pid));
        (serve, pid, Reap(pid))
    }

    /// Waits until an Envoy ACKed the daemon's configuration.
    fn wait_ready(&self) {
        wait_for("/readyz 200", LONG, || {
            get(self.plane.admin, "/readyz")
                .ok()
                .filter(|r| r.status == 200)
        });
    }

    fn metric(&self, name: &str) -> String {
        let m = self.plane.admin_get("/metrics").body;
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{m}"))
            .to_string()
    }

    /// What Envoy built: counters that move when a listener or cluster is
    /// added, changed or removed.
    fn envoy_builds(&self) -> Vec<(String, Option<u64>)> {
        [
            "listener_manager.listener_added",
            "listener_manager.listener_modified",
            "listener_manager.listener_removed",
            "listener_manager.listener_create_success",
            "cluster_manager.cluster_added",
            "cluster_manager.cluster_modified",
            "cluster_manager.cluster_removed",
        ]
        .map(|n| (n.to_string(), self.envoy_stat(n)))
        .to_vec()
    }

    fn envoy_stat(&self, name: &str) -> Option<u64> {
        let r = get(self.envoy_admin, &format!("/stats?filter=^{name}$")).ok()?;
        r.body
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .and_then(|v| v.trim().parse().ok())
    }

    /// When each dynamic listener and cluster was last updated, by name.
    fn last_updated(&self) -> Vec<String> {
        let dump = get(self.envoy_admin, "/config_dump").unwrap().body;
        let v: serde_json::Value = serde_json::from_str(&dump).unwrap();
        let mut out = Vec::new();
        for c in v["configs"].as_array().unwrap() {
            for key in ["dynamic_listeners", "dynamic_active_clusters"] {
                for r in c[key].as_array().into_iter().flatten() {
                    let name = r["name"]
                        .as_str()
                        .or_else(|| r["cluster"]["name"].as_str())
                        .unwrap_or("");
                    let when = r["last_updated"]
                        .as_str()
                        .or_else(|| r["active_state"]["last_updated"].as_str())
                        .unwrap_or("");
                    out.push(format!("{key} {name} {when}"));
                }
            }
        }
        out.sort();
        assert!(!out.is_empty(), "no dynamic listeners or clusters: {dump}");
        out
    }

    /// Adds a Mapping `/beta/` and waits until Envoy serves it: the Envoy
    /// takes configuration from the daemon now running.
    fn new_route_is_served(&self) {
        self.w.write(
            "beta.yaml",
            &mapping_yaml("beta", "/beta/", self.backend_port),
        );
        wait_route(self.listen, "/beta/x", "backend=alpha");
    }
}

/// Requests through Envoy until stopped: `keep_alive` clients each on one
/// connection (a new one after a failure), and one client opening a new
/// connection per request.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(port: u16, keep_alive: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        for i in 0..=keep_alive {
            let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
            threads.push(std::thread::spawn(move || {
                let new_conns = i == keep_alive;
                let mut conn = None;
                while !stop.load(Ordering::Relaxed) {
                    sent.fetch_add(1, Ordering::Relaxed);
                    let r = if new_conns {
                        get(port, "/alpha/new")
                    } else {
                        let c = match conn.take() {
                            Some(c) => Ok(c),
                            None => Conn::open(port),
                        };
                        c.and_then(|mut c| {
                            let r = c.get("/alpha/keep");
                            conn = Some(c);
                            r
                        })
                    };
                    match r {
                        Ok(r) if r.status == 200 => {
                            if r.header("connection") == Some("close") {
                                conn = None;
                            }
                        }
                        Ok(r) => {
                            failure(&failed, &format!("{} {}", r.status, r.body));
                            conn = None;
                        }
                        Err(e) => {
                            failure(&failed, &e.to_string());
                            conn = None;
                        }
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }));
        }
        Load {
            stop,
            sent,
            failed,
            threads,
        }
    }

    /// Stops the clients: (requests sent, requests failed).
    fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        (
            self.sent.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// Counts a failed request; the first few are shown.
fn failure(failed: &AtomicU64, what: &str) {
    if failed.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("request failed: {what}");
    }
}

/// After the predecessor has gone: the successor adopted the Envoy
/// (`old_pid`, which kept serving), which rebuilt nothing, and takes new
/// routes from the successor.
fn adopted_without_a_failure(
    s: &Setup,
    what: &str,
    load: Load,
    old_pid: i32,
    builds: &[(String, Option<u64>)],
    updated: &[String],
) {
    s.wait_ready();
    assert_eq!(s.metric("emissary_envoy_adoptions_total"), "1");
    assert_eq!(s.metric("emissary_envoy_adopted"), "1");
    assert_eq!(s.metric("emissary_envoy_up"), "1");
    assert_eq!(s.metric("emissary_envoy_starts_total"), "0");
    // Traffic goes on a while on the adopted Envoy.
    std::thread::sleep(Duration::from_millis(500));
    let (sent, failed) = load.finish();
    eprintln!("{what}: {sent} requests sent, {failed} failed");
    assert!(sent > 100, "only {sent} requests were sent");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed");
    assert_eq!(envoy_pid(s.envoy_admin), Some(old_pid));
    assert!(alive(old_pid));
    assert_eq!(s.envoy_builds(), builds, "Envoy rebuilt something");
    assert_eq!(s.last_updated(), updated, "Envoy updated a resource");
    s.new_route_is_served();
}

/// SIGTERM: the successor drains and stops the adopted Envoy and forgets it.
fn stops_the_adopted_envoy(s: &Setup, mut serve: Proc, pid: i32) {
    serve.signal(Signal::SIGTERM);
    let status = serve.wait_exit(LONG).expect("the daemon exits");
    assert!(status.success(), "{status:?}\n{}", serve.log_text());
    wait_for("the adopted Envoy to stop", Duration::from_secs(5), || {
        (!alive(pid)).then_some(())
    });
    assert_eq!(
        envoy_pid(s.envoy_admin),
        None,
        "the pid file is left behind"
    );
}

#[test]
fn a_daemon_killed_outright_is_followed_by_one_that_adopts_its_envoy() {
    let s = Setup::new();
    let (mut first, pid, _reap) = s.start_first(&[]);
    let (builds, updated) = (s.envoy_builds(), s.last_updated());
    let load = Load::start(s.listen, 4);
    std::thread::sleep(Duration::from_millis(300));
    first.signal(Signal::SIGKILL);
    first.wait_exit(LONG).expect("the daemon dies");
    let second = s.start(&[]);
    adopted_without_a_failure(&s, "SIGKILL", load, pid, &builds, &updated);
    assert!(
        second.log_text().contains("adopted the Envoy"),
        "{}",
        second.log_text()
    );
    stops_the_adopted_envoy(&s, second, pid);
}

#[test]
fn a_daemon_handing_over_on_sigusr2_exits_and_its_successor_adopts_envoy() {
    let mut s = Setup::new();
    // Delta ADS here (SotW in the other tests): the successor sends the
    // adopted Envoy nothing it has already.
    s.args
        .extend(["--xds-protocol".to_string(), "delta".to_string()]);
    let (mut first, pid, _reap) = s.start_first(&[]);
    let (builds, updated) = (s.envoy_builds(), s.last_updated());
    let load = Load::start(s.listen, 4);
    std::thread::sleep(Duration::from_millis(300));
    first.signal(Signal::SIGUSR2);
    let status = first.wait_exit(LONG).expect("the daemon exits on SIGUSR2");
    assert!(status.success(), "{status:?}\n{}", first.log_text());
    assert!(alive(pid), "Envoy was stopped\n{}", first.log_text());
    let second = s.start(&[]);
    adopted_without_a_failure(&s, "SIGUSR2 (exit, delta)", load, pid, &builds, &updated);
    stops_the_adopted_envoy(&s, second, pid);
}

#[test]
fn a_daemon_handing_over_by_exec_keeps_its_pid_and_adopts_its_own_envoy() {
    let s = Setup::new();
    let (first, pid, _reap) = s.start_first(&["--handover", "exec"]);
    let (builds, updated) = (s.envoy_builds(), s.last_updated());
    let load = Load::start(s.listen, 4);
    std::thread::sleep(Duration::from_millis(300));
    first.signal(Signal::SIGUSR2);
    // The same process starts again: it logs a second start.
    let mut first = first;
    wait_for("the daemon to start again", LONG, || {
        let log = first.log_text();
        (log.matches("control plane starting").count() == 2).then_some(())
    });
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "the daemon exited"
    );
    wait_for("the admin endpoint", LONG, || {
        get(s.plane.admin, "/healthz")
            .ok()
            .filter(|r| r.status == 200)
    });
    adopted_without_a_failure(&s, "SIGUSR2 (exec)", load, pid, &builds, &updated);
    // Envoy is still the daemon's child; it is stopped and reaped.
    stops_the_adopted_envoy(&s, first, pid);
}

#[test]
fn a_successor_with_another_bootstrap_replaces_the_envoy() {
    let s = Setup::new();
    let (mut first, old, _reap) = s.start_first(&[]);
    let load = Load::start(s.listen, 4);
    std::thread::sleep(Duration::from_millis(300));
    first.signal(Signal::SIGKILL);
    first.wait_exit(LONG).expect("the daemon dies");
    let r = get(s.listen, "/alpha/two").expect("Envoy still serves");
    assert_eq!(r.status, 200);
    // Another node id: another Bootstrap, so the old Envoy is replaced.
    let mut second = s.start(&["--node-id", "other"]);
    let new = wait_for("a new Envoy pid", LONG, || {
        envoy_pid(s.envoy_admin).filter(|p| *p != old)
    });
    let _reap_new = Reap(new);
    wait_for("the leftover Envoy to be gone", LONG, || {
        (!alive(old)).then_some(())
    });
    // The pid is recorded as soon as the spawn returns, which can be while
    // the kernel is still loading Envoy's binary (its command line empty).
    wait_for("the new Envoy to run", LONG, || alive(new).then_some(()));
    wait_route(s.listen, "/alpha/three", "backend=alpha");
    s.wait_ready();
    let (sent, failed) = load.finish();
    eprintln!("replaced (other node id): {sent} requests sent, {failed} failed");
    assert_eq!(s.metric("emissary_envoy_adoptions_total"), "0");
    assert_eq!(s.metric("emissary_envoy_starts_total"), "1");
    assert_eq!(s.metric("emissary_envoy_adopted"), "0");
    assert!(
        second.log_text().contains("another Bootstrap"),
        "{}",
        second.log_text()
    );
    second.signal(Signal::SIGTERM);
    let status = second.wait_exit(LONG).expect("the daemon exits");
    assert!(status.success(), "{status:?}\n{}", second.log_text());
    assert!(!alive(new), "Envoy still runs after SIGTERM");
    assert_eq!(
        envoy_pid(s.envoy_admin),
        None,
        "the pid file is left behind"
    );
}
