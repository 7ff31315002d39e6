//! The edge limits with the real Envoy: the daemon's connection limit
//! (`--max-downstream-connections`) refuses the connections beyond it and
//! counts them, Envoy's admin keeps answering (it is exempt) and listens on
//! loopback only, and Envoy no longer warns that no limit is configured.

mod support;

use std::time::Duration;
use support::*;

const LONG: Duration = Duration::from_secs(30);
const NO_LIMIT_WARNING: &str =
    "no configured limit to the number of allowed active downstream connections";

/// A directory with a Listener and a Mapping to a running backend, and the
/// `serve` arguments that supervise Envoy with its admin on `envoy_admin`.
fn setup(w: &Workdir) -> (Proc, u16, u16) {
    let [listen, backend_port, envoy_admin] = free_ports(3)[..] else {
        unreachable!()
    };
    let b = backend(w.path(), "alpha", backend_port);
    w.write("listener.yaml", &listener_yaml(listen));
    w.write(
        "mappings.yaml",
        &mapping_yaml("alpha", "/alpha/", backend_port),
    );
    (b, listen, envoy_admin)
}

fn serve(w: &Workdir, plane: &Plane, envoy_admin: u16, extra: &[&str]) -> Proc {
    let envoy = emissary_tests::envoy_bin().unwrap();
    let admin = envoy_admin.to_string();
    let mut args = vec![
        "--envoy",
        envoy.to_str().unwrap(),
        "--envoy-admin-port",
        &admin,
        "--envoy-drain-seconds",
        "1",
        "--envoy-log-level",
        "info",
    ];
    args.extend_from_slice(extra);
    plane.start(w.path(), &w.config(), &args)
}

/// The sum of a listener counter over Envoy's listeners.
fn listener_counter(envoy_admin: u16, name: &str) -> u64 {
    let r = get(envoy_admin, &format!("/stats?filter={name}$")).expect("Envoy's admin answers");
    r.body
        .lines()
        .filter(|l| l.starts_with("listener.") && !l.starts_with("listener.admin."))
        .filter_map(|l| l.rsplit(": ").next()?.trim().parse::<u64>().ok())
        .sum()
}

/// The local addresses of the IPv4 and IPv6 sockets listening on `port`,
/// from `/proc/net/tcp{,6}` (hex, as the kernel writes them).
fn listening_on(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (cols.get(1), cols.get(3)) else {
                continue;
            };
            let Some((addr, p)) = local.split_once(':') else {
                continue;
            };
            if *state == "0A" && u16::from_str_radix(p, 16) == Ok(port) {
                out.push(addr.to_string());
            }
        }
    }
    out
}

#[test]
fn connections_beyond_the_limit_are_refused_and_counted_while_the_admin_answers_on_loopback() {
    let w = Workdir::new();
    let (_backend, listen, envoy_admin) = setup(&w);
    let plane = Plane::new();
    let serve = serve(
        &w,
        &plane,
        envoy_admin,
        &["--max-downstream-connections", "5"],
    );
    wait_for("a route through Envoy", LONG, || {
        get(listen, "/alpha/x")
            .ok()
            .filter(|r| r.status == 200 && r.body.contains("backend=alpha"))
    });

    // Five keep-alive connections are served (a connection of the polling
    // above may still be closing: each one is retried until served).
    let mut open: Vec<Conn> = (0..5)
        .map(|i| {
            wait_for(&format!("connection {i} served"), LONG, || {
                let mut c = Conn::open(listen).ok()?;
                c.get("/alpha/held")
                    .ok()
                    .filter(|r| r.status == 200)
                    .map(|_| c)
            })
        })
        .collect();
    // A sixth is accepted by the kernel and closed by Envoy at once.
    let before = listener_counter(envoy_admin, "downstream_global_cx_overflow");
    for _ in 0..3 {
        let refused = Conn::open(listen).and_then(|mut c| c.get("/alpha/extra"));
        assert!(refused.is_err(), "a 6th connection was served: {refused:?}");
    }
    // The admin answers while the limit is reached, and counted them.
    let after = listener_counter(envoy_admin, "downstream_global_cx_overflow");
    assert!(after >= before + 3, "overflow counter {before} -> {after}");
    // The held connections still work; closing one makes room for another.
    assert_eq!(open[0].get("/alpha/again").unwrap().status, 200);
    open.pop();
    wait_for("a new connection served after one closed", LONG, || {
        get(listen, "/alpha/room").ok().filter(|r| r.status == 200)
    });

    // Envoy's admin listens on loopback only (127.0.0.1, as the kernel
    // writes it in /proc/net/tcp).
    assert_eq!(listening_on(envoy_admin), ["0100007F"]);
    // Envoy's log reaches the daemon's, and has no warning about a missing limit.
    let log = serve.log_text();
    assert!(
        log.contains("[main]"),
        "Envoy's log is not in the daemon's:\n{log}"
    );
    assert!(!log.contains(NO_LIMIT_WARNING), "{log}");
}

#[test]
fn without_a_limit_envoy_warns_as_before() {
    let w = Workdir::new();
    let (_backend, _listen, envoy_admin) = setup(&w);
    let plane = Plane::new();
    let serve = serve(
        &w,
        &plane,
        envoy_admin,
        &["--max-downstream-connections", "0"],
    );
    wait_for("Envoy's warning about the missing limit", LONG, || {
        serve.log_text().contains(NO_LIMIT_WARNING).then_some(())
    });
}
