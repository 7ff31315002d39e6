//! The structural schema of every getambassador.io kind, as this model reads it.
//!
//! One declaration per kind ([`kinds`]) says which `spec` fields exist and
//! what type each has. It is the source of the CustomResourceDefinitions in
//! `deploy/` (`cargo xtask crds` renders [`KindSchema::openapi`] into them),
//! so a cluster's API server accepts exactly the shapes the readers of this
//! module accept. The declaration and the readers are kept in agreement by
//! the tests at the end of this file: a sample object built from each
//! declaration must be read without a type error or an unknown field, and
//! every field a reader asks for must be declared.
//!
//! The types follow Emissary's own v3alpha1 CRDs, widened where the readers
//! accept more (a `weight` may be fractional, `ambassador_id` may be one
//! string). A field whose value takes several shapes that an OpenAPI
//! structural schema cannot express (a header value that is a string or
//! `{value, append}`) is declared [`Ty::Any`]: the API server keeps it as
//! written and the reader's diagnostics judge it. The Module's `config` keeps
//! unknown fields, as Emissary's CRD does, so a configuration written for
//! Ambassador Edge Stack still applies; the reader warns about each unknown
//! option.

use serde_json::{Map, Value, json};

/// The type of one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// A string, limited to the listed values when there are any.
    Str(&'static [&'static str]),
    Bool,
    /// An integer, optionally bounded (inclusive).
    Int(Option<i64>, Option<i64>),
    /// Any number, integral or fractional.
    Num,
    /// A list of values of one type.
    List(Box<Ty>),
    /// A mapping from arbitrary keys to values of one type.
    Map(Box<Ty>),
    /// A mapping with declared fields.
    Obj(Obj),
    /// Any value: kept as written, judged by the reader.
    Any,
}

/// A mapping with declared fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj {
    pub fields: Vec<Field>,
    /// Unknown fields are kept (`x-kubernetes-preserve-unknown-fields`)
    /// rather than rejected.
    pub open: bool,
}

/// One field of an [`Obj`].
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// A JSON value for the sample object of the agreement tests, where the
    /// type alone does not give one the reader accepts.
    pub sample: Option<&'static str>,
    /// Declared because Emissary's CRD declares it, so that objects written
    /// for Emissary still apply; the reader does not use it and warns
    /// (`unknown-field`) that it is ignored.
    pub kept: bool,
    /// Another name of a field declared beside it (a Host's camelCase TLS
    /// settings, its `selector` for `mappingSelector`): left out of the
    /// sample object, where the two would collide.
    pub alias: bool,
}

/// A printer column of `kubectl get`.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    pub json_path: &'static str,
    pub ty: &'static str,
}

/// One getambassador.io kind.
#[derive(Debug, Clone, PartialEq)]
pub struct KindSchema {
    pub kind: &'static str,
    pub plural: &'static str,
    pub description: &'static str,
    pub spec: Obj,
    /// False for kinds that are accepted but not translated (DevPortal):
    /// their declaration is Emissary's, and no reader checks it.
    pub translated: bool,
    pub columns: Vec<Column>,
}

impl Ty {
    /// The OpenAPI v3 (structural) schema of this type.
    pub fn openapi(&self) -> Value {
        match self {
            Ty::Str([]) => json!({"type": "string"}),
            Ty::Str(values) => json!({"type": "string", "enum": values}),
            Ty::Bool => json!({"type": "boolean"}),
            Ty::Int(min, max) => {
                let mut m = Map::new();
                m.insert("type".into(), "integer".into());
                if let Some(v) = min {
                    m.insert("minimum".into(), (*v).into());
                }
                if let Some(v) = max {
                    m.insert("maximum".into(), (*v).into());
                }
                Value::Object(m)
            }
            Ty::Num => json!({"type": "number"}),
            Ty::List(t) => json!({"type": "array", "items": t.openapi()}),
            Ty::Map(t) => json!({"type": "object", "additionalProperties": t.openapi()}),
            Ty::Obj(o) => o.openapi(),
            Ty::Any => json!({"x-kubernetes-preserve-unknown-fields": true}),
        }
    }

