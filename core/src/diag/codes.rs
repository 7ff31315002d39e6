//! The catalog of diagnostic codes: every code the core can raise, once, with
//! its usual severity, a one-line meaning and a minimal input that raises it.
//!
//! Codes are part of the API (hosts and users match on them), so renaming,
//! adding or removing one changes this table, which shows up in review. The
//! table is sorted by code; `tests/diagnostics.rs` in the tests crate checks
//! that it lists exactly the codes raised in `core/src` and by the golden
//! corpus, that every example raises its code, and that `docs/diagnostics.md`
//! (generated from this table) is current.

use super::Severity;
use Severity::{Error, Info, Warning};

/// One diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The stable kebab-case code, e.g. `mapping-no-host`.
    pub code: &'static str,
    /// The severity it is usually raised with.
    pub severity: Severity,
    /// Other severities some raising sites use (the summary says when).
    pub also: &'static [Severity],
    /// What it means, in one line.
    pub summary: &'static str,
    /// A minimal input (YAML, as `translate` reads it) that raises the code. A
    /// first line `# options: key=value …` sets `Options`, as in the golden
    /// corpus.
    pub example: &'static str,
}

/// Looks a code up in [`CATALOG`].
pub fn lookup(code: &str) -> Option<&'static Code> {
    CATALOG
        .binary_search_by(|c| c.code.cmp(code))
        .ok()
        .map(|i| &CATALOG[i])
}

