//! End-to-end tests of `emissary serve --kubernetes` over real HTTP against
//! the Kubernetes API emulator of `tests/k8s/` (no real kube-apiserver can
//! be installed where these tests run), with a real Envoy: objects created,
//! changed and deleted through the API change what Envoy routes; statuses
//! are written back; the API going away keeps Envoy serving, and its return
//! resyncs. The watch protocol's corner cases the emulator cannot produce
//! are covered by the scripted mock in the crate's unit tests.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;

const LONG: Duration = Duration::from_secs(30);

/// `emissary serve --kubernetes` on the emulator, supervising an Envoy
/// whose admin port is `envoy_admin`.
fn serve_supervised(w: &Workdir, api: &Emulator, envoy_admin: u16) -> (Plane, Proc) {
    let plane = Plane::new();
    let envoy = emissary_tests::envoy_bin().unwrap();
    let serve = plane.start_kubernetes(
        w.path(),
        &api.kubeconfig,
        &[
            "--envoy",
            envoy.to_str().unwrap(),
            "--envoy-admin-port",
            &envoy_admin.to_string(),
            "--envoy-drain-seconds",
            "1",
        ],
    );
    (plane, serve)
}

fn listener(port: u16) -> Value {
    json!({
        "apiVersion": "getambassador.io/v3alpha1", "kind": "Listener",
        "metadata": {"name": "http", "namespace": "default"},
        "spec": {"port": port, "protocol": "HTTP", "securityModel": "XFP",
                 "hostBinding": {"namespace": {"from": "ALL"}}}
    })
}

fn host() -> Value {
    json!({
        "apiVersion": "getambassador.io/v3alpha1", "kind": "Host",
        "metadata": {"name": "any", "namespace": "default"},
        "spec": {"hostname": "*", "requestPolicy": {"insecure": {"action": "Route"}}}
    })
}

fn mapping(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "getambassador.io/v3alpha1", "kind": "Mapping",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec
    })
}

fn route_spec(prefix: &str, port: u16) -> Value {
    json!({"hostname": "*", "prefix": prefix, "service": format!("127.0.0.1:{port}"), "timeout_ms": 10000})
}

fn answers(port: u16, path: &str, want: &str) -> bool {
    get(port, path).is_ok_and(|r| r.status == 200 && r.body.contains(want))
}

fn not_found(port: u16, path: &str) -> bool {
    get(port, path).is_ok_and(|r| r.status == 404)
}