    /// A value of this type for the agreement tests.
    pub fn sample(&self) -> Value {
        match self {
            Ty::Str(values) => values.first().copied().unwrap_or("x").into(),
            Ty::Bool => true.into(),
            Ty::Int(min, _) => min.unwrap_or(1).max(1).into(),
            Ty::Num => 1.into(),
            Ty::List(t) => json!([t.sample()]),
            Ty::Map(t) => json!({"k": t.sample()}),
            Ty::Obj(o) => o.sample(),
            Ty::Any => Value::String("x".into()),
        }
    }
}

impl Obj {
    /// The OpenAPI v3 (structural) schema of this mapping.
    pub fn openapi(&self) -> Value {
        let mut props = Map::new();
        for f in &self.fields {
            props.insert(f.name.into(), f.ty.openapi());
        }
        let mut m = Map::new();
        m.insert("type".into(), "object".into());
        m.insert("properties".into(), Value::Object(props));
        let required: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        if !required.is_empty() {
            m.insert("required".into(), json!(required));
        }
        if self.open {
            m.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
        }
        Value::Object(m)
    }

    /// A mapping with every declared field, for the agreement tests.
    pub fn sample(&self) -> Value {
        let mut m = Map::new();
        for f in self.fields.iter().filter(|f| !f.alias) {
            let v = match f.sample {
                Some(text) => serde_json::from_str(text).unwrap_or(Value::Null),
                None => f.ty.sample(),
            };
            m.insert(f.name.into(), v);
        }
        Value::Object(m)
    }
}

impl KindSchema {
    /// The OpenAPI v3 schema of a whole object of this kind. `status` is
    /// written by the daemon and kept as written.
    pub fn openapi(&self) -> Value {
        json!({
            "type": "object",
            "description": self.description,
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": self.spec.openapi(),
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            },
        })
    }
}

// Builders, to keep the declarations below short.

const fn s() -> Ty {
    Ty::Str(&[])
}
const fn one_of(values: &'static [&'static str]) -> Ty {
    Ty::Str(values)
}
const fn int() -> Ty {
    Ty::Int(None, None)
}
const fn uint() -> Ty {
    Ty::Int(Some(0), None)
}
const fn range(min: i64, max: i64) -> Ty {
    Ty::Int(Some(min), Some(max))
}
fn list(t: Ty) -> Ty {
    Ty::List(Box::new(t))
}
fn strs() -> Ty {
    list(s())
}
fn map(t: Ty) -> Ty {
    Ty::Map(Box::new(t))
}
fn obj(fields: Vec<Field>) -> Ty {
    Ty::Obj(Obj {
        fields,
        open: false,
    })
}
fn open(fields: Vec<Field>) -> Ty {
    Ty::Obj(Obj { fields, open: true })
}
const fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
        sample: None,
        kept: false,
        alias: false,
    }
}
const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
        sample: None,
        kept: false,
        alias: false,
    }
}
const fn ex(name: &'static str, ty: Ty, sample: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        sample: Some(sample),
        kept: false,
        alias: false,
    }
}
/// `field`, required.
fn must(field: Field) -> Field {
    Field {
        required: true,
        ..field
    }
}
/// Another name of a field declared beside it (see [`Field::alias`]).
const fn alias(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
        sample: None,
        kept: false,
        alias: true,
    }
}
/// A field Emissary's CRD declares and the reader ignores (see [`Field::kept`]).
const fn kept(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
        sample: None,
        kept: true,
        alias: false,
    }
}

