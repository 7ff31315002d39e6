//! Request-level check against the real Envoy: our own simulation
//! (`emissary_core::explain`) predicts, for each probe request, where Envoy
//! sends it (which cluster), the path and `Host` the upstream sees, the
//! request and response headers the route sets, or the redirect or 404 Envoy
//! answers with; here Envoy runs the static bootstrap we generate for a sample
//! of golden cases, every cluster's endpoint replaced by an echo server of its
//! own on loopback, and each probe is sent through it and checked against the
//! prediction.
//!
//! The probes are the conformance kit's (`../shared/conformance/kit/probes.py`,
//! derived from the manifests, as in the conformance test). What is not
//! checked, and why: probes whose prediction originates TLS upstream (the echo
//! servers speak cleartext), TCP probes, and probes to a port no listener
//! takes. Listener ports are moved to free loopback ports; the probes keep
//! their `Host` header and SNI.

mod support;

use emissary_core::explain::{self, Outcome, Request};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use support::{Proc, free_ports, wait_for};

/// The golden cases sent through Envoy: HTTP routing, rewrites, header
/// edits, redirects, host matching, canaries, TLS termination, Emissary's
/// tie-breaks between Hosts and between Mappings, and the
/// HTTP/3 advertisement on TCP (the UDP listener itself is left to
/// `tests/http3.rs`: the TLS client here speaks no QUIC). Cases with
/// an AuthService, a RateLimitService or upstream TLS are left out: an echo
/// server cannot stand in for those.
const CASES: &[&str] = &[
    "mapping/basic-prefix",
    "mapping/case-insensitive",
    "mapping/canary-weights",
    "mapping/header-and-query-matches",
    "mapping/header-edits",
    "mapping/host-redirects",
    "mapping/hostname-globs",
    "mapping/prefix-regex-and-exact",
    "mapping/regex-rewrite",
    "mapping/rewrite-default-and-disabled",
    "mapping/route-ordering",
    "mapping/namespace-option",
    "host/insecure-actions",
    "host/mapping-selector",
    "host/tls-secret",
    "http3/basic",
    "tiebreak/host-same-hostname-cross-ns",
    "tiebreak/host-same-hostname-tls",
    "tiebreak/mapping-dup-name-cross-ns",
    "tiebreak/mapping-tie-load-order",
];

