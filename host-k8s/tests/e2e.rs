//! End-to-end tests of `emissary serve` with the real Envoy: routing, live
//! changes, broken input, NACKs, control-plane restarts, several Envoys, and
//! both ADS variants. Every test has its own ports and directory, and stops
//! its processes when it ends (or fails).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
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

/// A directory with a Listener on a free port and a Mapping `/alpha/` to a
/// running backend "alpha", a control plane's ports, and the `serve`
/// arguments that make it supervise Envoy (admin on a free port).
struct Supervised {
    // Dropped first: the backend stops before its directory goes.
    _backend: Proc,
    w: Workdir,
    listen: u16,
    envoy_admin: u16,
    plane: Plane,
    args: Vec<String>,
}

impl Supervised {
    fn new() -> Supervised {
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
            "--node-id",
            "supervised",
            "--envoy-drain-seconds",
            "1",
        ]
        .map(String::from)
        .to_vec();
        Supervised {
            _backend: b,
            w,
            listen,
            envoy_admin,
            plane: Plane::new(),
            args,
        }
    }

    /// Starts `emissary serve` supervising Envoy.
    fn start(&self) -> Proc {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.plane.start(self.w.path(), &self.w.config(), &args)
    }
}

#[test]
fn supervised_envoy_routes_to_a_backend_and_stops_on_sigterm() {
    let s = Supervised::new();
    let (listen, envoy_admin, plane) = (s.listen, s.envoy_admin, &s.plane);
    let mut serve = s.start();
    let r = wait_route(listen, "/alpha/hello", "backend=alpha");
    // Emissary's default rewrite replaces the prefix with `/`.
    assert!(r.body.contains("path=/hello"), "{}", r.body);
    // Envoy acknowledged the snapshot: the control plane is ready.
    wait_for("/readyz 200", LONG, || {
        get(plane.admin, "/readyz").ok().filter(|r| r.status == 200)
    });
    let metrics = plane.admin_get("/metrics").body;
    assert!(
        metrics.contains("emissary_translations_total{outcome=\"published\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("emissary_envoy_up 1"), "{metrics}");
    let config = plane.admin_json("/debug/config");
    assert!(config.to_string().contains("listener-"), "{config}");
    // Envoy dies: the daemon starts it again and it serves the routes again.
    let quit = post(envoy_admin, "/quitquitquit").expect("Envoy's admin answers");
    assert_eq!(quit.status, 200);
    wait_for("a second Envoy start", LONG, || {
        let m = plane.admin_get("/metrics").body;
        m.contains("emissary_envoy_starts_total 2").then_some(())
    });
    wait_route(listen, "/alpha/again", "backend=alpha");
    // SIGTERM: Envoy is drained and stopped, the daemon exits 0.
    serve.signal(nix::sys::signal::Signal::SIGTERM);
    let status = serve
        .wait_exit(Duration::from_secs(20))
        .expect("the daemon exits after SIGTERM");
    assert!(status.success(), "{status:?}\n{}", serve.log_text());
    assert!(
        get(envoy_admin, "/ready").is_err(),
        "Envoy's admin still answers after the daemon stopped"
    );
    assert!(get(listen, "/alpha/").is_err(), "Envoy still serves");
}

#[test]
fn editing_a_mapping_reroutes_without_dropping_connections_delta() {
    let w = Workdir::new();
    let [listen, a, b] = free_ports(3)[..] else {
        unreachable!()
    };
    let _ba = backend(w.path(), "alpha", a);
    let _bb = backend(w.path(), "beta", b);
    w.write("listener.yaml", &listener_yaml(listen));
    w.write("mappings.yaml", &mapping_yaml("svc", "/svc/", a));
    let plane = Plane::new();
    let _serve = plane.start(w.path(), &w.config(), &[]);
    let envoy = Envoy::start(w.path(), &plane, "delta-node", AdsProtocol::Delta);
    envoy.wait_live(LONG);
    wait_route(listen, "/svc/", "backend=alpha");

    // A keep-alive connection opened before the change, and a slow request in flight.
    let mut keep = Conn::open(listen).unwrap();
    let first = keep.get("/svc/one").unwrap();
    assert!(first.body.contains("backend=alpha"), "{}", first.body);
    let slow = std::thread::spawn(move || get(listen, "/svc/slow?delay_ms=2000"));
    std::thread::sleep(Duration::from_millis(300));

    w.write_in_place("mappings.yaml", &mapping_yaml("svc", "/svc/", b));
    wait_route(listen, "/svc/", "backend=beta");

    let next = keep
        .get("/svc/two")
        .expect("the keep-alive connection is still open");
    assert_eq!(next.status, 200);
    assert!(next.body.contains("backend=beta"), "{}", next.body);
    assert_ne!(next.header("connection"), Some("close"));
    let slow = slow.join().unwrap().expect("the slow request completes");
    assert_eq!(slow.status, 200, "{slow:?}");
    assert!(slow.body.contains("backend=alpha"), "{}", slow.body);
    // The delta stream was used, and Envoy acknowledged.
    let ads = plane.admin_json("/debug/diagnostics")["ads"].to_string();
    assert!(ads.contains("delta-node"), "{ads}");
}

#[test]
fn a_broken_manifest_keeps_the_old_routes_until_fixed_sotw() {
    let w = Workdir::new();
    let [listen, a, b] = free_ports(3)[..] else {
        unreachable!()
    };
    let _ba = backend(w.path(), "alpha", a);
    let _bb = backend(w.path(), "beta", b);
    w.write("listener.yaml", &listener_yaml(listen));
    w.write("mappings.yaml", &mapping_yaml("one", "/one/", a));
    let plane = Plane::new();
    let _serve = plane.start(w.path(), &w.config(), &[]);
    let envoy = Envoy::start(w.path(), &plane, "sotw-node", AdsProtocol::Sotw);
    envoy.wait_live(LONG);
    wait_route(listen, "/one/", "backend=alpha");

    // Half-written YAML: rejected, reported, and the old routes keep serving.
    w.write(
        "mappings.yaml",
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: one\n  spec: [\n",
    );
    let report = wait_for("a rejected translation", LONG, || {
        let d = plane.admin_json("/debug/diagnostics");
        (d["last"]["outcome"] == "rejected").then_some(d)
    });
    assert!(
        report["last"]["reason"]
            .as_str()
            .unwrap()
            .contains("mappings.yaml"),
        "{report}"
    );
    assert!(
        report["last"]["rendered"]
            .as_str()
            .unwrap()
            .contains("yaml-syntax"),
        "{report}"
    );
    assert_eq!(report["serving_version"], 1);
    for _ in 0..5 {
        let r = get(listen, "/one/").unwrap();
        assert!(r.body.contains("backend=alpha"), "{r:?}");
    }
    let metrics = plane.admin_get("/metrics").body;
    assert!(
        metrics.contains("emissary_translations_total{outcome=\"rejected\"} 1"),
        "{metrics}"
    );
    // The diagnostics gauge counts the rejected input's errors too.
    assert!(
        !metrics.contains("emissary_diagnostics{severity=\"error\"} 0"),
        "{metrics}"
    );

    // Fixed, with a second route: both are served.
    w.write(
        "mappings.yaml",
        &format!(
            "{}{}",
            mapping_yaml("one", "/one/", a),
            mapping_yaml("two", "/two/", b)
        ),
    );
    wait_route(listen, "/two/", "backend=beta");
    wait_route(listen, "/one/", "backend=alpha");
    assert_eq!(plane.admin_json("/debug/diagnostics")["serving_version"], 2);
}

/// The value of the `/metrics` counter `family` for the Listener type.
fn listener_counter(plane: &Plane, family: &str) -> u64 {
    let metrics = plane.admin_get("/metrics").body;
    metrics
        .lines()
        .find(|l| l.starts_with(family) && l.contains("listener.v3.Listener"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {family} for listeners in /metrics:\n{metrics}"))
}

/// The Listener type's state on the one connected stream of `/debug/diagnostics`.
fn listener_state(plane: &Plane) -> serde_json::Value {
    let d = plane.admin_json("/debug/diagnostics");
    let nodes = d["ads"]["nodes"].as_array().cloned().unwrap_or_default();
    let n = nodes
        .iter()
        .find(|n| n["connected"] == true)
        .expect("a connected Envoy");
    n["types"]["type.googleapis.com/envoy.config.listener.v3.Listener"].clone()
}

/// A Listener Envoy cannot bind is NACKed: the Envoy keeps serving its last
/// good configuration; the daemon logs the rejection once (also when a later
/// snapshot still holds the bad Listener), counts it, shows it on
/// `/debug/diagnostics` with the Listener it came from, does not send the
/// rejected content again, and the next good snapshot clears it.
fn config_envoy_rejects(protocol: AdsProtocol) {
    let w = Workdir::new();
    let [listen, a, other] = free_ports(3)[..] else {
        unreachable!()
    };
    // A port someone else holds: the core cannot know, Envoy cannot bind it.
    let squatter = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let taken = squatter.local_addr().unwrap().port();
    let _ba = backend(w.path(), "alpha", a);
    w.write("listener.yaml", &listener_yaml(listen));
    w.write("mappings.yaml", &mapping_yaml("one", "/one/", a));
    let plane = Plane::new();
    let serve = plane.start(w.path(), &w.config(), &[]);
    let envoy = Envoy::start(w.path(), &plane, "nack-node", protocol);
    envoy.wait_live(LONG);
    wait_route(listen, "/one/", "backend=alpha");
    assert_eq!(listener_counter(&plane, "emissary_xds_nacks_total"), 0);

    w.write("taken.yaml", &listener_only_yaml(taken));
    let nack = wait_for("a NACK on the admin endpoint", LONG, || {
        let t = listener_state(&plane);
        let m = t["last_nack"]["message"].as_str()?;
        m.contains(&taken.to_string())
            .then(|| t["last_nack"].clone())
    });
    assert!(
        nack["message"].as_str().unwrap().contains("listener"),
        "{nack}"
    );
    let bad_source = format!("Listener/default/http-{taken}");
    assert_eq!(nack["sources"], serde_json::json!([bad_source]), "{nack}");
    let d = plane.admin_json("/debug/diagnostics");
    assert!(d["ads"]["rejections"][&bad_source].is_string(), "{d}");
    assert_eq!(listener_state(&plane)["rejecting"], true);
    assert_eq!(listener_counter(&plane, "emissary_xds_nacks_total"), 1);
    for _ in 0..5 {
        let r = get(listen, "/one/").unwrap();
        assert!(r.body.contains("backend=alpha"), "{r:?}");
    }
    // No hot loop: nothing is sent while nothing changes.
    let pushes = listener_counter(&plane, "emissary_xds_pushes_total");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        listener_counter(&plane, "emissary_xds_pushes_total"),
        pushes
    );

    // Another good Listener while the bad one stays: served, and the
    // rejection stands (SotW resends the set and Envoy rejects it again;
    // delta sends only the new Listener, whose ACK does not clear it).
    w.write("other.yaml", &listener_only_yaml(other));
    wait_for("the other listener", LONG, || {
        let pushed = listener_counter(&plane, "emissary_xds_pushes_total") > pushes;
        let t = listener_state(&plane);
        (pushed && t["pending_nonce"].is_null()).then_some(())
    });
    wait_route(other, "/one/", "backend=alpha");
    assert_eq!(listener_state(&plane)["rejecting"], true);
    let logged = |s: &str| s.matches("Envoy rejected the configuration").count();
    assert_eq!(logged(&serve.log_text()), 1, "{}", serve.log_text());
    let nacks = listener_counter(&plane, "emissary_xds_nacks_total");
    match protocol {
        AdsProtocol::Sotw => assert_eq!(nacks, 2),
        _ => assert_eq!(nacks, 1),
    }

    // Fixed: the next good snapshot is ACKed and the rejection clears.
    std::fs::remove_file(w.config().join("taken.yaml")).unwrap();
    wait_for("the rejection to clear", LONG, || {
        (listener_state(&plane)["rejecting"] == false).then_some(())
    });
    let d = plane.admin_json("/debug/diagnostics");
    assert_eq!(d["ads"]["rejections"], serde_json::json!({}), "{d}");
    wait_route(listen, "/one/", "backend=alpha");
    assert_eq!(logged(&serve.log_text()), 1);
    drop(squatter);
}

#[test]
fn a_config_envoy_rejects_is_nacked_and_the_previous_one_keeps_serving() {
    config_envoy_rejects(AdsProtocol::Delta);
}

#[test]
fn a_config_envoy_rejects_is_nacked_once_over_sotw() {
    config_envoy_rejects(AdsProtocol::Sotw);
}

#[test]
fn envoy_keeps_serving_across_a_control_plane_restart() {
    let w = Workdir::new();
    let [listen, a, b] = free_ports(3)[..] else {
        unreachable!()
    };
    let _ba = backend(w.path(), "alpha", a);
    let _bb = backend(w.path(), "beta", b);
    w.write("listener.yaml", &listener_yaml(listen));
    w.write("mappings.yaml", &mapping_yaml("one", "/one/", a));
    let plane = Plane::new();
    let mut serve = plane.start(w.path(), &w.config(), &[]);
    let envoy = Envoy::start(w.path(), &plane, "restart-node", AdsProtocol::Sotw);
    envoy.wait_live(LONG);
    wait_route(listen, "/one/", "backend=alpha");

    // A steady stream of requests during the whole restart.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let stream = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        std::thread::spawn(move || {
            let mut errors = Vec::new();
            for _ in 0..3000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match get(listen, "/one/") {
                    Ok(r) if r.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    other => {
                        errors.push(format!("{other:?}"));
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                std::thread::sleep(Duration::from_millis(20));
            }
            errors
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    serve.signal(nix::sys::signal::Signal::SIGKILL);
    serve.wait_exit(Duration::from_secs(5)).expect("killed");
    std::thread::sleep(Duration::from_secs(1));
    let during_gap = ok.load(Ordering::Relaxed);
    let _serve = plane.start(w.path(), &w.config(), &[]);
    // Envoy resynchronises: a change after the restart reaches it.
    w.write(
        "mappings.yaml",
        &format!(
            "{}{}",
            mapping_yaml("one", "/one/", a),
            mapping_yaml("two", "/two/", b)
        ),
    );
    wait_route(listen, "/two/", "backend=beta");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let errors = stream.join().unwrap();
    assert!(errors.is_empty(), "{} failed: {errors:?}", errors.len());
    assert!(
        ok.load(Ordering::Relaxed) > during_gap && during_gap > 10,
        "ok={} before-restart={during_gap}",
        ok.load(Ordering::Relaxed)
    );
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    wait_for("/readyz 200 after the restart", LONG, || {
        get(plane.admin, "/readyz").ok().filter(|r| r.status == 200)
    });
}

#[test]
fn two_envoys_with_different_node_ids_converge_sotw_and_delta() {
    let w = Workdir::new();
    let [listen, a] = free_ports(2)[..] else {
        unreachable!()
    };
    let _ba = backend(w.path(), "alpha", a);
    w.write("listener.yaml", &listener_yaml(listen));
    w.write("mappings.yaml", &mapping_yaml("one", "/one/", a));
    let plane = Plane::new();
    let _serve = plane.start(w.path(), &w.config(), &[]);
    let e1 = Envoy::start(w.path(), &plane, "node-sotw", AdsProtocol::Sotw);
    let e2 = Envoy::start(w.path(), &plane, "node-delta", AdsProtocol::Delta);
    e1.wait_live(LONG);
    e2.wait_live(LONG);
    for e in [&e1, &e2] {
        wait_for("the first routes in both Envoys", LONG, || {
            e.routes_dump().contains("/one/").then_some(())
        });
    }
    w.write(
        "mappings.yaml",
        &format!(
            "{}{}",
            mapping_yaml("one", "/one/", a),
            mapping_yaml("two", "/converged/", a)
        ),
    );
    for e in [&e1, &e2] {
        wait_for("the new route in both Envoys", LONG, || {
            e.routes_dump().contains("/converged/").then_some(())
        });
    }
    let ads = plane.admin_json("/debug/diagnostics")["ads"].to_string();
    assert!(
        ads.contains("node-sotw") && ads.contains("node-delta"),
        "{ads}"
    );
}