/// Every diagnostic code, sorted by code.
pub const CATALOG: &[Code] = &[
    Code {
        code: "annotation-invalid",
        severity: Error,
        also: &[],
        summary: "The `getambassador.io/config` annotation of a Service or Ingress is not a string, or its text is not valid YAML; the annotation is ignored.",
        example: r#"apiVersion: v1
kind: Service
metadata:
  name: quote
  annotations: {getambassador.io/config: [not, text]}
spec: {ports: [{port: 80}]}
"#,
    },
    Code {
        code: "authservice-allowed-headers",
        severity: Warning,
        also: &[],
        summary: "An AuthService sets `allowed_headers`, which has no effect with Envoy v3 (as in Emissary); `allowed_request_headers` is what filters request headers.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: AuthService
metadata: {name: auth}
spec: {auth_service: auth:3000, allowed_headers: [x-user]}
"#,
    },
    Code {
        code: "authservice-body-conflict",
        severity: Warning,
        also: &[],
        summary: "An AuthService sets both `include_body` and `allow_request_body`; `allow_request_body` is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: AuthService
metadata: {name: auth}
spec: {auth_service: auth:3000, include_body: {max_bytes: 4096, allow_partial: true}, allow_request_body: true}
"#,
    },
    Code {
        code: "authservice-duplicate",
        severity: Error,
        also: &[],
        summary: "More than one AuthService: the first is used, every other one is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: AuthService
metadata: {name: auth-a}
spec: {auth_service: auth-a:3000}
---
apiVersion: getambassador.io/v3alpha1
kind: AuthService
metadata: {name: auth-b}
spec: {auth_service: auth-b:3000}
"#,
    },
    Code {
        code: "authservice-fail-closed",
        severity: Error,
        also: &[],
        summary: "The AuthService has errors, or its upstream cannot be built: every request except the readiness and liveness probes is answered with 500 (as Emissary fails closed) until it is fixed.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: AuthService
metadata: {name: auth}
spec: {auth_service: auth:3000, proto: grpc}
"#,
    },
    Code {
        code: "authservice-proto",
        severity: Error,
        also: &[],
        summary: "An AuthService's `proto` is neither `http` nor `grpc`.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: AuthService
metadata: {name: auth}
spec: {auth_service: auth:3000, proto: soap}
"#,
    },
    Code {
        code: "canary-group-conflict",
        severity: Error,
        also: &[],
        summary: "A Mapping joins a canary group (same match) but differs from the group's first Mapping in a setting the group shares (a cluster or route setting such as `connect_timeout_ms` or `load_balancer`); it is left out.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: a}
spec: {hostname: "*", prefix: /q/, service: quote-a}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: b}
spec: {hostname: "*", prefix: /q/, service: quote-b, weight: 10, connect_timeout_ms: 1000}
"#,
    },
    Code {
        code: "canary-group-cross-namespace",
        severity: Info,
        also: &[],
        summary: "Mappings from different namespaces with the same match form one canary group and share its traffic, as Emissary does silently.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: dup, namespace: n1}
spec: {hostname: "*", prefix: /dup/, service: svc-n1}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: dup, namespace: n2}
spec: {hostname: "*", prefix: /dup/, service: svc-n2}
"#,
    },
    Code {
        code: "canary-weight",
        severity: Error,
        also: &[],
        summary: "A canary `weight` is negative or above 100, or the weights of a group add up to more than 100; traffic is split as Emissary splits it.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: a}
spec: {hostname: "*", prefix: /q/, service: quote-a, weight: 150}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: b}
spec: {hostname: "*", prefix: /q/, service: quote-b}
"#,
    },
    Code {
        code: "canary-weight-sum",
        severity: Warning,
        also: &[],
        summary: "The weights of a canary group without an unweighted member add up to less than 100; the rest of the traffic gets 404, as in Emissary.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: a}
spec: {hostname: "*", prefix: /q/, service: quote-a, weight: 30}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: b}
spec: {hostname: "*", prefix: /q/, service: quote-b, weight: 20}
"#,
    },
    Code {
        code: "consul-service-invalid",
        severity: Error,
        also: &[],
        summary: "A Mapping with a Consul resolver names a `service` that is not a plain Consul service name (it contains a dot); the Mapping is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote.default, resolver: consul}
"#,
    },
    Code {
        code: "consul-service-port",
        severity: Warning,
        also: &[],
        summary: "A Mapping with a Consul resolver gives a port in `service`; Consul supplies the port, so it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: "quote:8080", resolver: consul}
"#,
    },
    Code {
        code: "endpoints-not-found",
        severity: Warning,
        also: &[],
        summary: "A Mapping uses an endpoint resolver, but the input has no Endpoints or EndpointSlice for its Service; the cluster has no endpoints until they appear.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, resolver: endpoint}
"#,
    },
    Code {
        code: "endpointslice-no-service",
        severity: Warning,
        also: &[],
        summary: "An EndpointSlice has no `kubernetes.io/service-name` label, so no Service uses it.",
        example: r#"apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: quote-abcde}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
"#,
    },
    Code {
        code: "field-inert",
        severity: Info,
        also: &[],
        summary: "A field Emissary 4 accepts and does not use (a Mapping's `envoy_override`, `modules`, `rate_limits`; a TLSContext's `redirect_cleartext_from`): it has no effect here either.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, envoy_override: {priority: HIGH}}
"#,
    },
    Code {
        code: "health-check-extra",
        severity: Warning,
        also: &[],
        summary: "A Mapping has more than one valid health check; only the first is used (Envoy needs names to tell several apart).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: 
  hostname: "*"
  prefix: /q/
  service: quote
  resolver: endpoint
  health_checks:
  - health_check: {http: {path: /healthz}}
  - health_check: {http: {path: /readyz}}
"#,
    },
    Code {
        code: "health-check-invalid",
        severity: Warning,
        also: &[],
        summary: "A health check is malformed (neither or both of `http` and `grpc`, no `path` or `upstream_name`, a bad duration, status range or header); that check is ignored, the Mapping is kept.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: 
  prefix: /q/
  service: quote
  resolver: endpoint
  health_checks:
  - health_check: {http: {hostname: quote}}
"#,
    },
    Code {
        code: "health-checks-need-endpoints",
        severity: Warning,
        also: &[],
        summary: "A Mapping has `health_checks` but uses the Kubernetes Service resolver; health checks need an endpoint or Consul resolver, so they are ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: 
  hostname: "*"
  prefix: /q/
  service: quote
  health_checks:
  - health_check: {http: {path: /healthz}}
"#,
    },
    Code {
        code: "host-hostname-shadowed",
        severity: Warning,
        also: &[],
        summary: "Another Host with the same hostname comes later in Emissary's load order (`name.namespace`) and replaces this one's virtual host: its `requestPolicy.insecure` and `mappingSelector` decide there, as in Emissary (silently there).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: h1, namespace: z}
spec: {hostname: foo.example.com, requestPolicy: {insecure: {action: Reject}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: h2, namespace: a}
spec: {hostname: foo.example.com, requestPolicy: {insecure: {action: Route}}}
"#,
    },
    Code {
        code: "host-insecure-action",
        severity: Warning,
        also: &[],
        summary: "A Host's `requestPolicy.insecure.action` is not Redirect, Route or Reject; Redirect is used.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, requestPolicy: {insecure: {action: Allow}}}
"#,
    },
    Code {
        code: "host-tls-both-names",
        severity: Warning,
        also: &[],
        summary: "A Host's inline `tls` sets one setting under both its camelCase and its snake_case name; the camelCase one is used, as Emissary does.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: both}
spec:
  hostname: both.example.com
  tls: {minTlsVersion: v1.2, min_tls_version: v1.3}
"#,
    },
    Code {
        code: "host-tls-conflict",
        severity: Error,
        also: &[],
        summary: "Two Hosts terminate TLS for the same SNI on one port with different TLS settings; the later Host is left out of that port.",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: a}
spec: {hostname: web.example.com, tlsSecret: {name: cert-a}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: b}
spec: {hostname: web.example.com, tlsSecret: {name: cert-b}}
"#,
    },
    Code {
        code: "host-tls-without-secret",
        severity: Warning,
        also: &[],
        summary: "A Host names a TLSContext but has no `tlsSecret`: TLS is terminated with the context's secret, where Emissary 4 serves such a Host cleartext only (a deliberate difference: the configuration asks for TLS).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsContext: {name: web-ctx}}
---
apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: web-ctx}
spec: {hosts: [web.example.com], secret: web-cert}
---
apiVersion: v1
kind: Secret
metadata: {name: web-cert}
type: kubernetes.io/tls
data: {tls.crt: "", tls.key: ""}
"#,
    },
    Code {
        code: "http3-alt-svc-port",
        severity: Info,
        also: &[],
        summary: "A UDP (HTTP/3) Listener with a TCP companion is not on port 443 or 8443, yet the companion advertises HTTP/3 on port 443 (`alt-svc: h3=\":443\"`, fixed, as in Emissary): clients find it only if port 443 leads to it.",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 9443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: quic}
spec: {port: 9443, protocolStack: [TLS, HTTP, UDP], securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: web-cert}}
"#,
    },
    Code {
        code: "http3-alt-svc-without-quic",
        severity: Warning,
        also: &[],
        summary: "A UDP (HTTP/3) Listener serves no TLS Host, yet the TCP Listener on its address and port still advertises HTTP/3 with `alt-svc` (as Emissary does); clients try QUIC and fall back.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: quic}
spec: {port: 8443, protocolStack: [TLS, HTTP, UDP], securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com}
"#,
    },
    Code {
        code: "ingress-backend",
        severity: Warning,
        also: &[],
        summary: "An Ingress rule path has no Service backend with a name and a port; it is ignored, as in Emissary.",
        example: r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations: {kubernetes.io/ingress.class: ambassador}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {resource: {apiGroup: example.com, kind: Bucket, name: b}}}