#[test]
fn golden_cases_route_through_envoy_as_explain_predicts() {
    let Ok(shared) = emissary_tests::shared() else {
        eprintln!("skipped: the conformance kit (../shared) is not there");
        return;
    };
    if emissary_tests::envoy_bin().is_err() {
        panic!("Envoy is not installed (.venv/bin/envoy)");
    }
    let mut failures = Vec::new();
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for case in CASES {
        let r = run_case(&shared, case);
        for (k, v) in r.counts {
            *totals.entry(k).or_default() += v;
        }
        failures.extend(r.failures.into_iter().map(|f| format!("{case}: {f}")));
    }
    let checked: usize = totals
        .iter()
        .filter(|(k, _)| !k.starts_with("skipped"))
        .map(|(_, v)| v)
        .sum();
    eprintln!("probes checked against Envoy: {checked} {totals:?}");
    assert!(
        failures.is_empty(),
        "{} probes differ from the prediction:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every kind of outcome the sample is chosen for was exercised.
    for k in [
        "forwarded",
        "redirected",
        "no-route",
        "tls",
        "tls-not-terminated",
    ] {
        assert!(
            totals.get(k).copied().unwrap_or(0) > 0,
            "no probe of kind {k}: {totals:?}"
        );
    }
}

#[derive(Default)]
struct CaseResult {
    counts: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

fn run_case(shared: &Path, case: &str) -> CaseResult {
    let mut res = CaseResult::default();
    let input_path = emissary_tests::repo_root()
        .join("tests/golden")
        .join(case)
        .join("input.yaml");
    let text = std::fs::read_to_string(&input_path).unwrap();
    let t = emissary_core::translate(&emissary_core::Inputs {
        files: vec![emissary_core::SourceFile {
            name: "input.yaml".into(),
            text: text.clone(),
        }],
        options: emissary_tests::case_options(&text),
    });
    let mut boot = serde_json::to_value(t.bootstrap()).unwrap();

    // Every cluster gets an echo server of its own.
    let mut echo_of: BTreeMap<u16, String> = BTreeMap::new();
    let clusters = boot["static_resources"]["clusters"]
        .as_array_mut()
        .expect("clusters");
    let ports = free_ports(clusters.len());
    for (c, port) in clusters.iter_mut().zip(&ports) {
        let name = c["name"].as_str().unwrap().to_string();
        echo(*port);
        c["type"] = "STATIC".into();
        if let Some(o) = c.as_object_mut() {
            o.remove("dns_lookup_family");
        }
        c["load_assignment"] = serde_json::json!({
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                "socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]
        });
        echo_of.insert(*port, name);
    }
    // Listeners move to free loopback ports.
    let mut port_of: BTreeMap<u16, u16> = BTreeMap::new();
    let listeners = boot["static_resources"]["listeners"]
        .as_array_mut()
        .expect("listeners");
    let ports = free_ports(listeners.len() + 1);
    for (l, port) in listeners.iter_mut().zip(&ports) {
        let sa = &mut l["address"]["socket_address"];
        let orig = sa["port_value"].as_u64().unwrap() as u16;
        sa["address"] = "127.0.0.1".into();
        sa["port_value"] = (*port).into();
        // The probes speak TCP: a UDP (QUIC) listener takes none of them.
        if sa["protocol"] != "UDP" {
            port_of.insert(orig, *port);
        }
    }
    let admin = ports[ports.len() - 1];
    boot["admin"]["address"]["socket_address"]["port_value"] = admin.into();

    let dir = tempfile::Builder::new()
        .prefix("emissary-requests-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("bootstrap.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&boot).unwrap()).unwrap();
    let mut cmd = Command::new(emissary_tests::envoy_bin().unwrap());
    cmd.arg("-c")
        .arg(&path)
        .args(["--log-level", "warning", "--disable-hot-restart"]);
    let _envoy = Proc::spawn("envoy", cmd, dir.path().join("envoy.log"));
    wait_for("Envoy LIVE", Duration::from_secs(30), || {
        support::get(admin, "/ready")
            .ok()
            .filter(|r| r.body.trim() == "LIVE")
    });

    for p in probes(shared, &input_path) {
        let Some(r) = check(&t.ir, &p, &port_of, &echo_of) else {
            continue;
        };
        match r {
            Ok(kind) => *res.counts.entry(kind).or_default() += 1,
            Err(e) => res.failures.push(format!("{}: {e}", p["id"])),
        }
    }
    res
}

/// The kit's probes for `input`.
fn probes(shared: &Path, input: &Path) -> Vec<Value> {
    let venv = emissary_tests::repo_root().join(".venv/bin/python3");
    let python = if venv.is_file() {
        venv.into_os_string()
    } else {
        "python3".into()
    };
    let out = Command::new(python)
        .arg(shared.join("conformance/kit/probes.py"))
        .arg("--json")
        .arg(input)
        .output()
        .expect("running probes.py");
    assert!(
        out.status.success(),
        "probes.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("probes.py --json");
    v["probes"].as_array().cloned().unwrap_or_default()
}

/// What came back from Envoy.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends probe `p` through Envoy and compares with the prediction.
/// `None` when the probe is not checked here; else the kind of outcome
/// checked, or what differs.
fn check(
    ir: &emissary_core::ir::Ir,
    p: &Value,
    port_of: &BTreeMap<u16, u16>,
    echo_of: &BTreeMap<u16, String>,
) -> Option<Result<&'static str, String>> {
    let scheme = p["scheme"].as_str()?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let port = p["port"].as_u64()? as u16;
    let host = p["host"].as_str()?.to_string();
    let path = p["path"].as_str()?.to_string();
    let method = p["method"].as_str().unwrap_or("GET").to_string();
    let sni = p["sni"].as_str().map(str::to_string).unwrap_or_else(|| {
        host.rsplit_once(':')
            .map_or(host.clone(), |(h, _)| h.into())
    });
    let mut headers: Vec<(String, String)> = p["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let predict = |headers: &[(String, String)]| {
        explain::explain(
            ir,
            &Request {
                method: method.clone(),
                url: format!("{scheme}://{host}{path}"),
                headers: headers
                    .iter()
                    .map(|(n, v)| explain::Header {
                        name: n.clone(),
                        value: v.clone(),
                    })
                    .collect(),
                port: Some(port),
                sni: (scheme == "https").then(|| sni.clone()),
            },
        )
    };
    let mut e = predict(&headers);
    // A header the route removes is sent, to see it removed (when sending it
    // changes nothing in the prediction).
    let removed: Vec<String> = e
        .targets
        .iter()
        .flat_map(|t| t.request_headers_removed.clone())
        .filter(|n| !headers.iter().any(|(k, _)| k == n))
        .collect();
    if !removed.is_empty() {
        let mut more = headers.clone();
        more.extend(removed.iter().map(|n| (n.clone(), "probe".to_string())));
        let again = predict(&more);
        if again.targets == e.targets {
            headers = more;
            e = again;
        }
    }
    if e.outcome == Outcome::NoListener {
        return None;
    }
    if e.targets.iter().any(|t| t.upstream_tls) {
        return Some(Ok("skipped-upstream-tls"));
    }
    let &envoy_port = port_of.get(&port)?;
    let sent = send(envoy_port, scheme, &sni, &method, &host, &path, &headers);
    Some(compare(&e, sent, echo_of, scheme))
}

fn compare(
    e: &explain::Explanation,
    sent: std::io::Result<Answer>,
    echo_of: &BTreeMap<u16, String>,
    scheme: &str,
) -> Result<&'static str, String> {
    let tls = |k: &'static str| if scheme == "https" { "tls" } else { k };
    match e.outcome {
        Outcome::NoFilterChain => match sent {
            Err(_) => Ok(tls("no-chain")),
            Ok(a) if a.status == 0 => Ok(tls("no-chain")),
            Ok(a) => Err(format!(
                "predicted no filter chain, Envoy answered {}",
                a.status
            )),
        },
        Outcome::TlsNotTerminated => match sent {
            Err(_) => Ok("tls-not-terminated"),
            Ok(a) => Err(format!(
                "predicted a failed TLS handshake, Envoy answered {}",
                a.status
            )),
        },
        Outcome::NoRoute | Outcome::NoVirtualHost => {
            let a = sent.map_err(|err| format!("predicted 404, got {err}"))?;
            if a.status == 404 && a.header("x-echo-port").is_none() {
                Ok(tls("no-route"))
            } else {
                Err(format!(
                    "predicted 404, Envoy answered {}: {}",
                    a.status, a.body
                ))
            }
        }
        Outcome::Redirected => {
            let a = sent.map_err(|err| format!("predicted a redirect, got {err}"))?;
            let t = &e.targets[0];
            let want = t.status.unwrap_or(301) as u16;
            if a.status != want || a.header("location") != Some(t.target.as_str()) {
                return Err(format!(
                    "predicted {want} to {}, Envoy answered {} to {:?}",
                    t.target,
                    a.status,
                    a.header("location")
                ));
            }
            Ok(tls("redirected"))
        }
        Outcome::Forwarded | Outcome::Partial => {
            let a = sent.map_err(|err| format!("predicted a forward, got {err}"))?;
            let Some(port) = a.header("x-echo-port").and_then(|p| p.parse::<u16>().ok()) else {
                if e.outcome == Outcome::Partial && a.status == 404 {
                    return Ok(tls("forwarded"));
                }
                return Err(format!(
                    "predicted a forward to {:?}, Envoy answered {}: {}",
                    e.target, a.status, a.body
                ));
            };
            let cluster = echo_of.get(&port).cloned().unwrap_or_default();
            let Some(t) = e
                .targets
                .iter()
                .find(|t| t.cluster.as_deref() == Some(cluster.as_str()))
            else {
                return Err(format!(
                    "predicted {:?}, answered by cluster {cluster}",
                    e.targets.iter().map(|t| &t.cluster).collect::<Vec<_>>()
                ));
            };
            let seen: Value = serde_json::from_str(&a.body)
                .map_err(|err| format!("echo body {err}: {}", a.body))?;
            let seen_path = seen["path"].as_str().unwrap_or_default();
            if Some(seen_path) != t.upstream_path.as_deref() {
                return Err(format!(
                    "predicted upstream path {:?}, the upstream saw {seen_path:?}",
                    t.upstream_path
                ));
            }
            let values = |name: &str| -> Vec<String> {
                seen["headers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|h| h[0].as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
                    .filter_map(|h| h[1].as_str().map(str::to_string))
                    .collect()
            };
            if let Some(h) = &t.host_rewrite {
                let got = values("host");
                if got != [h.clone()] {
                    return Err(format!("predicted Host {h}, the upstream saw {got:?}"));
                }
            }
            for n in &t.request_headers_removed {
                if !values(n).is_empty() {
                    return Err(format!("predicted {n} removed, the upstream saw it"));
                }
            }
            for h in t
                .request_headers_added
                .iter()
                .filter(|h| !h.value.contains('%'))
            {
                let got = values(&h.name);
                let ok = if h.append {
                    got.iter()
                        .any(|v| v.split(',').any(|x| x.trim() == h.value))
                } else {
                    got == [h.value.clone()]
                };
                if !ok {
                    return Err(format!(
                        "predicted request header {}: {}, the upstream saw {got:?}",
                        h.name, h.value
                    ));
                }
            }
            for h in t
                .response_headers_added
                .iter()
                .filter(|h| !h.value.contains('%'))
            {
                let got: Vec<&str> = a
                    .headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(&h.name))
                    .map(|(_, v)| v.as_str())
                    .collect();
                if !got.contains(&h.value.as_str()) {
                    return Err(format!(
                        "predicted response header {}: {}, got {got:?}",
                        h.name, h.value
                    ));
                }
            }
            Ok(tls("forwarded"))
        }
        Outcome::Tcp | Outcome::NoListener | Outcome::BadRequest => Ok("skipped-other"),
    }
}

