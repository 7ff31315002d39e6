//! No Secret value leaks: `emissary serve` with the most verbose logging
//! (`RUST_LOG=trace`, the supervised Envoy at `trace`), a real Envoy, a
//! referenced TLS Secret, an unreferenced one and malformed ones; every
//! admin endpoint, the daemon's whole log, and the CLI's `validate`,
//! `explain` and `translate --output ir|diagnostics` are searched for the
//! private key (PEM, its base64, each line of its body) and for the other
//! Secrets' values.

mod support;

use std::time::Duration;
use support::*;

const LONG: Duration = Duration::from_secs(60);

fn b64(s: &str) -> String {
    // A tiny encoder: the tests need no dependency for it.
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The PEM of a base64 value.
fn unb64(s: &str) -> String {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        } as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 0xff) as u8);
        }
    }
    String::from_utf8(out).unwrap()
}

const MARKER_B_CRT: &str = "MARKER-B-CERT-7f3a9c";
const MARKER_B_KEY: &str = "MARKER-B-KEY-51d0e2";
const MARKER_C: &str = "MARKER-C-NOT-A-KEY-88b1";
const MARKER_D: &str = "MARKER-D-WRONG-TYPE-2c4e";

/// What must never be shown: the referenced key in every form, and the
/// other Secrets' values, plain and base64.
fn forbidden() -> Vec<String> {
    let (_, key) = emissary_tests::cert_and_key();
    let pem = unb64(&key);
    assert!(pem.contains("PRIVATE KEY"), "{pem}");
    let mut v = vec![pem.clone(), key.clone(), "PRIVATE KEY-----\n".into()];
    v.extend(
        pem.lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
            .map(String::from),
    );
    for m in [MARKER_B_CRT, MARKER_B_KEY, MARKER_C, MARKER_D] {
        v.push(m.to_string());
        v.push(b64(m));
        // Its base64 whatever the alignment it sits at.
        v.push(b64(&format!("x{m}"))[4..20].to_string());
        v.push(b64(&format!("xy{m}"))[4..20].to_string());
    }
    v
}

fn assert_clean(what: &str, text: &str) {
    for f in forbidden() {
        if let Some(line) = text.lines().find(|l| l.contains(&f)) {
            panic!("{what} shows a Secret's value in: {line}");
        }
        assert!(!text.contains(&f), "{what} shows a Secret's value");
    }
}

fn write_config(w: &Workdir, listen: u16) {
    let (crt, key) = emissary_tests::cert_and_key();
    w.write(
        "listener.yaml",
        &format!(
            "apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {{name: https, namespace: default}}\n\
             spec: {{port: {listen}, protocol: HTTPS, securityModel: XFP, hostBinding: {{namespace: {{from: ALL}}}}}}\n"
        ),
    );
    w.write(
        "hosts.yaml",
        "apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: a, namespace: default}\n\
         spec: {hostname: a.example, tlsSecret: {name: secret-a}, tlsContext: {name: ctx-a}}\n\
         ---\napiVersion: getambassador.io/v3alpha1\nkind: TLSContext\nmetadata: {name: ctx-a, namespace: default}\n\
         spec: {hosts: [a.example], secret: secret-a}\n\
         ---\napiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: c, namespace: default}\n\
         spec: {hostname: c.example, tlsSecret: {name: secret-c}}\n\
         ---\napiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: d, namespace: default}\n\
         spec: {hostname: d.example, tlsSecret: {name: secret-d}}\n\
         ---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: m, namespace: default}\n\
         spec: {hostname: '*', prefix: /m/, service: '127.0.0.1:9'}\n",
    );
    w.write(
        "secrets.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {{name: secret-a, namespace: default}}\n\
             data:\n  tls.crt: {crt}\n  tls.key: {key}\n\
             ---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {{name: secret-b, namespace: default}}\n\
             data:\n  tls.crt: {}\n  tls.key: {}\n\
             ---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {{name: secret-c, namespace: default}}\n\
             data:\n  tls.crt: \"!!{MARKER_C}!!\"\n  tls.key: {}\n  password: {}\n\
             ---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\nmetadata: {{name: secret-d, namespace: default}}\n\
             data:\n  .dockerconfigjson: {}\n  tls.key: {}\n",
            b64(MARKER_B_CRT),
            b64(&format!("-----BEGIN PRIVATE KEY-----\n{MARKER_B_KEY}\n-----END PRIVATE KEY-----\n")),
            b64(MARKER_C),
            b64(MARKER_C),
            b64(MARKER_D),
            b64(MARKER_D),
        ),
    );
}