"#,
    },
    Code {
        code: "ingress-not-ours",
        severity: Info,
        also: &[],
        summary: "An Ingress has neither `kubernetes.io/ingress.class: ambassador` nor an IngressClass whose controller is Emissary's; it is ignored.",
        example: r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
"#,
    },
    Code {
        code: "kind-not-supported",
        severity: Warning,
        also: &[],
        summary: "A getambassador.io kind that Emissary knows but this version does not translate (DevPortal); the object is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: DevPortal
metadata: {name: portal}
spec: {default: true}
"#,
    },
    Code {
        code: "listener-duplicate-port",
        severity: Error,
        also: &[],
        summary: "Two Listeners take the same address and port; the later one is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http-2}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
"#,
    },
    Code {
        code: "listener-host-binding",
        severity: Error,
        also: &[],
        summary: "A Listener's `hostBinding` has neither `namespace` nor `selector`, its `namespace.from` is not ALL, SELF or SELECTOR, or its `selector` has `matchExpressions` without `matchLabels` (Emissary reads only `matchLabels`); the Listener is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: OTHERS}}}
"#,
    },
    Code {
        code: "listener-host-binding-selector",
        severity: Warning,
        also: &[],
        summary: "A Listener's `hostBinding.namespace.from` is SELECTOR, which Emissary's CRD allows but neither Emissary 4 nor this control plane implements; the Listener binds the Hosts of its own namespace, as with SELF (Emissary does the same).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: SELECTOR}}}
"#,
    },
    Code {
        code: "listener-no-hosts",
        severity: Warning,
        also: &[],
        summary: "No Host binds to an HTTP Listener (its `hostBinding` excludes them all); it serves nothing and is left out.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {selector: {matchLabels: {tier: edge}}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com}
"#,
    },
    Code {
        code: "listener-protocol",
        severity: Error,
        also: &[],
        summary: "A Listener's `protocol` or `protocolStack` names an unknown protocol (or `protocol: UDP`, which Emissary does not accept either: HTTP/3 needs `protocolStack`), or the stack does not end in TCP or UDP; the Listener is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: SPDY, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
"#,
    },
    Code {
        code: "listener-protocol-conflict",
        severity: Warning,
        also: &[],
        summary: "A Listener sets both `protocol` and `protocolStack`; `protocolStack` is used.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: HTTPS, protocolStack: [HTTP, TCP], securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
"#,
    },
    Code {
        code: "listener-security-model",
        severity: Error,
        also: &[],
        summary: "A Listener's `securityModel` is not XFP, SECURE or INSECURE; the Listener is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: HTTP, securityModel: STRICT, hostBinding: {namespace: {from: ALL}}}
"#,
    },
    Code {
        code: "listener-selector-expressions",
        severity: Warning,
        also: &[],
        summary: "A Listener's `hostBinding.selector` has `matchExpressions` beside `matchLabels`; only `matchLabels` select Hosts, as in Emissary.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {selector: {matchLabels: {tier: edge}, matchExpressions: [{key: team, operator: Exists}]}}}
"#,
    },
    Code {
        code: "listener-udp",
        severity: Error,
        also: &[],
        summary: "A Listener's protocol stack ends in UDP but has no HTTP: UDP is only supported for HTTP/3 (`[TLS, HTTP, UDP]`); the Listener is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: quic}
spec: {port: 8443, protocolStack: [TLS, UDP], securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
"#,
    },
    Code {
        code: "listener-udp-no-tls",
        severity: Warning,
        also: &[],
        summary: "A UDP (HTTP/3) Listener without TLS in its stack: QUIC always uses TLS, so it serves nothing (a TCP Listener on its address and port still advertises HTTP/3).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: quic}
spec: {port: 8443, protocolStack: [HTTP, UDP], securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
"#,
    },
    Code {
        code: "listener-udp-proxy",
        severity: Error,
        also: &[],
        summary: "A UDP (HTTP/3) Listener's stack has PROXY: the PROXY protocol is TCP only and Envoy rejects it on a QUIC listener (Emissary writes it anyway); the Listener is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: quic}
spec: {port: 8443, protocolStack: [TLS, PROXY, HTTP, UDP], securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
"#,
    },
    Code {
        code: "listener-unused",
        severity: Warning,
        also: &[],
        summary: "A TCP or TLS Listener that no TCPMapping uses; no Envoy listener is created for it.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: tcp}
spec: {port: 9000, protocol: TCP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
"#,
    },
    Code {
        code: "load-balancer-invalid",
        severity: Error,
        also: &[],
        summary: "A `load_balancer` (of a Mapping or the Module) has an unknown `policy`, a `cookie` without `name`, a hash key (`cookie`, `header`, `source_ip`) with a policy that does not hash, or not exactly one with ring_hash or maglev.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, resolver: endpoint, load_balancer: {policy: random}}
"#,
    },
    Code {
        code: "load-balancer-needs-endpoints",
        severity: Error,
        also: &[],
        summary: "A Mapping sets `load_balancer` with the Kubernetes Service resolver, which leaves balancing to the Service; the Mapping is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, load_balancer: {policy: round_robin}}
"#,
    },
    Code {
        code: "logservice-driver",
        severity: Error,
        also: &[],
        summary: "A LogService's `driver` is neither `tcp` nor `http`.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: LogService
metadata: {name: als}
spec: {service: als:9001, driver: udp, protocol_version: v3}
"#,
    },
    Code {
        code: "logservice-duplicate",
        severity: Error,
        also: &[],
        summary: "More than one LogService: only the first is used (as in Emissary), every other one is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: LogService
metadata: {name: als-a}
spec: {service: als-a:9001, protocol_version: v3}
---
apiVersion: getambassador.io/v3alpha1
kind: LogService
metadata: {name: als-b}
spec: {service: als-b:9001, protocol_version: v3}
"#,
    },
    Code {
        code: "logservice-protocol-version",
        severity: Error,
        also: &[],
        summary: "A LogService's `protocol_version` is missing or not `v3`; Emissary reads a missing one as `v2`, which Envoy no longer speaks.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: LogService
metadata: {name: als}
spec: {service: als:9001, driver: http}
"#,
    },
    Code {
        code: "logservice-tcp-headers",
        severity: Error,
        also: &[],
        summary: "A LogService with the `tcp` driver lists `additional_log_headers`; a tcp logger records connections, not requests, so they need the `http` driver.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: LogService
metadata: {name: als}
spec: {service: als:9001, driver: tcp, protocol_version: v3, driver_config: {additional_log_headers: [{header_name: x-user}]}}
"#,
    },
    Code {
        code: "mapping-dns-type",
        severity: Warning,
        also: &[],
        summary: "A Mapping's `dns_type` is neither `strict_dns` nor `logical_dns`; `strict_dns` is used.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, dns_type: round_robin}
"#,
    },
    Code {
        code: "mapping-field-unsupported",
        severity: Error,
        also: &[],
        summary: "A Mapping uses a field Emissary does not support (`outlier_detection`, `error_response_overrides`); the Mapping is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, outlier_detection: {}}
"#,
    },
    Code {
        code: "mapping-header-bool",
        severity: Warning,
        also: &[],
        summary: "A v3 Mapping matches a header with `true`, the getambassador.io/v2 spelling of a presence match; it is read as regex `.*`.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, headers: {x-canary: true}}
"#,
    },
    Code {
        code: "mapping-host-and-hostname",
        severity: Warning,
        also: &[],
        summary: "A Mapping sets both `host` and `hostname`; `hostname` is used and `host` is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {prefix: /q/, service: quote, host: a.example.com, hostname: b.example.com}
"#,
    },
    Code {
        code: "mapping-host-glob",
        severity: Error,
        also: &[],
        summary: "A Mapping's exact `host` (or `:authority` header match) contains `*`, which can match nothing; `hostname` takes globs.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {prefix: /q/, service: quote, host: "*.example.com"}
"#,
    },
    Code {
        code: "mapping-label-invalid",
        severity: Warning,
        also: &[],
        summary: "A rate-limit label (in a Mapping's `labels` or the Module's `default_labels`) is malformed; the entry or label group is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: 
  hostname: "*"
  prefix: /q/
  service: quote
  labels:
    ambassador:
    - per_route:
      - generic_key: {key: tier}
"#,
    },
    Code {
        code: "mapping-no-host",
        severity: Warning,
        also: &[],
        summary: "A Mapping's `hostname` matches no Host, or it has no `hostname` and no Host selects it by label; it serves no traffic.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: api.example.com, prefix: /q/, service: quote}
"#,
    },
    Code {
        code: "mapping-redirect-code",
        severity: Warning,
        also: &[],
        summary: "A Mapping's `redirect_response_code` is not 301, 302, 303, 307 or 308; 301 is used.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: redirect}
spec: {hostname: "*", prefix: /q/, service: www.example.com, host_redirect: true, redirect_response_code: 305}
"#,
    },
    Code {
        code: "mapping-redirect-conflict",
        severity: Error,
        also: &[Warning],
        summary: "A `host_redirect` Mapping and a routing Mapping share a match, and a group either redirects or routes: the later one is ignored. As a warning: more than one of `path_redirect`, `prefix_redirect`, `regex_redirect` is set, and the first one is used.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: route}
spec: {hostname: "*", prefix: /q/, service: quote}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: redirect}
spec: {hostname: "*", prefix: /q/, service: www.example.com, host_redirect: true}
"#,
    },
    Code {
        code: "mapping-rewrite-conflict",
        severity: Warning,
        also: &[],
        summary: "A Mapping sets both `rewrite` (other than `/`) and `regex_rewrite`; `regex_rewrite` is used and `rewrite` is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, rewrite: /api/, regex_rewrite: {pattern: "^/q/(.*)", substitution: "/\\1"}}
"#,
    },
    Code {
        code: "mapping-second-redirect",
        severity: Error,
        also: &[],
        summary: "A second `host_redirect` Mapping with the same match as one already redirecting; it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: redirect-a}
spec: {hostname: "*", prefix: /q/, service: a.example.com, host_redirect: true}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: redirect-b}
spec: {hostname: "*", prefix: /q/, service: b.example.com, host_redirect: true}
"#,
    },
    Code {
        code: "mapping-second-shadow",
        severity: Error,
        also: &[],
        summary: "A second `shadow` Mapping with the same match as one already shadowing; it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: shadow-a}
spec: {hostname: "*", prefix: /q/, service: shadow-a, shadow: true}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: shadow-b}
spec: {hostname: "*", prefix: /q/, service: shadow-b, shadow: true}
"#,
    },
    Code {
        code: "mapping-shadow-redirect",
        severity: Error,
        also: &[],
        summary: "A Mapping sets both `shadow` and `host_redirect`; `host_redirect` is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, shadow: true, host_redirect: true}
"#,
    },
    Code {
        code: "mapping-shadows-builtin",
        severity: Warning,
        also: &[],
        summary: "A Mapping has the match of one of Emissary's built-in Mappings (probes, diagnostics): as in Emissary, the two form one canary group and share its traffic.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: diag-override}
spec: {hostname: "*", prefix: /ambassador/v0/, service: mydiag}
"#,
    },
    Code {
        code: "missing-field",
        severity: Error,
        also: &[],
        summary: "A required field is missing (e.g. a Mapping's `prefix` or `service`, a Listener's `port`, a `tlsSecret`'s `name`).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", service: quote}
"#,
    },
    Code {
        code: "missing-kind",
        severity: Error,
        also: &[],
        summary: "A manifest has no `kind`; it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
metadata: {name: quote}
spec: {prefix: /q/, service: quote}
"#,
    },
    Code {
        code: "module-bootstrap-only",
        severity: Info,
        also: &[],
        summary: "The Module's `admin_port` or `runtime_flags`: written to a static bootstrap built from the configuration, not to the bootstrap of an Envoy fed over ADS (set the daemon's `--envoy-admin-port` instead).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {admin_port: 9901}}
"#,
    },
    Code {
        code: "module-circuit-breakers-invalid",
        severity: Error,
        also: &[],
        summary: "The Module's `circuit_breakers` are invalid and ignored (Emissary 4 would reject every Mapping without breakers of its own).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {circuit_breakers: [{priority: urgent}]}}
"#,
    },
    Code {
        code: "module-default-labels",
        severity: Warning,
        also: &[],
        summary: "A domain of the Module's `default_labels` is not `{defaults: [entry, …]}`; that domain is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {default_labels: {ambassador: [remote_address]}}}
"#,
    },
    Code {
        code: "module-duplicate",
        severity: Warning,
        also: &[],
        summary: "More than one Module named `ambassador` (in different namespaces); as in Emissary, the one in the first namespace of its load order is used and the others are ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador, namespace: default}
spec: {config: {}}
---
apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador, namespace: other}
spec: {config: {}}
"#,
    },
    Code {
        code: "module-error-response-overrides",
        severity: Error,
        also: &[],
        summary: "The Module's `error_response_overrides`, which Emissary 4 does not support; it is ignored and the rest of the Module applies.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {error_response_overrides: [{on_status_code: 404, body: {text_format: gone}}]}}
"#,
    },
    Code {
        code: "module-field-inert",
        severity: Info,
        also: &[Error],
        summary: "A Module key that Emissary 4 accepts without any effect on Envoy's configuration (`use_proxy_proto`, `xff_num_trusted_hops`, `statsd`, …); the message says what configures it instead. `tls` is an error, as in Emissary.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {use_proxy_proto: true}}
"#,
    },
    Code {
        code: "module-field-not-translated",
        severity: Warning,
        also: &[],
        summary: "The Module's `buffer.max_request_time`, which Envoy (and so Emissary) no longer supports; it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {buffer: {max_request_bytes: 1024, max_request_time: 5000}}}
"#,
    },
    Code {
        code: "module-header-case-overrides",
        severity: Error,
        also: &[],
        summary: "The Module's `header_case_overrides`: Emissary's own checks (not a list, non-string entries, set with `proper_case`), or valid entries, which need Emissary's Envoy build (`header_key_format.custom`) and are ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {header_case_overrides: [X-My-Header]}}
"#,
    },
    Code {
        code: "module-ip-allow-deny",
        severity: Error,
        also: &[],
        summary: "The Module sets both `ip_allow` and `ip_deny`; only one may be set.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {ip_allow: [{peer: 10.0.0.0/8}], ip_deny: [{remote: 192.0.2.1}]}}
"#,
    },
    Code {
        code: "module-ip-principal",
        severity: Error,
        also: &[],
        summary: "An `ip_allow` or `ip_deny` entry of the Module is not one key, `remote` or `peer`, per list element.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {ip_allow: [{remote: 10.0.0.1, peer: 10.0.0.2}]}}
"#,
    },
    Code {
        code: "module-name",
        severity: Warning,
        also: &[],
        summary: "A Module not named `ambassador`; only the Module named `ambassador` configures Emissary, so it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: settings}
spec: {config: {}}
"#,
    },
    Code {
        code: "module-probe-disabled",
        severity: Warning,
        also: &[],
        summary: "A Module probe (`liveness_probe`, `readiness_probe`, `diagnostics`) is given without `enabled: true`, which disables its built-in Mapping, as in Emissary.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {readiness_probe: {rewrite: /ready}}}
"#,
    },
    Code {
        code: "module-runtime-flag",
        severity: Warning,
        also: &[],
        summary: "A Module `runtime_flags` entry that Emissary does not pass to Envoy, or whose value is invalid; it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {runtime_flags: {http.max_requests_per_io_cycle: 0}}}
"#,
    },
    Code {
        code: "module-value",
        severity: Error,
        also: &[Warning],
        summary: "A Module setting has a value outside its set (`headers_with_underscores_action`, `forward_client_cert_details`, gzip enum names). As a warning: an unknown `envoy_log_type`, for which text is used.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador}
spec: {config: {headers_with_underscores_action: KEEP}}
"#,
    },
    Code {
        code: "nested-list",
        severity: Error,
        also: &[],
        summary: "A Kubernetes List inside a List; the inner List is ignored.",
        example: r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: List
  items: []
"#,
    },
    Code {
        code: "no-listeners",
        severity: Warning,
        also: &[],
        summary: "The input defines no Listener (and no TCPMapping), so Envoy gets no traffic listener, as in Emissary.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote}
"#,
    },
    Code {
        code: "not-an-object",
        severity: Error,
        also: &[],
        summary: "A manifest is not a mapping (a list or a scalar, for instance); it is ignored.",
        example: r#"- apiVersion: v1
- kind: Service
"#,
    },
    Code {
        code: "object-duplicate",
        severity: Warning,
        also: &[Error],
        summary: "One object (kind, namespace, name) is defined twice in the input: as in Emissary the first definition is used; with different apiVersions or from an annotation (an error) the later one in Emissary's load order.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: same, namespace: default}
spec: {hostname: "*", prefix: /first/, service: svc1}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: same, namespace: default}
spec: {hostname: "*", prefix: /second/, service: svc2}
"#,
    },
    Code {
        code: "object-ignored",
        severity: Info,
        also: &[],
        summary: "An object with errors is left out whole, as an API server would reject it; this note follows its errors.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, timeout_ms: soon}
"#,
    },
    Code {
        code: "protocol-version",
        severity: Error,
        also: &[],
        summary: "A gRPC AuthService or a RateLimitService does not set `protocol_version: v3`; Emissary's default, v2, is not supported.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: RateLimitService
metadata: {name: ratelimit}
spec: {service: ratelimit:8081}
"#,
    },
    Code {
        code: "quic-alpn-ignored",
        severity: Info,
        also: &[],
        summary: "A Host served by a UDP (HTTP/3) Listener has TLS `alpn_protocols`: they are written into the QUIC context (as Emissary does) but have no effect, QUIC always negotiates h3.",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: quic}