/// Sends one request (on a fresh connection, `Connection: close`).
fn send(
    port: u16,
    scheme: &str,
    sni: &str,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<Answer> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut raw = Vec::new();
    if scheme == "https" {
        let name = rustls::pki_types::ServerName::try_from(sni.to_string())
            .map_err(|e| std::io::Error::other(format!("SNI {sni}: {e}")))?;
        let conn =
            rustls::ClientConnection::new(client_config(), name).map_err(std::io::Error::other)?;
        let mut s = rustls::StreamOwned::new(conn, tcp);
        s.write_all(req.as_bytes())?;
        read_all(&mut s, &mut raw)?;
    } else {
        let mut s = tcp;
        s.write_all(req.as_bytes())?;
        read_all(&mut s, &mut raw)?;
    }
    parse_answer(&raw)
}

/// Reads one response: to the end of its body when its length is known
/// (Envoy keeps a connection open for a while after a local reply), else
/// until the peer closes; a reset after some bytes keeps what came.
fn read_all(s: &mut impl std::io::Read, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        if complete(out) {
            return Ok(());
        }
        match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if !out.is_empty() && e.kind() != std::io::ErrorKind::WouldBlock => {
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether `raw` holds a whole response with a `content-length` body or a
/// chunked one.
fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    for line in head.lines() {
        if let Some(v) = line.strip_prefix("content-length:") {
            return v.trim().parse::<usize>().is_ok_and(|n| body.len() >= n);
        }
        if line.starts_with("transfer-encoding:") && line.contains("chunked") {
            return body.ends_with(b"0\r\n\r\n");
        }
    }
    false
}

/// Status, headers and body of an HTTP/1.1 response (status 0: nothing came).
fn parse_answer(raw: &[u8]) -> std::io::Result<Answer> {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Ok(Answer {
            status: 0,
            headers: vec![],
            body: text.into_owned(),
        });
    };
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: body.to_string(),
    })
}

/// A TLS client that accepts any certificate: the probes check routing,
/// not the certificates (placeholders in most cases).
fn client_config() -> Arc<rustls::ClientConfig> {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    #[derive(Debug)]
    struct AnyCert(Arc<rustls::crypto::CryptoProvider>);
    impl ServerCertVerifier for AnyCert {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    Arc::new(cfg)
}

/// An echo server on `port`: answers every request with `x-echo-port` and
/// a JSON body of the method, the path (with the query) and the headers it
/// received, in order. Runs until the test process exits.
fn echo(port: u16) {
    let l = TcpListener::bind(("127.0.0.1", port)).expect("bind echo server");
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = serve_one(s, port);
            });
        }
    });
}

fn serve_one(s: TcpStream, port: u16) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut r = BufReader::new(s);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                if k == "content-length" {
                    len = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        let out =
            serde_json::json!({"method": method, "path": path, "headers": headers}).to_string();
        let resp = format!(
            "HTTP/1.1 200 OK\r\nx-echo-port: {port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{out}",
            out.len()
        );
        r.get_mut().write_all(resp.as_bytes())?;
    }
}