/// `ambassador_id`: one string or a list (Emissary's v2 allowed both; the
/// reader does too).
fn ambassador_id() -> Field {
    ex("ambassador_id", Ty::Any, r#"["default"]"#)
}

fn circuit_breakers() -> Field {
    f(
        "circuit_breakers",
        list(obj(vec![
            f("priority", one_of(&["default", "high"])),
            f("max_connections", uint()),
            f("max_pending_requests", uint()),
            f("max_requests", uint()),
            f("max_retries", uint()),
        ])),
    )
}

/// `tls`: the name of a TLSContext, or (v2) `true`.
fn origination_tls() -> Field {
    ex("tls", Ty::Any, r#""ctx""#)
}

fn label_selector() -> Ty {
    obj(vec![
        f("matchLabels", map(s())),
        f(
            "matchExpressions",
            list(obj(vec![
                req("key", s()),
                ex("operator", s(), r#""In""#),
                f("values", strs()),
            ])),
        ),
    ])
}

/// The fields shared by TLSContext and a Host's inline `tls`.
fn tls_settings() -> Vec<Field> {
    vec![
        // One string of comma-separated names (Emissary), or a list.
        ex("alpn_protocols", Ty::Any, r#""h2,http/1.1""#),
        f("ca_secret", s()),
        f("cacert_chain_file", s()),
        f("cert_chain_file", s()),
        f("cert_required", Ty::Bool),
        ex(
            "cipher_suites",
            strs(),
            r#"["ECDHE-RSA-AES128-GCM-SHA256"]"#,
        ),
        f("crl_secret", s()),
        ex("ecdh_curves", strs(), r#"["P-256"]"#),
        f("max_tls_version", one_of(&["v1.3", "v1.2", "v1.1", "v1.0"])),
        f("min_tls_version", one_of(&["v1.2", "v1.3", "v1.1", "v1.0"])),
        f("private_key_file", s()),
        f("redirect_cleartext_from", range(1, 65535)),
        ex("sni", s(), r#""example.com""#),
    ]
}

/// A Host's inline `tls`: TLSContext's settings under their camelCase
/// names, and (as Emissary renames them) under their snake_case names.
fn host_tls() -> Vec<Field> {
    let mut fields = tls_settings();
    fields.push(f("crl_file", s()));
    fields.extend([
        alias("alpnProtocols", Ty::Any),
        alias("caSecret", s()),
        alias("cacertChainFile", s()),
        alias("certChainFile", s()),
        alias("certRequired", Ty::Bool),
        alias("cipherSuites", strs()),
        alias("crlFile", s()),
        alias("crlSecret", s()),
        alias("ecdhCurves", strs()),
        alias("maxTlsVersion", one_of(&["v1.3", "v1.2", "v1.1", "v1.0"])),
        alias("minTlsVersion", one_of(&["v1.2", "v1.3", "v1.1", "v1.0"])),
        alias("privateKeyFile", s()),
        alias("redirectCleartextFrom", range(1, 65535)),
        f("v3CRLSecret", s()),
    ]);
    fields
}

fn header_additions(name: &'static str) -> Field {
    ex(name, map(Ty::Any), r#"{"x-k": "v"}"#)
}

fn mapping() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            must(ex("prefix", s(), r#""/p/""#)),
            must(ex("service", s(), r#""svc""#)),
            f("prefix_regex", Ty::Bool),
            f("prefix_exact", Ty::Bool),
            f("rewrite", s()),
            f(
                "regex_rewrite",
                obj(vec![f("pattern", s()), f("substitution", s())]),
            ),
            ex("hostname", s(), r#""*""#),
            ex("host", s(), r#""*""#),
            f("host_regex", Ty::Bool),
            ex("headers", map(Ty::Any), r#"{"x-h": "v"}"#),
            ex("regex_headers", map(s()), r#"{"x-r": "v.*"}"#),
            ex("query_parameters", map(Ty::Any), r#"{"q": "v"}"#),
            ex("regex_query_parameters", map(s()), r#"{"r": "v.*"}"#),
            ex("method", s(), r#""GET""#),
            f("method_regex", Ty::Bool),
            f("case_sensitive", Ty::Bool),
            f("precedence", int()),
            ex("weight", Ty::Num, "100"),
            ex("shadow", Ty::Bool, "false"),
            f("timeout_ms", uint()),
            f("connect_timeout_ms", uint()),
            f("idle_timeout_ms", uint()),
            f("cluster_idle_timeout_ms", uint()),
            f("cluster_max_connection_lifetime_ms", uint()),
            f(
                "retry_policy",
                obj(vec![
                    f(
                        "retry_on",
                        one_of(&[
                            "5xx",
                            "gateway-error",
                            "connect-failure",
                            "retriable-4xx",
                            "refused-stream",
                            "retriable-status-codes",
                        ]),
                    ),
                    f("num_retries", uint()),
                    ex("per_try_timeout", s(), r#""1s""#),
                ]),
            ),
            f(
                "cors",
                obj(vec![
                    ex("origins", Ty::Any, r#"["https://a.example"]"#),
                    ex("methods", Ty::Any, r#"["GET"]"#),
                    ex("headers", Ty::Any, r#"["x-h"]"#),
                    ex("exposed_headers", Ty::Any, r#"["x-h"]"#),
                    f("credentials", Ty::Bool),
                    ex("max_age", Ty::Any, r#""60""#),
                ]),
            ),
            header_additions("add_request_headers"),
            header_additions("add_response_headers"),
            f("remove_request_headers", Ty::Any),
            f("remove_response_headers", Ty::Any),
            ex("host_redirect", Ty::Bool, "false"),
            f("path_redirect", s()),
            f("prefix_redirect", s()),
            f(
                "regex_redirect",
                obj(vec![f("pattern", s()), f("substitution", s())]),
            ),
            ex(
                "redirect_response_code",
                Ty::Int(Some(301), Some(308)),
                "301",
            ),
            ex("allow_upgrade", strs(), r#"["websocket"]"#),
            f("use_websocket", Ty::Bool),
            ex("grpc", Ty::Bool, "false"),
            f("host_rewrite", s()),
            f("auto_host_rewrite", Ty::Bool),
            circuit_breakers(),
            f(
                "keepalive",
                obj(vec![
                    f("time", uint()),
                    kept("idle_time", uint()),
                    f("interval", uint()),
                    f("probes", uint()),
                ]),
            ),
            f("enable_ipv4", Ty::Bool),
            f("enable_ipv6", Ty::Bool),
            ex("dns_type", s(), r#""strict_dns""#),
            f("respect_dns_ttl", Ty::Bool),
            f("stats_name", s()),
            f("cluster_tag", s()),
            origination_tls(),
            f("bypass_auth", Ty::Bool),
            f("auth_context_extensions", map(s())),
            ex(
                "labels",
                Ty::Any,
                r#"{"ambassador": [{"d": [{"generic_key": {"value": "v"}}]}]}"#,
            ),
            f("priority", s()),
            f("resolver", s()),
            ex("load_balancer", Ty::Any, r#"{"policy": "round_robin"}"#),
            ex(
                "health_checks",
                Ty::Any,
                r#"[{"health_check": {"http": {"path": "/h"}}}]"#,
            ),
            f("docs", Ty::Any),
            f("envoy_override", Ty::Any),
            f("bypass_error_response_overrides", Ty::Bool),
            f("add_linkerd_headers", Ty::Bool),
            f("v3StatsName", s()),
            f("rate_limits", Ty::Any),
            f("modules", Ty::Any),
            ex("error_response_overrides", Ty::Any, "null"),
            ex("outlier_detection", Ty::Any, "null"),
            f("v2BoolHeaders", strs()),
            f("v2BoolQueryParameters", strs()),
            f("v2ExplicitTLS", Ty::Any),
        ],
    }
}

fn host() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            ex("hostname", s(), r#""a.example""#),
            f("tlsSecret", obj(vec![f("name", s()), f("namespace", s())])),
            f("tlsContext", obj(vec![f("name", s())])),
            f("tls", obj(host_tls())),
            f(
                "requestPolicy",
                obj(vec![f(
                    "insecure",
                    obj(vec![
                        f("action", one_of(&["Redirect", "Reject", "Route"])),
                        f("additionalPort", range(-1, 65535)),
                    ]),
                )]),
            ),
            // Read when `mappingSelector` is absent, as Emissary does.
            alias("selector", label_selector()),
            f("mappingSelector", label_selector()),
            f("acmeProvider", Ty::Any),
            f("previewUrl", Ty::Any),
            f("tlsCertificateSource", Ty::Any),
            f("ambassadorId", Ty::Any),
        ],
    }
}

fn listener() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            req("port", range(1, 65535)),
            f(
                "protocol",
                one_of(&[
                    "HTTP",
                    "HTTPS",
                    "HTTPPROXY",
                    "HTTPSPROXY",
                    "TCP",
                    "TLS",
                    "UDP",
                ]),
            ),
            ex(
                "protocolStack",
                list(one_of(&["HTTP", "PROXY", "TLS", "TCP", "UDP"])),
                r#"["TLS", "HTTP", "TCP"]"#,
            ),
            req("securityModel", one_of(&["XFP", "SECURE", "INSECURE"])),
            req(
                "hostBinding",
                obj(vec![
                    f(
                        "namespace",
                        obj(vec![f("from", one_of(&["SELF", "ALL", "SELECTOR"]))]),
                    ),
                    f("selector", label_selector()),
                ]),
            ),
            f("l7Depth", uint()),
            f("statsPrefix", s()),
            ex("bind_address", s(), r#""0.0.0.0""#),
            f("http2MaxConcurrentStreams", uint()),
        ],
    }
}

fn tls_context() -> Obj {
    let mut fields = vec![
        ambassador_id(),
        ex("hosts", strs(), r#"["a.example"]"#),
        f("secret", s()),
        f("secret_namespacing", Ty::Bool),
        f("crl_file", s()),
        f("is_fallback", Ty::Bool),
        f("v3CRLSecret", s()),
    ];
    fields.extend(tls_settings());
    Obj {
        open: false,
        fields,
    }
}

fn module() -> Obj {
    Obj {
        open: false,
        fields: vec![ambassador_id(), f("config", open(module_config()))],
    }
}

/// The `ambassador` Module's options. Options of Ambassador Edge Stack, and
/// options this version does not translate, are kept as written: the
/// reader names each one in a diagnostic.
fn module_config() -> Vec<Field> {
    let mut fields = vec![
        f("use_remote_address", Ty::Bool),
        f("server_name", s()),
        f("cluster_request_timeout_ms", uint()),
        f("regex_max_size", uint()),
        f("merge_slashes", Ty::Bool),
        f("strip_matching_host_port", Ty::Bool),
        f("reject_requests_with_escaped_slashes", Ty::Bool),
        f("preserve_external_request_id", Ty::Bool),
        f("enable_http10", Ty::Bool),
        f("listener_idle_timeout_ms", uint()),
        f("max_request_headers_kb", range(1, 8192)),
        f(
            "headers_with_underscores_action",
            one_of(&["ALLOW", "REJECT_REQUEST", "DROP_HEADER"]),
        ),
        f("enable_ipv4", Ty::Bool),
        f("enable_ipv6", Ty::Bool),
        f("proper_case", Ty::Bool),
        f("resolver", s()),
        f("use_ambassador_namespace_for_service_resolution", Ty::Bool),
        f("lua_scripts", s()),
        f("suppress_envoy_headers", Ty::Bool),
        ex("forward_client_cert_details", s(), r#""SANITIZE""#),
        f("default_label_domain", s()),
        f("buffer_limit_bytes", uint()),
        f("rs_cluster_buffer_limit_bytes", uint()),
        f("rs_http2_max_concurrent_streams", range(0, i32::MAX as i64)),
        ex(
            "rs_http2_initial_stream_window_size",
            range(0, i32::MAX as i64),
            "65536",
        ),
        ex(
            "rs_http2_initial_connection_window_size",
            range(0, i32::MAX as i64),
            "1048576",
        ),
        f("rs_stream_idle_timeout_ms", uint()),
        ex("envoy_log_type", s(), r#""text""#),
        f("envoy_log_path", s()),
    ];
    for key in [
        "retry_policy",
        "cors",
        "load_balancer",
        "diagnostics",
        "liveness_probe",
        "readiness_probe",
        "enable_grpc_http11_bridge",
        "enable_grpc_web",
        "grpc_stats",
        "gzip",
        "buffer",
        "ip_allow",
        "ip_deny",
        "set_current_client_cert_details",
        "default_labels",
        "envoy_log_format",
    ]
    .into_iter()
    // Options whose reader names every problem, and those with no effect.
    .chain(super::module::MODULE_ANY.iter().copied())
    .chain(super::module::MODULE_INERT.iter().map(|(k, _)| *k))
    {
        let sample = match key {
            "circuit_breakers" => "[]",
            "admin_port" => "8001",
            "cluster_idle_timeout_ms" | "cluster_max_connection_lifetime_ms" => "60000",
            "add_linkerd_headers" | "allow_chunked_length" => "true",
            "header_case_overrides" => "[]",
            "ip_allow" => r#"[{"remote": "10.0.0.0/8"}]"#,
            "ip_deny" => "null",
            "envoy_log_format" => r#""%START_TIME%""#,
            "buffer" => r#"{"max_request_bytes": 1}"#,
            "load_balancer" => r#"{"policy": "round_robin"}"#,
            _ => "{}",
        };
        fields.push(ex(key, Ty::Any, sample));
    }
    fields
}

fn tcp_mapping() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            req("port", range(1, 65535)),
            ex("service", s(), r#""svc:9000""#),
            ex("address", s(), r#""0.0.0.0""#),
            ex("host", s(), r#""a.example""#),
            f("weight", uint()),
            origination_tls(),
            f("enable_ipv4", Ty::Bool),
            f("enable_ipv6", Ty::Bool),
            f("resolver", s()),
            circuit_breakers(),
            f("cluster_tag", s()),
            f("stats_name", s()),
            ex("idle_timeout_ms", Ty::Any, "1000"),
            f("v2ExplicitTLS", Ty::Any),
        ],
    }
}

fn auth_service() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            must(ex("auth_service", s(), r#""auth:3000""#)),
            f("proto", one_of(&["http", "grpc"])),
            f("protocol_version", one_of(&["v3", "v2"])),
            f("path_prefix", s()),
            f("timeout_ms", uint()),
            origination_tls(),
            f(
                "include_body",
                obj(vec![
                    req("max_bytes", uint()),
                    req("allow_partial", Ty::Bool),
                ]),
            ),
            f("allow_request_body", Ty::Bool),
            f("status_on_error", obj(vec![f("code", range(100, 599))])),
            f("failure_mode_allow", Ty::Bool),
            f("add_linkerd_headers", Ty::Bool),
            f("stats_name", s()),
            f("allowed_request_headers", strs()),
            f("allowed_authorization_headers", strs()),
            f("add_auth_headers", map(s())),
            circuit_breakers(),
            f("v3StatsName", s()),
            f("v2ExplicitTLS", Ty::Any),
            f("allowed_headers", strs()),
            f("apiVersion", s()),
            f("cluster_idle_timeout_ms", uint()),
            f("cluster_max_connection_lifetime_ms", uint()),
            f("connect_timeout_ms", uint()),
        ],
    }
}

fn rate_limit_service() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            must(ex("service", s(), r#""rl:5000""#)),
            f("protocol_version", one_of(&["v3", "v2"])),
            f("domain", s()),
            f("timeout_ms", uint()),
            origination_tls(),
            f("failure_mode_deny", Ty::Bool),
            f(
                "grpc",
                obj(vec![
                    kept("use_resource_exhausted_code", Ty::Bool),
                    f("rate_limited_as_resource_exhausted", Ty::Bool),
                ]),
            ),
            f("stats_name", s()),
            f("v3StatsName", s()),
            f("v2ExplicitTLS", Ty::Any),
        ],
    }
}

fn log_service() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            must(ex("service", s(), r#""als:9001""#)),
            f("driver", one_of(&["http", "tcp"])),
            f(
                "driver_config",
                obj(vec![f(
                    "additional_log_headers",
                    list(obj(vec![
                        must(ex("header_name", s(), r#""x-h""#)),
                        f("during_request", Ty::Bool),
                        f("during_response", Ty::Bool),
                        f("during_trailer", Ty::Bool),
                    ])),
                )]),
            ),
            f("flush_interval_time", uint()),
            f("flush_interval_byte_size", uint()),
            f("grpc", Ty::Bool),
            f("protocol_version", one_of(&["v3", "v2"])),
            f("stats_name", s()),
        ],
    }
}

fn tracing_service() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            must(ex("service", s(), r#""zipkin:9411""#)),
            req(
                "driver",
                one_of(&["zipkin", "lightstep", "datadog", "opentelemetry"]),
            ),
            f(
                "config",
                obj(vec![
                    f("access_token_file", s()),
                    f("collector_cluster", s()),
                    ex("collector_endpoint", s(), r#""/api/v2/spans""#),
                    f(
                        "collector_endpoint_version",
                        one_of(&["HTTP_JSON", "HTTP_PROTO", "HTTP_JSON_V1"]),
                    ),
                    f("collector_hostname", s()),
                    f(
                        "propagation_modes",
                        list(one_of(&["ENVOY", "LIGHTSTEP", "B3", "TRACE_CONTEXT"])),
                    ),
                    f("service_name", s()),
                    f("shared_span_context", Ty::Bool),
                    f("trace_id_128bit", Ty::Bool),
                ]),
            ),
            f(
                "sampling",
                obj(vec![
                    f("client", range(0, 100)),
                    f("overall", range(0, 100)),
                    f("random", range(0, 100)),
                ]),
            ),
            f("tag_headers", strs()),
            ex(
                "custom_tags",
                list(obj(vec![
                    req("tag", s()),
                    f("literal", obj(vec![req("value", s())])),
                    f(
                        "environment",
                        obj(vec![req("name", s()), f("default_value", s())]),
                    ),
                    f(
                        "request_header",
                        obj(vec![req("name", s()), f("default_value", s())]),
                    ),
                ])),
                r#"[{"tag": "t", "literal": {"value": "v"}}]"#,
            ),
            f("stats_name", s()),
        ],
    }
}

fn consul_resolver() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            ex("address", s(), r#""consul:8500""#),
            must(ex("datacenter", s(), r#""dc1""#)),
        ],
    }
}

fn plain_resolver() -> Obj {
    Obj {
        open: false,
        fields: vec![ambassador_id()],
    }
}

fn dev_portal() -> Obj {
    Obj {
        open: false,
        fields: vec![
            ambassador_id(),
            f(
                "content",
                obj(vec![f("url", s()), f("branch", s()), f("dir", s())]),
            ),
            f("default", Ty::Bool),
            f(
                "docs",
                list(obj(vec![
                    f("service", s()),
                    f("timeout_ms", uint()),
                    f("url", s()),
                ])),
            ),
            f("naming_scheme", one_of(&["namespace.name", "name.prefix"])),
            f("preserve_servers", Ty::Bool),
            f(
                "search",
                obj(vec![
                    f("enabled", Ty::Bool),
                    f("type", one_of(&["title-only", "all-content"])),
                ]),
            ),
            f(
                "selector",
                obj(vec![
                    f("matchLabels", map(s())),
                    f("matchNamespaces", strs()),
                ]),
            ),
        ],
    }
}

fn kind(
    kind: &'static str,
    plural: &'static str,
    description: &'static str,
    spec: Obj,
) -> KindSchema {
    KindSchema {
        kind,
        plural,
        description,
        spec,
        translated: true,
        columns: Vec::new(),
    }
}

const fn col(name: &'static str, json_path: &'static str, ty: &'static str) -> Column {
    Column {
        name,
        json_path,
        ty,
    }
}

/// Every getambassador.io kind, in the order the CRDs are rendered.
pub fn kinds() -> Vec<KindSchema> {
    let ready = || {
        col(
            "Ready",
            ".status.conditions[?(@.type==\"Ready\")].status",
            "string",
        )
    };
    vec![
        KindSchema {
            columns: vec![
                col("Source Host", ".spec.hostname", "string"),
                col("Source Prefix", ".spec.prefix", "string"),
                col("Dest Service", ".spec.service", "string"),
                ready(),
            ],
            ..kind(
                "Mapping",
                "mappings",
                "Mapping routes HTTP requests matching a prefix (and headers, method, host) to a service.",
                mapping(),
            )
        },
        KindSchema {
            columns: vec![
                col("Hostname", ".spec.hostname", "string"),
                col("State", ".status.state", "string"),
                ready(),
            ],
            ..kind(
                "Host",
                "hosts",
                "Host names a hostname served by Emissary, its TLS certificate and its cleartext policy.",
                host(),
            )
        },
        KindSchema {
            columns: vec![
                col("Port", ".spec.port", "integer"),
                col("Protocol", ".spec.protocol", "string"),
                col("Security", ".spec.securityModel", "string"),
                ready(),
            ],
            ..kind(
                "Listener",
                "listeners",
                "Listener opens a port on Envoy and says which Hosts it serves.",
                listener(),
            )
        },
        kind(
            "TLSContext",
            "tlscontexts",
            "TLSContext holds TLS settings for hostnames, or for origination when named by a Mapping.",
            tls_context(),
        ),
        kind(
            "Module",
            "modules",
            "Module holds global settings; the Module named `ambassador` configures Emissary.",
            module(),
        ),
        kind(
            "TCPMapping",
            "tcpmappings",
            "TCPMapping forwards the TCP connections of a port (and SNI) to a service.",
            tcp_mapping(),
        ),
        kind(
            "AuthService",
            "authservices",
            "AuthService sends requests to an external authorization service before routing.",
            auth_service(),
        ),
        kind(
            "RateLimitService",
            "ratelimitservices",
            "RateLimitService names the rate limit service that Mapping labels are sent to.",
            rate_limit_service(),
        ),
        kind(
            "LogService",
            "logservices",
            "LogService sends Envoy's access logs to a gRPC access log service.",
            log_service(),
        ),
        kind(
            "TracingService",
            "tracingservices",
            "TracingService sends traces to Zipkin, Datadog, Lightstep or OpenTelemetry.",
            tracing_service(),
        ),
        kind(
            "KubernetesServiceResolver",
            "kubernetesserviceresolvers",
            "KubernetesServiceResolver resolves a Mapping's service to its Service's cluster IP.",
            plain_resolver(),
        ),
        kind(
            "KubernetesEndpointResolver",
            "kubernetesendpointresolvers",
            "KubernetesEndpointResolver resolves a Mapping's service to the endpoints of its Service.",
            plain_resolver(),
        ),
        kind(
            "ConsulResolver",
            "consulresolvers",
            "ConsulResolver resolves a Mapping's service through Consul.",
            consul_resolver(),
        ),
        KindSchema {
            translated: false,
            ..kind(
                "DevPortal",
                "devportals",
                "DevPortal configures Ambassador Edge Stack's developer portal; accepted and not translated.",
                dev_portal(),
            )
        },
    ]
}

#[cfg(test)]
mod tests;