spec: {port: 8443, protocolStack: [TLS, HTTP, UDP], securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: web-cert}, tls: {alpn_protocols: "h2,http/1.1"}}
"#,
    },
    Code {
        code: "ratelimitservice-duplicate",
        severity: Error,
        also: &[],
        summary: "More than one RateLimitService: the first is used, every other one is ignored (Emissary 4 then applies no rate limiting at all: a deliberate difference).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: RateLimitService
metadata: {name: rl-a}
spec: {service: rl-a:8081, protocol_version: v3}
---
apiVersion: getambassador.io/v3alpha1
kind: RateLimitService
metadata: {name: rl-b}
spec: {service: rl-b:8081, protocol_version: v3}
"#,
    },
    Code {
        code: "regex-invalid",
        severity: Error,
        also: &[],
        summary: "A regex (prefix, header, query, host or rewrite) is not valid RE2 syntax (no look-around, no back-references); the object is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: "/q/(?=x)", prefix_regex: true, service: quote}
"#,
    },
    Code {
        code: "regex-too-complex",
        severity: Error,
        also: &[],
        summary: "A regex compiles to more RE2 instructions than the Module's `regex_max_size` (default 200), which Envoy would reject; the object is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: "/q/[a-z0-9]{150}", prefix_regex: true, service: quote}
"#,
    },
    Code {
        code: "resolver-not-found",
        severity: Error,
        also: &[],
        summary: "A Mapping names a `resolver` that is neither built in nor defined by a resolver object; the Mapping is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, resolver: dns}
"#,
    },
    Code {
        code: "secret-base64",
        severity: Error,
        also: &[],
        summary: "A Secret's `tls.crt`, `tls.key`, `ca.crt` or `crl.pem` is not valid base64.",
        example: r#"apiVersion: v1
kind: Secret
metadata: {name: cert}
type: kubernetes.io/tls
data: {tls.crt: "not base64!", tls.key: ""}
"#,
    },
    Code {
        code: "secret-not-found",
        severity: Error,
        also: &[],
        summary: "A Host, TLSContext or Mapping refers to a Secret (certificate, CA or CRL) that is not in the input, or lacks the key needed; the referring object is left out rather than served without it.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: web-cert}}
"#,
    },
    Code {
        code: "secret-not-tls",
        severity: Error,
        also: &[],
        summary: "A Secret used as a certificate has no `tls.crt` and `tls.key`; the referring object is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: web-cert}}
---
apiVersion: v1
kind: Secret
metadata: {name: web-cert}
data: {ca.crt: Zm9v}
"#,
    },
    Code {
        code: "secret-placeholder",
        severity: Info,
        also: &[],
        summary: "With the `placeholder_secrets` option, a missing Secret is replaced by a built-in self-signed placeholder certificate.",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: web-cert}}
