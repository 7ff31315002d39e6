//! HTTP/3 with the real Envoy: `emissary serve` with an HTTPS Listener and
//! a `[TLS, HTTP, UDP]` Listener on the same 127.0.0.1 port, a TLS Host and
//! a Mapping. Envoy takes the QUIC listener (active, its UDP port bound),
//! and an HTTPS request over TCP is routed and answered with Emissary's
//! `alt-svc` header.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;

const LONG: Duration = Duration::from_secs(30);

fn config(port: u16, backend: u16) -> String {
    let (crt, key) = emissary_tests::cert_and_key();
    format!(
        r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {{name: https, namespace: default}}
spec: {{port: {port}, bind_address: 127.0.0.1, protocol: HTTPS, securityModel: XFP, hostBinding: {{namespace: {{from: ALL}}}}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {{name: quic, namespace: default}}
spec: {{port: {port}, bind_address: 127.0.0.1, protocolStack: [TLS, HTTP, UDP], securityModel: XFP, hostBinding: {{namespace: {{from: ALL}}}}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {{name: h3, namespace: default}}
spec: {{hostname: h3.example, tlsSecret: {{name: h3-cert}}}}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {{name: h3-cert, namespace: default}}
data:
  tls.crt: {crt}
  tls.key: {key}
{}"#,
        mapping_yaml("h3", "/h3/", backend)
    )
}

/// `curl` over TLS on TCP (the test certificate is self-signed: `-k`),
/// response headers and body; `None` when curl fails.
fn https_get(port: u16, path: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-k", "-sS", "-D", "-", "--max-time", "5", "--noproxy", "*"])
        // The virtual host's domain is the hostname alone.
        .args(["-H", "Host: h3.example"])
        .arg("--resolve")
        .arg(format!("h3.example:{port}:127.0.0.1"))
        .arg(format!("https://h3.example:{port}{path}"))
        .output()
        .expect("curl runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn envoy_opens_the_quic_listener_and_tcp_responses_advertise_http3() {
    let w = Workdir::new();
    let [port, backend_port] = free_ports(2)[..] else {
        unreachable!()
    };
    let _b = backend(w.path(), "h3-backend", backend_port);
    w.write("h3.yaml", &config(port, backend_port));
    let plane = Plane::new();
    let _serve = plane.start(w.path(), &w.config(), &[]);
    let envoy = Envoy::start(w.path(), &plane, "h3-node", AdsProtocol::Delta);
    envoy.wait_live(LONG);

    // The UDP listener is active in Envoy, with its QUIC settings.
    let name = format!("listener-udp-127.0.0.1-{port}");
    let quic = wait_for(&format!("{name} active"), LONG, || {
        let r = get(envoy.admin, "/config_dump?resource=dynamic_listeners").ok()?;
        let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
        v["configs"]
            .as_array()?
            .iter()
            .find(|l| l["name"] == name.as_str())
            .map(|l| l["active_state"]["listener"].clone())
            .filter(|l| l.is_object())
    });
    assert_eq!(
        quic["address"]["socket_address"]["protocol"], "UDP",
        "{quic}"
    );
    assert!(
        quic["udp_listener_config"]["quic_options"].is_object(),
        "{quic}"
    );
    let listed = get(envoy.admin, "/listeners").unwrap().body;
    assert!(
        listed.lines().any(|l| l.starts_with(&format!("{name}::"))),
        "{listed}"
    );
    // Envoy holds the UDP port: binding it here fails.
    let bound = std::net::UdpSocket::bind(("127.0.0.1", port));
    assert_eq!(
        bound.as_ref().err().map(std::io::Error::kind),
        Some(std::io::ErrorKind::AddrInUse),
        "UDP port {port} is free: {bound:?}"
    );

    // HTTPS over TCP reaches the backend and advertises HTTP/3.
    let resp = wait_for("an HTTPS answer from the backend", LONG, || {
        https_get(port, "/h3/x")
            .filter(|r| r.starts_with("HTTP/1.1 200") && r.contains("h3-backend"))
    });
    let alt: Vec<&str> = resp
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("alt-svc").then(|| v.trim())
        })
        .collect();
    assert_eq!(
        alt,
        [r#"h3=":443"; ma=86400, h3-29=":443"; ma=86400"#],
        "{resp}"
    );
}
