//! Synthetic manifest generator for benchmarks: `n` Mappings over `hosts`
//! Hosts behind Emissary's two standard Listeners (8080 HTTP and 8443 HTTPS,
//! both `securityModel: XFP`, hosts bound from ALL namespaces).
//!
//! Host `i` is `host-i.example.com`. With `tls`, every Host has
//! `tlsSecret: {name: cert-i}` and `requestPolicy.insecure.action: Redirect`,
//! and a `kubernetes.io/tls` Secret `cert-i` is written for it (all carry the
//! same self-signed P-256 certificate for `*.example.com`); without `tls` the
//! Hosts are cleartext with action `Route`. Mapping `k` has the hostname of
//! Host `k % hosts`, prefix `/svc-k/` and service `svc-k`.
//!
//! Dependency-free on purpose: the `translate` bench includes it with
//! `#[path = "gen.rs"] mod gen;` and `cargo xtask gen-manifests` includes it
//! with `#[path = "../../core/benches/gen.rs"] mod gen;`, so the text is
//! produced in one place.

use std::fmt::Write as _;

/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes
/// -days 36500 -subj /CN=example.com -addext
/// subjectAltName=DNS:example.com,DNS:*.example.com`, base64 of the PEM.
const TLS_CRT: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJxakNDQVZDZ0F3SUJBZ0lVRXV2RmtmQWUxVS9IVFdJQWFSL0s2SXVLUHhFd0NnWUlLb1pJemowRUF3SXcKRmpFVU1CSUdBMVVFQXd3TFpYaGhiWEJzWlM1amIyMHdJQmNOTWpZeE1USTNNVFUxTXpVeldoZ1BNakV5TmpFeApNRE14TlRVek5UTmFNQll4RkRBU0JnTlZCQU1NQzJWNFlXMXdiR1V1WTI5dE1Ga3dFd1lIS29aSXpqMENBUVlJCktvWkl6ajBEQVFjRFFnQUVMUW11OUVsaUR0K0FCNUpiamE5Ky9FTDBhZ05SbXZidExhTjdXRHM4VzdCU3NYUSsKUml5SjJHaVpKcE5YT0U3WStwcmllKzErNWpsd0RKOGtNMjJybHFONk1IZ3dIUVlEVlIwT0JCWUVGQ3FPdHdGcQpGU1NOZ3hQZjNiT0liQmp6UGQ0M01COEdBMVVkSXdRWU1CYUFGQ3FPdHdGcUZTU05neFBmM2JPSWJCanpQZDQzCk1BOEdBMVVkRXdFQi93UUZNQU1CQWY4d0pRWURWUjBSQkI0d0hJSUxaWGhoYlhCc1pTNWpiMjJDRFNvdVpYaGgKYlhCc1pTNWpiMjB3Q2dZSUtvWkl6ajBFQXdJRFNBQXdSUUlnVFBqN3VCN2R1ZXBTbHg5d1g3K25TbGpsN2t1NgpTTmxnc3NNN0VWcW0xZXNDSVFETTBmWmM2LzVOdURmNjV5ekR2OHJKRGJkZnA3a05iclVHNVNQb1VLOEpoUT09Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K";
/// The private key of [`TLS_CRT`], base64 of the PKCS#8 PEM.
const TLS_KEY: &str = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JR0hBZ0VBTUJNR0J5cUdTTTQ5QWdFR0NDcUdTTTQ5QXdFSEJHMHdhd0lCQVFRZ0xjTjE4eHFMaVloZjRhanYKNDFEUWdxUEQ1ci95VXhNVTdjcElYNUtqVUh1aFJBTkNBQVF0Q2E3MFNXSU8zNEFIa2x1TnIzNzhRdlJxQTFHYQo5dTB0bzN0WU96eGJzRkt4ZEQ1R0xJbllhSmttazFjNFR0ajZtdUo3N1g3bU9YQU1ueVF6YmF1VwotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg==";

const LISTENERS: &str = "\
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata:
  name: emissary-ingress-listener-8080
  namespace: default
spec:
  port: 8080
  protocol: HTTP
  securityModel: XFP
  hostBinding:
    namespace:
      from: ALL
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata:
  name: emissary-ingress-listener-8443
  namespace: default
spec:
  port: 8443
  protocol: HTTPS
  securityModel: XFP
  hostBinding:
    namespace:
      from: ALL
";

/// The manifests as `(file name, YAML text)`: `listeners.yaml`,
/// `hosts.yaml` (Hosts, then their Secrets when `tls`) and `mappings.yaml`.
/// `hosts` is at least 1.
pub(crate) fn manifests(n: usize, hosts: usize, tls: bool) -> Vec<(&'static str, String)> {
    let hosts = hosts.max(1);
    let mut h = String::with_capacity(hosts * if tls { 1400 } else { 250 });
    for i in 0..hosts {
        let _ = write!(
            h,
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata:\n  \
             name: host-{i}\n  namespace: default\nspec:\n  hostname: host-{i}.example.com\n"
        );
        if tls {
            let _ = write!(
                h,
                "  tlsSecret:\n    name: cert-{i}\n  requestPolicy:\n    insecure:\n      \
                 action: Redirect\n"
            );
        } else {
            h.push_str("  requestPolicy:\n    insecure:\n      action: Route\n");
        }
    }
    if tls {
        for i in 0..hosts {
            let _ = write!(
                h,
                "---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  \
                 name: cert-{i}\n  namespace: default\ndata:\n  tls.crt: {TLS_CRT}\n  \
                 tls.key: {TLS_KEY}\n"
            );
        }
    }
    let mut m = String::with_capacity(n * 200);
    for k in 0..n {
        let _ = write!(
            m,
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata:\n  \
             name: svc-{k}\n  namespace: default\nspec:\n  hostname: host-{}.example.com\n  \
             prefix: /svc-{k}/\n  service: svc-{k}\n",
            k % hosts
        );
    }
    vec![
        ("listeners.yaml", LISTENERS.to_owned()),
        ("hosts.yaml", h),
        ("mappings.yaml", m),
    ]
}