"#,
    },
    Code {
        code: "selector-match-expressions",
        severity: Warning,
        also: &[],
        summary: "A label selector uses `matchExpressions`, which Emissary does not support; only `matchLabels` is used.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, mappingSelector: {matchExpressions: [{key: tier, operator: Exists}]}}
"#,
    },
    Code {
        code: "service-invalid",
        severity: Error,
        also: &[],
        summary: "A Mapping's `service` is not a valid `[scheme://]host[:port]` (e.g. a port that is not a number or is out of range); the Mapping is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: "quote:99999"}
"#,
    },
    Code {
        code: "service-scheme",
        severity: Warning,
        also: &[],
        summary: "A Mapping's `service` has a scheme other than `http://` or `https://`; the scheme is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: "ftp://quote"}
"#,
    },
    Code {
        code: "service-scheme-tls",
        severity: Warning,
        also: &[],
        summary: "A Mapping's `service` says `http://` but it names a TLSContext in `tls`; TLS is originated anyway.",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: upstream}
spec: {secret: client-cert}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: "http://quote", tls: upstream}
"#,
    },
    Code {
        code: "shadow-without-primary",
        severity: Warning,
        also: &[],
        summary: "A `shadow` Mapping has no primary Mapping with the same match, so nothing is mirrored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: shadow}
spec: {hostname: "*", prefix: /q/, service: quote-shadow, shadow: true}
"#,
    },
    Code {
        code: "tcpmapping-conflict",
        severity: Error,
        also: &[],
        summary: "Two TCPMappings take the same port and SNI (`host`); the later one is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: tcp}
spec: {port: 9000, protocol: TCP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: TCPMapping
metadata: {name: db-a}
spec: {port: 9000, service: db-a:5432}
---
apiVersion: getambassador.io/v3alpha1
kind: TCPMapping
metadata: {name: db-b}
spec: {port: 9000, service: db-b:5432}
"#,
    },
    Code {
        code: "tcpmapping-http-port",
        severity: Error,
        also: &[],
        summary: "A TCPMapping uses the port of an HTTP Listener; the TCPMapping is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: TCPMapping
metadata: {name: db}
spec: {port: 8080, service: db:5432}
"#,
    },
    Code {
        code: "tls-ca-from-ca-crt",
        severity: Info,
        also: &[],
        summary: "A `ca_secret` holds both `ca.crt` and `tls.crt`: client certificates are validated against `ca.crt`, where Emissary 4 trusts `tls.crt` (a deliberate difference).",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: web-cert}, tls: {ca_secret: client-ca}}