#[test]
fn no_secret_value_reaches_a_log_an_admin_endpoint_or_a_diagnostic() {
    let w = Workdir::new();
    let [listen, envoy_admin] = free_ports(2)[..] else {
        unreachable!()
    };
    write_config(&w, listen);
    let plane = Plane::new();
    let envoy = emissary_tests::envoy_bin().expect("Envoy is installed");
    let mut cmd = emissary();
    cmd.arg("serve")
        .arg("--config-dir")
        .arg(w.config())
        .args(["--ads-port", &plane.ads.to_string()])
        .args(["--admin-port", &plane.admin.to_string()])
        .args(["--admin-address", "127.0.0.1"])
        .arg("--envoy")
        .arg(&envoy)
        .args(["--envoy-admin-port", &envoy_admin.to_string()])
        .args(["--node-id", "secrets", "--envoy-drain-seconds", "1"])
        .args(["--envoy-log-level", "trace"])
        .env("RUST_LOG", "trace");
    let mut serve = Proc::spawn("emissary serve", cmd, w.path().join("serve.log"));
    wait_for("the admin endpoint", LONG, || {
        get(plane.admin, "/healthz")
            .ok()
            .filter(|r| r.status == 200)
    });
    // Envoy took the configuration: the HTTPS listener with A's certificate.
    wait_for("Envoy has the TLS listener", LONG, || {
        get(envoy_admin, "/config_dump?resource=dynamic_active_secrets")
            .ok()
            .filter(|r| r.body.contains("secret-default-secret-a"))
    });
    wait_for("Envoy acknowledged", LONG, || {
        (plane.admin_get("/readyz").status == 200).then_some(())
    });
    let diag = plane.admin_json("/debug/diagnostics");
    let codes: Vec<&str> = diag["last"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    for c in ["secret-base64", "secret-not-found", "secret-not-tls"] {
        assert!(
            codes.contains(&c),
            "diagnostics about the bad Secrets: {codes:?}"
        );
    }
    let endpoints = [
        "/healthz",
        "/readyz",
        "/metrics",
        "/debug/config",
        "/debug/diagnostics",
        "/ambassador/v0/check_alive",
        "/ambassador/v0/check_ready",
        "/ambassador/v0/",
        "/ambassador/v0/diag/",
        "/ambassador/v0/diag/?json=true",
        "/ui",
        "/ui/",
        "/ui/state.json",
        "/ui/state.json?stamp=0",
        "/ui/index.html",
    ];
    let mut shown = 0;
    for path in endpoints {
        let r = plane.admin_get(path);
        assert_clean(path, &r.body);
        shown += r.body.len();
    }
    // The endpoints do show the configuration, A's certificate and
    // redacted key included (so the search above searched something).
    let config = plane.admin_get("/debug/config").body;
    assert!(config.contains("secret-default-secret-a"), "{config}");
    assert!(config.contains("[redacted"), "{config}");
    let state = plane.admin_get("/ui/state.json").body;
    assert!(state.contains("[redacted: "), "the IR's key is redacted");
    assert!(shown > 10_000, "{shown} bytes shown");
    serve.stop(Duration::from_secs(20));
    let log = std::fs::read_to_string(w.path().join("serve.log")).unwrap();
    assert!(log.contains("TRACE"), "the log is at trace level");
    assert!(log.contains("secret-base64"), "diagnostics are logged");
    assert_clean("the daemon's log", &log);

    // The CLI: diagnostics, the IR, explain.
    let run = |args: &[&str]| {
        let out = emissary()
            .args(args)
            .arg(w.config())
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.is_empty(), "{args:?} printed nothing");
        assert_clean(&format!("emissary {args:?}"), &text);
        text
    };
    assert!(run(&["validate"]).contains("secret-base64"));
    run(&["translate", "--output", "ir"]);
    run(&["translate", "--output", "diagnostics"]);
    run(&["explain", "-r", "GET https://a.example/m/x"]);
    // The xDS output is what Envoy needs: A's key, and only A's.
    let xds = emissary()
        .args(["translate", "--output", "xds"])
        .arg(w.config())
        .output()
        .unwrap();
    let xds = String::from_utf8_lossy(&xds.stdout);
    assert!(xds.contains("PRIVATE KEY"), "the served key is in xDS");
    for m in [MARKER_B_KEY, MARKER_C, MARKER_D] {
        assert!(!xds.contains(m));
    }
}