#[test]
fn objects_from_the_api_drive_envoy_and_get_status_and_the_api_going_away_changes_nothing() {
    let w = Workdir::new();
    let [listen, backend_port, envoy_admin, api_port] = free_ports(4)[..] else {
        unreachable!()
    };
    let _backend = backend(w.path(), "alpha", backend_port);
    let mut api = Emulator::start(w.path(), api_port);
    api.create(&listener(listen));
    api.create(&host());
    api.create(&mapping("alpha", route_spec("/alpha/", backend_port)));
    api.create(&mapping(
        "broken",
        json!({"hostname": "*", "prefix": "/broken/", "service": "x", "timeout_ms": "soon"}),
    ));

    let (plane, _serve) = serve_supervised(&w, &api, envoy_admin);
    wait_for("/alpha/ through Envoy", LONG, || {
        answers(listen, "/alpha/x", "alpha").then_some(())
    });
    assert_eq!(plane.admin_get("/readyz").status, 200);

    // Status: the Host is Ready, the Mappings say whether they are accepted.
    wait_for("the Host's status", LONG, || {
        let h = api.get("Host", "default", "any")?;
        (h["status"]["state"] == "Ready").then_some(())
    });
    let h = api.get("Host", "default", "any").unwrap();
    assert_eq!(h["status"]["tlsCertificateSource"], "None", "{h}");
    assert_eq!(h["status"]["conditions"][0]["type"], "Accepted", "{h}");
    let good = wait_for("alpha's status", LONG, || {
        api.get("Mapping", "default", "alpha")
            .filter(|m| m["status"]["state"] == "Running")
    });
    assert_eq!(good["status"]["conditions"][1]["status"], "True", "{good}");
    let bad = wait_for("broken's status", LONG, || {
        api.get("Mapping", "default", "broken")
            .filter(|m| m["status"]["state"] == "Inactive")
    });
    let accepted = &bad["status"]["conditions"][0];
    assert_eq!(accepted["status"], "False", "{bad}");
    assert!(
        accepted["message"].as_str().unwrap().contains("timeout_ms"),
        "{bad}"
    );

    // A change and a deletion through the API reach Envoy.
    api.replace_spec(
        "Mapping",
        "default",
        "alpha",
        route_spec("/beta/", backend_port),
    );
    wait_for("/beta/ after the change", LONG, || {
        (answers(listen, "/beta/x", "alpha") && not_found(listen, "/alpha/x")).then_some(())
    });
    api.create(&mapping("gamma", route_spec("/gamma/", backend_port)));
    wait_for("/gamma/ after its creation", LONG, || {
        answers(listen, "/gamma/x", "alpha").then_some(())
    });
    api.delete("Mapping", "default", "gamma");
    wait_for("/gamma/ gone after its deletion", LONG, || {
        not_found(listen, "/gamma/x").then_some(())
    });

    // The API server goes away: Envoy keeps serving what it had.
    api.proc.signal(nix::sys::signal::Signal::SIGKILL);
    api.proc.wait_exit(Duration::from_secs(5));
    for _ in 0..20 {
        assert!(
            answers(listen, "/beta/x", "alpha"),
            "served without the API"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(plane.admin_get("/readyz").status, 200);

    // It comes back (same objects, a new resourceVersion history): the
    // watches resync, and new changes are seen again.
    let api = Emulator::start(w.path(), api_port);
    api.create(&mapping("delta", route_spec("/delta/", backend_port)));
    wait_for("/delta/ after the API came back", LONG, || {
        answers(listen, "/delta/x", "alpha").then_some(())
    });
    assert!(answers(listen, "/beta/x", "alpha"));
}

#[test]
fn nothing_is_served_before_the_api_answers_and_every_list_is_complete() {
    let w = Workdir::new();
    let [listen, api_port] = free_ports(2)[..] else {
        unreachable!()
    };
    // A kubeconfig for an API server that is not there yet.
    let kubeconfig = w.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: e\n  cluster: {{server: \"http://127.0.0.1:{api_port}\"}}\n\
             contexts:\n- name: e\n  context: {{cluster: e, user: u}}\ncurrent-context: e\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let plane = Plane::new();
    let serve = plane.start_kubernetes(w.path(), &kubeconfig, &[]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(plane.admin_get("/readyz").status, 503);
    assert_eq!(
        plane.admin_get("/debug/config").status,
        503,
        "nothing served yet"
    );
    let log = std::fs::read_to_string(&serve.log).unwrap();
    assert!(
        log.contains("Kubernetes API not reachable"),
        "one line per attempt: {log}"
    );

    // The API comes up holding every object at once (they are in its state
    // file before it starts), so whenever the daemon's lists reach it they
    // hold all of them: a first snapshot without one was served early.
    let mut objects = vec![listener(listen), host()];
    objects.extend((0..50).map(|i| mapping(&format!("m{i}"), route_spec(&format!("/m{i}/"), 1))));
    std::fs::write(
        w.path().join("state.json"),
        Value::Array(objects).to_string(),
    )
    .unwrap();
    let _api = Emulator::start(w.path(), api_port);
    let config = wait_for("the first snapshot", LONG, || {
        let r = plane.admin_get("/debug/config");
        (r.status == 200).then_some(r.body)
    });
    // The first snapshot has everything: every Mapping's route.
    for i in 0..50 {
        assert!(
            config.contains(&format!("/m{i}/")),
            "m{i} missing from the first snapshot"
        );
    }
    let report = plane.admin_json("/debug/diagnostics");
    assert_eq!(report["serving_version"], 1, "{report}");
}

/// Against a real cluster, when `KUBECONFIG` names one: the daemon syncs
/// every watched kind and publishes a first snapshot. Read-only: it writes
/// no status (`--no-status`) and serves no Envoy.
#[test]
fn a_real_cluster_when_kubeconfig_points_at_one() {
    let Some(kubeconfig) = std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) else {
        println!("skipped: KUBECONFIG is not set, so there is no real cluster to test against");
        return;
    };
    let w = Workdir::new();
    let plane = Plane::new();
    let serve = plane.start_kubernetes(
        w.path(),
        std::path::Path::new(&kubeconfig),
        &["--no-status"],
    );
    wait_for(
        "the first snapshot from the cluster",
        Duration::from_secs(120),
        || (plane.admin_get("/debug/config").status == 200).then_some(()),
    );
    let report = plane.admin_json("/debug/diagnostics");
    assert_eq!(report["serving_version"], 1, "{report}");
    let log = std::fs::read_to_string(&serve.log).unwrap();
    assert!(log.contains("watching the Kubernetes API"), "{log}");
}

/// What Envoy rejects is reported on the object it came from: a Listener on
/// a port someone else holds (core cannot know; Envoy cannot bind it) gets
/// `Ready: False` with reason `Rejected` and Envoy's message, while the
/// rest keeps serving.
#[test]
fn a_listener_envoy_rejects_is_reported_on_the_listener() {
    let w = Workdir::new();
    let [listen, backend_port, envoy_admin, api_port] = free_ports(4)[..] else {
        unreachable!()
    };
    let squatter = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let taken = squatter.local_addr().unwrap().port();
    let _backend = backend(w.path(), "alpha", backend_port);
    let api = Emulator::start(w.path(), api_port);
    api.create(&listener(listen));
    api.create(&host());
    api.create(&mapping("alpha", route_spec("/alpha/", backend_port)));
    let (_plane, _serve) = serve_supervised(&w, &api, envoy_admin);
    wait_for("/alpha/ through Envoy", LONG, || {
        answers(listen, "/alpha/x", "alpha").then_some(())
    });
    let mut taken_listener = listener(taken);
    taken_listener["metadata"]["name"] = json!("taken");
    api.create(&taken_listener);
    let status = wait_for("the rejection on the Listener", LONG, || {
        let l = api.get("Listener", "default", "taken")?;
        let ready = l["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Ready")?
            .clone();
        (ready["reason"] == "Rejected").then_some(ready)
    });
    assert_eq!(status["status"], "False", "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains(&taken.to_string()),
        "Envoy's message names the port: {status}"
    );
    // The other Listener is not blamed, and keeps serving.
    let good = api.get("Listener", "default", "http").unwrap();
    let ready = good["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    assert_eq!(ready["status"], "True", "{good}");
    assert!(answers(listen, "/alpha/x", "alpha"));
    drop(squatter);
}