---
apiVersion: v1
kind: Secret
metadata: {name: client-ca}
stringData: {tls.crt: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", ca.crt: "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"}
"#,
    },
    Code {
        code: "tls-cert-required-without-ca",
        severity: Warning,
        also: &[],
        summary: "TLS settings set `cert_required` without a `ca_secret` to validate client certificates against; `cert_required` is ignored.",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: web-cert}, tls: {certRequired: true}}
"#,
    },
    Code {
        code: "tls-cipher-unknown",
        severity: Warning,
        also: &[],
        summary: "A cipher suite Envoy's TLS library does not know; it is left out, since Envoy would reject the whole configuration.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: tls}
spec: {secret: web-cert, cipher_suites: [RC4-MD5]}
"#,
    },
    Code {
        code: "tls-context-hosts-mismatch",
        severity: Warning,
        also: &[],
        summary: "A Host names a TLSContext whose `hosts` do not include the Host's hostname (or name).",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: web-cert}, tlsContext: {name: tls}}
---
apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: tls}
spec: {hosts: [api.example.com], secret: web-cert}
"#,
    },
    Code {
        code: "tls-context-no-certificate",
        severity: Warning,
        also: &[],
        summary: "A Mapping originates TLS with a TLSContext that has no `secret`; Emissary would send cleartext, here TLS is originated without a client certificate.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: upstream}
spec: {min_tls_version: v1.2}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, tls: upstream}
"#,
    },
    Code {
        code: "tls-context-no-secret",
        severity: Warning,
        also: &[],
        summary: "A Host names only a TLSContext (no `tlsSecret`) and that TLSContext has no `secret`; the Host serves cleartext only.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsContext: {name: tls}}
---
apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: tls}
spec: {min_tls_version: v1.2}
"#,
    },
    Code {
        code: "tls-context-not-found",
        severity: Error,
        also: &[],
        summary: "A Host's `tlsContext` or a Mapping's `tls` names a TLSContext that does not exist; the object is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsContext: {name: missing}}
"#,
    },
    Code {
        code: "tls-context-without-host",
        severity: Warning,
        also: &[],
        summary: "No Host is defined, so TLSContexts that list `hosts` terminate no TLS (unless a TCPMapping uses them).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: tls}
spec: {hosts: [web.example.com], secret: web-cert}
"#,
    },
    Code {
        code: "tls-crl-without-ca",
        severity: Warning,
        also: &[],
        summary: "TLS settings set `crl_secret` without a `ca_secret`; a revocation list needs a CA, so it is ignored.",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: web-cert}, tls: {crlSecret: web-crl}}
"#,
    },
    Code {
        code: "tls-curve-unknown",
        severity: Warning,
        also: &[],
        summary: "An ECDH curve Envoy's TLS library does not know; it is left out, since Envoy would reject the whole configuration.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: tls}
spec: {secret: web-cert, ecdh_curves: [P-192]}
"#,
    },
    Code {
        code: "tls-file-path",
        severity: Warning,
        also: &[],
        summary: "TLS settings name a file in Emissary's own container (`cert_chain_file`, `private_key_file`, `cacert_chain_file`, `crl_file`); only Secrets are read, so it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: tls}
spec: {hosts: [web.example.com], secret: web-cert, cert_chain_file: /etc/certs/tls.crt}
"#,
    },
    Code {
        code: "tls-secret-mismatch",
        severity: Error,
        also: &[],
        summary: "A Host's `tlsSecret` differs from the `secret` of its TLSContext; the Host is ignored.",
        example: r#"# options: placeholder_secrets
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web}
spec: {hostname: web.example.com, tlsSecret: {name: cert-a}, tlsContext: {name: tls}}
---
apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: tls}
spec: {secret: cert-b}
"#,
    },
    Code {
        code: "tls-version",
        severity: Error,
        also: &[],
        summary: "A minimum or maximum TLS version is not one of v1.0, v1.1, v1.2, v1.3.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TLSContext
metadata: {name: tls}
spec: {secret: web-cert, min_tls_version: v1.4}
"#,
    },
    Code {
        code: "tracing-config",
        severity: Error,
        also: &[],
        summary: "A TracingService `config` value is not valid (e.g. `collector_endpoint_version` other than HTTP_JSON or HTTP_PROTO).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TracingService
metadata: {name: tracing}
spec: {service: zipkin:9411, driver: zipkin, config: {collector_endpoint_version: HTTP_XML}}
"#,
    },
    Code {
        code: "tracing-config-ignored",
        severity: Warning,
        also: &[],
        summary: "A TracingService `config` key does not apply to its driver (or to any supported driver); it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TracingService
metadata: {name: tracing}
spec: {service: datadog:8126, driver: datadog, config: {collector_endpoint: /api/v2/spans}}
"#,
    },
    Code {
        code: "tracing-custom-tag",
        severity: Error,
        also: &[],
        summary: "A TracingService custom tag does not have exactly one of `literal`, `environment` or `request_header`.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TracingService
metadata: {name: tracing}
spec: {service: zipkin:9411, driver: zipkin, custom_tags: [{tag: team}]}
"#,
    },
    Code {
        code: "tracing-driver",
        severity: Error,
        also: &[],
        summary: "A TracingService `driver` is not zipkin, datadog or opentelemetry (`lightstep` was removed in Emissary 3.4).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TracingService
metadata: {name: tracing}
spec: {service: lightstep:443, driver: lightstep}
"#,
    },
    Code {
        code: "tracing-service-duplicate",
        severity: Error,
        also: &[],
        summary: "More than one TracingService; Emissary supports exactly one, so none is used.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TracingService
metadata: {name: zipkin-a}
spec: {service: zipkin-a:9411, driver: zipkin}
---
apiVersion: getambassador.io/v3alpha1
kind: TracingService
metadata: {name: zipkin-b}
spec: {service: zipkin-b:9411, driver: zipkin}
"#,
    },
    Code {
        code: "tracing-tag-headers",
        severity: Warning,
        also: &[],
        summary: "A TracingService sets `tag_headers`, which is deprecated and ignored (as in Emissary); `custom_tags` with `request_header` replaces it. In a getambassador.io/v2 TracingService they become `custom_tags`, as Emissary's conversion makes them, unless it sets `custom_tags` too.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: TracingService
metadata: {name: tracing}
spec: {service: zipkin:9411, driver: zipkin, tag_headers: [x-user]}
"#,
    },
    Code {
        code: "unknown-api-version",
        severity: Warning,
        also: &[],
        summary: "A getambassador.io `apiVersion` other than v1, v2 and v3alpha1; the object is read as v3alpha1.",
        example: r#"apiVersion: getambassador.io/v4
kind: Mapping
metadata: {name: quote}
spec: {prefix: /q/, service: quote}
"#,
    },
    Code {
        code: "unknown-field",
        severity: Warning,
        also: &[],
        summary: "A field the object's kind does not have (often a typo), or a getambassador.io/v2 value with no v3alpha1 form (a header match `false`); it is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefx: /q/, prefix: /q/, service: quote}
"#,
    },
    Code {
        code: "unknown-kind",
        severity: Warning,
        also: &[],
        summary: "A getambassador.io kind that does not exist, or a Kubernetes kind that plays no part in Emissary's configuration; the object is ignored.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapppping
metadata: {name: quote}
spec: {prefix: /q/, service: quote}
"#,
    },
    Code {
        code: "value-out-of-range",
        severity: Error,
        also: &[],
        summary: "A number is out of its range (a port above 65535, a percentage above 100, an HTTP status that is not one, …).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http}
spec: {port: 80800, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
"#,
    },
    Code {
        code: "wrong-type",
        severity: Error,
        also: &[],
        summary: "A field has the wrong type (a list where a string is expected, a string where a mapping is, …).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: [/q/], service: quote}
"#,
    },
    Code {
        code: "wrong-value",
        severity: Error,
        also: &[],
        summary: "A field's value is not one of those allowed (a circuit breaker's `priority` other than `default` or `high`).",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec: {hostname: "*", prefix: /q/, service: quote, circuit_breakers: [{priority: urgent}]}
"#,
    },
    Code {
        code: "yaml-duplicate-key",
        severity: Warning,
        also: &[],
        summary: "A YAML mapping has the same key twice; the later value replaces the earlier one.",
        example: r#"apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote}
spec:
  prefix: /q/
  service: quote
  prefix: /quote/
"#,
    },
    Code {
        code: "yaml-recursive-alias",
        severity: Error,
        also: &[],
        summary: "A YAML alias refers to the node that contains it; it is read as null.",
        example: r#"list: &loop [*loop]
"#,
    },
    Code {
        code: "yaml-syntax",
        severity: Error,
        also: &[],
        summary: "The text is not valid YAML; the document is skipped.",
        example: r#"kind: Mapping
spec: {prefix: /q/
"#,
    },
    Code {
        code: "yaml-too-deep",
        severity: Error,
        also: &[],
        summary: "A document nests deeper than 64 levels (or flow collections deeper than 255); the document is skipped.",
        example: r#"deep: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
"#,
    },
    Code {
        code: "yaml-too-large",
        severity: Error,
        also: &[],
        summary: "A file has more than 2,000,000 YAML nodes once aliases are expanded (a \"billion laughs\"); parsing stops.",
        example: r#"a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
"#,
    },
    Code {
        code: "yaml-too-many-documents",
        severity: Error,
        also: &[],
        summary: "A file has more than 100,000 documents; the rest are ignored.",
        example: r#"# one of more than 100,000 documents in one file
--- {apiVersion: v1, kind: ConfigMap}
"#,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_found() {
        for w in CATALOG.windows(2) {
            assert!(w[0].code < w[1].code, "{} before {}", w[0].code, w[1].code);
        }
        for c in CATALOG {
            assert_eq!(lookup(c.code), Some(c));
            assert!(!c.also.contains(&c.severity), "{}", c.code);
            assert!(!c.summary.contains('\n'), "{}: one line", c.code);
            assert!(
                c.code.split('-').all(|w| !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{} is not kebab-case",
                c.code
            );
        }
        assert_eq!(lookup("no-such-code"), None);
    }
}
