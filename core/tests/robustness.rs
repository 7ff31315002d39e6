//! Robustness of the translation core: evidence for the claim "no input panics".
//!
//! `emissary_core::translate` is total: whatever text it is given, it returns
//! a `Translation` (never panics, never fails), and building Envoy messages
//! from that translation (`bootstrap()`, `resources(Mode::Ads)`) and rendering
//! them to JSON does not panic either. This file checks that with:
//!
//! 1. property tests over *structured but hostile* manifests — multi-document
//!    YAML of getambassador.io kinds (v2, v3alpha1, unknown versions) and core
//!    Secrets whose fields come from the real field names and whose values
//!    are of every wrong type (numbers for strings, lists, maps, null, huge
//!    and negative integers, floats, unicode, empty strings, pathological
//!    regexes) — over random mutations of the golden inputs
//!    (`tests/golden/*/*/input.yaml`: lines deleted, duplicated, re-indented,
//!    truncated, YAML indicators inserted) and over YAML-ish character soup;
//!    for each, every diagnostic span must lie inside its file, on char
//!    boundaries, and resolve to a line/column in every encoding;
//! 2. deterministic edge cases: 10 MB documents, 100,000-deep flow nesting,
//!    10,000-deep block nesting, an alias bomb, 20,000 documents, NUL and
//!    control characters, CRLF / CR line ends, byte order marks, empty input
//!    and `---`-only input, each with the diagnostic it must produce;
//! 3. determinism: the same input twice gives byte-identical JSON, and the
//!    same documents split across two files give the same Envoy output.
//!
//! The property tests run 256 cases each by default; set `PROPTEST_CASES` to
//! change that. The last section holds regression tests for problems these
//! tests found (an unclosed flow collection swallowing later documents, and
//! syntax-error recovery that was quadratic).

// The test reads the golden inputs from disk; the core itself stays pure.
#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::LazyLock;

use emissary_core::diag::Diagnostic;
use emissary_core::diag::PositionEncoding;
use emissary_core::xds::Mode;
use emissary_core::{Inputs, Options, SourceFile, Translation, translate};
use proptest::prelude::*;
use proptest::sample::{Index, select};

// ---------------------------------------------------------------------------
// The checks every input goes through.
// ---------------------------------------------------------------------------

/// What one translation rendered to: the static Bootstrap and the ADS
/// resources as JSON, and the diagnostics as JSON.
#[derive(Debug, PartialEq, Eq)]
struct Rendered {
    bootstrap: String,
    ads: String,
    diagnostics: String,
}

fn inputs(files: &[&str], options: Options) -> Inputs {
    Inputs {
        files: files
            .iter()
            .enumerate()
            .map(|(i, t)| SourceFile {
                name: format!("f{i}.yaml"),
                text: (*t).to_string(),
            })
            .collect(),
        options,
    }
}

/// Translates, checks every diagnostic span, builds and renders the Envoy
/// output. Panics (fails the test) on any violated invariant.
fn check_inputs(inputs: &Inputs) -> (Translation, Rendered) {
    let t = translate(inputs);
    check_spans(inputs, &t);
    // The renderers must cope with every span too.
    let _ = t.render_diagnostics();
    let _ = emissary_core::diag::render_short(&t.diagnostics, &t.sources);
    let bootstrap = serde_json::to_string(&t.bootstrap()).expect("bootstrap renders to JSON");
    let ads = serde_json::to_string(&t.resources(Mode::Ads)).expect("ADS resources render to JSON");
    let diagnostics = serde_json::to_string(&t.diagnostics).expect("diagnostics render to JSON");
    (
        t,
        Rendered {
            bootstrap,
            ads,
            diagnostics,
        },
    )
}

fn check(files: &[&str], options: Options) -> (Translation, Rendered) {
    check_inputs(&inputs(files, options))
}

fn check_one(text: &str) -> (Translation, Rendered) {
    check(&[text], Options::default())
}

fn check_spans(inputs: &Inputs, t: &Translation) {
    assert_eq!(t.sources.files(), inputs.files.len(), "one source per file");
    for d in &t.diagnostics {
        assert!(!d.code.is_empty(), "diagnostic without a code: {d:?}");
        let Some(span) = d.span else { continue };
        let file = inputs
            .files
            .get(span.file as usize)
            .unwrap_or_else(|| panic!("span of an unknown file: {d:?}"));
        let text = &file.text;
        let (start, end) = (span.start as usize, span.end as usize);
        assert!(
            start <= end && end <= text.len(),
            "span {start}..{end} outside a file of {} bytes: {d:?}",
            text.len()
        );
        assert!(
            text.is_char_boundary(start) && text.is_char_boundary(end),
            "span {start}..{end} not on char boundaries: {d:?}"
        );
        for enc in [
            PositionEncoding::Utf8Bytes,
            PositionEncoding::Utf8Chars,
            PositionEncoding::Utf16,
        ] {
            let pos = t
                .sources
                .position(span, enc)
                .unwrap_or_else(|| panic!("no {enc:?} position for {d:?}"));
            assert!(pos.line >= 1 && pos.col >= 1, "{pos:?} for {d:?}");
            assert!(
                (pos.line, pos.col) <= (pos.end_line, pos.end_col),
                "{pos:?} ends before it starts: {d:?}"
            );
        }
    }
}

fn has_code(t: &Translation, code: &str) -> bool {
    t.diagnostics.iter().any(|d| d.code == code)
}

fn codes(t: &Translation) -> Vec<&'static str> {
    let mut c: Vec<&'static str> = t.diagnostics.iter().map(|d: &Diagnostic| d.code).collect();
    c.dedup();
    c
}

// ---------------------------------------------------------------------------
// Structured hostile manifests.
// ---------------------------------------------------------------------------

/// A YAML value to render: raw scalar text (a plain scalar that is safe in
/// flow context, a double-quoted string, or a complete flow collection), a
/// list, or a mapping.
#[derive(Debug, Clone)]
enum V {
    Raw(String),
    List(Vec<V>),
    Map(Vec<(String, V)>),
}

fn raw(s: &str) -> V {
    V::Raw(s.to_string())
}

/// A double-quoted YAML scalar (JSON string syntax is valid YAML).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Renders a value in flow style.
fn flow(v: &V, out: &mut String) {
    match v {
        V::Raw(s) => out.push_str(s),
        V::List(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(it, out);
            }
            out.push(']');
        }
        V::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                flow(v, out);
            }
            out.push('}');
        }
    }
}

/// Renders a mapping's entries in block style at `indent`.
fn block_map(entries: &[(String, V)], indent: usize, out: &mut String) {
    for (k, v) in entries {
        let _ = write!(out, "{:indent$}{k}:", "");
        match v {
            V::Map(m) if !m.is_empty() => {
                out.push('\n');
                block_map(m, indent + 2, out);
            }
            V::List(items) if !items.is_empty() => {
                out.push('\n');
                for it in items {
                    let _ = write!(out, "{:w$}- ", "", w = indent + 2);
                    flow(it, out);
                    out.push('\n');
                }
            }
            _ => {
                out.push(' ');
                flow(v, out);
                out.push('\n');
            }
        }
    }
}

/// Plain scalars of every type, safe in flow and block context.
const PLAIN: &[&str] = &[
    "0",
    "1",
    "-1",
    "80",
    "8080",
    "65535",
    "65536",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999999999",
    "0x7fffffff",
    "0o17",
    "017",
    "0b101",
    "1:30",
    "1_000",
    "3.14",
    "-0.0",
    "1e400",
    "1.0e+400",
    ".nan",
    ".inf",
    "-.inf",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "null",
    "~",
    "a",
    "default",
    "quote",
    "HTTP",
    "/",
    "/a/",
    "/a/(.*)",
    "héllo",
    "日本語",
    "🌍",
    "[]",
    "{}",
    "[[]]",
    "[{}]",
    "{a: {}}",
    "[1, [2, [3]]]",
    "!!str 1",
    "!!int x",
    "!!float 1",
    "!!null x",
    "!!bool yes",
    "!!binary aGk=",
    "!custom 1",
];

/// Hostile string contents (rendered double-quoted).
const STRINGS: &[&str] = &[
    "",
    " ",
    "\t",
    "null",
    "true",
    "1",
    "-1",
    "65536",
    "(?=x)",
    "(?!x)",
    "(?<=x)",
    "a{1000}{1000}",
    "(a{1000}){1000}",
    "x{99999}",
    "[",
    "(",
    ")",
    "\\",
    "\\\\",
    "\\p{Nope}",
    "\\1",
    "(a)\\1",
    ".*",
    "^/api/(.*)$",
    "*",
    "**",
    "*.example.com",
    "foo.*.bar",
    "a.example.com",
    "a.example.com:8443",
    "[::1]:80",
    "http://x",
    "https://svc:99999",
    "tcp://svc",
    "svc:-1",
    "svc:0",
    "svc:abc",
    "svc.ns:8080",
    "a b",
    "/a b/",
    "//",
    "/../",
    "%00",
    "\u{0}",
    "\u{1}\u{2}\u{7f}",
    "\r\n",
    "\u{fffd}",
    "\u{feff}",
    "\u{2028}\u{2029}",
    "\u{200b}",
    "é",
    "🌍🌍",
    "x\u{301}",
    "ǅ",
    "İ",
    "ß",
    "---",
    "...",
    "#",
    "&a",
    "*a",
    "{{",
    "}}",
    "${VAR}",
    "v1.2",
    "v1.9",
    "3s",
    "1.5s",
    "-5s",
    "1e99s",
    "Redirect",
    "Route",
    "Reject",
    "ALL",
    "SELF",
    "kubernetes.io/tls",
    "!!!not base64",
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
];

fn scalar() -> impl Strategy<Value = V> {
    prop_oneof![
        8 => select(PLAIN).prop_map(raw),
        8 => select(STRINGS).prop_map(|s| V::Raw(quoted(s))),
        2 => any::<i64>().prop_map(|i| V::Raw(i.to_string())),
        1 => any::<u64>().prop_map(|i| V::Raw(format!("{i}0"))),
        1 => any::<f64>().prop_map(|f| V::Raw(quoted(&f.to_string()))),
        2 => "\\PC{0,24}".prop_map(|s| V::Raw(quoted(&s))),
        1 => "[\\x00-\\x1f\\x7f\\u{fffd}\\u{feff}\\u{2028}\\u{10ffff}]{0,8}"
            .prop_map(|s| V::Raw(quoted(&s))),
        1 => (1usize..3000, select(&["a", "é", "🌍", "(", "a*"][..]))
            .prop_map(|(n, c)| V::Raw(quoted(&c.repeat(n)))),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => select(FIELDS).prop_map(str::to_string),
        1 => select(STRINGS).prop_map(quoted),
        1 => select(&["1", "null", "true", "-1", "3.5", "\"\"", "x-a", "\":authority\""][..])
            .prop_map(str::to_string),
    ]
}

/// Any value: scalars, lists and mappings up to three levels deep.
fn value() -> impl Strategy<Value = V> {
    scalar().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(V::List),
            prop::collection::vec((key(), inner), 0..5).prop_map(V::Map),
        ]
    })
}

/// Every field name the model reads, across kinds.
const FIELDS: &[&str] = &[
    "prefix",
    "prefix_regex",
    "prefix_exact",
    "service",
    "hostname",
    "host",
    "host_regex",
    "headers",
    "regex_headers",
    "query_parameters",
    "regex_query_parameters",
    "method",
    "method_regex",
    "weight",
    "shadow",
    "host_redirect",
    "path_redirect",
    "prefix_redirect",
    "regex_redirect",
    "redirect_response_code",
    "regex_rewrite",
    "rewrite",
    "host_rewrite",
    "auto_host_rewrite",
    "case_sensitive",
    "timeout_ms",
    "idle_timeout_ms",
    "connect_timeout_ms",
    "cluster_idle_timeout_ms",
    "cluster_max_connection_lifetime_ms",
    "circuit_breakers",
    "cors",
    "add_request_headers",
    "add_response_headers",
    "remove_request_headers",
    "remove_response_headers",
    "retry_policy",
    "load_balancer",
    "precedence",
    "dns_type",
    "allow_upgrade",
    "use_websocket",
    "grpc",
    "bypass_auth",
    "cluster_tag",
    "stats_name",
    "envoy_override",
    "keepalive",
    "labels",
    "tls",
    "port",
    "protocol",
    "protocolStack",
    "securityModel",
    "hostBinding",
    "statsPrefix",
    "l7Depth",
    "tlsSecret",
    "tlsContext",
    "requestPolicy",
    "mappingSelector",
    "selector",
    "acmeProvider",
    "previewUrl",
    "hosts",
    "secret",
    "ca_secret",
    "cert_required",
    "alpn_protocols",
    "min_tls_version",
    "max_tls_version",
    "cipher_suites",
    "ecdh_curves",
    "redirect_cleartext_from",
    "sni",
    "secret_namespacing",
    "address",
    "ambassador_id",
    "config",
    "name",
    "namespace",
];

/// Fields most relevant to each kind (the rest still appear, less often).
fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Mapping" => &[
            "prefix",
            "prefix",
            "service",
            "service",
            "hostname",
            "hostname",
            "prefix_regex",
            "prefix_exact",
            "host",
            "host_regex",
            "headers",
            "regex_headers",
            "query_parameters",
            "regex_query_parameters",
            "method",
            "method_regex",
            "weight",
            "shadow",
            "host_redirect",
            "path_redirect",
            "prefix_redirect",
            "regex_redirect",
            "redirect_response_code",
            "regex_rewrite",
            "rewrite",
            "host_rewrite",
            "case_sensitive",
            "timeout_ms",
            "idle_timeout_ms",
            "connect_timeout_ms",
            "circuit_breakers",
            "cors",
            "add_request_headers",
            "add_response_headers",
            "remove_request_headers",
            "remove_response_headers",
            "retry_policy",
            "load_balancer",
            "precedence",
            "dns_type",
            "allow_upgrade",
            "tls",
            "labels",
            "ambassador_id",
        ],
        "Host" => &[
            "hostname",
            "hostname",
            "tlsSecret",
            "tls",
            "tlsContext",
            "requestPolicy",
            "mappingSelector",
            "selector",
            "acmeProvider",
            "ambassador_id",
        ],
        "Listener" => &[
            "port",
            "port",
            "protocol",
            "protocolStack",
            "securityModel",
            "securityModel",
            "hostBinding",
            "hostBinding",
            "statsPrefix",
            "l7Depth",
            "ambassador_id",
        ],
        "TLSContext" => &[
            "hosts",
            "secret",
            "ca_secret",
            "cert_required",
            "alpn_protocols",
            "min_tls_version",
            "max_tls_version",
            "cipher_suites",
            "ecdh_curves",
            "redirect_cleartext_from",
            "sni",
            "secret_namespacing",
            "ambassador_id",
        ],
        "Module" => &["config", "config", "config", "ambassador_id"],
        "TCPMapping" => &[
            "port",
            "service",
            "host",
            "address",
            "tls",
            "weight",
            "idle_timeout_ms",
            "ambassador_id",
        ],
        _ => FIELDS,
    }
}

/// Plausible (often valid, sometimes subtly wrong) values of one field, as
/// flow YAML.
fn plausible(field: &str) -> &'static [&'static str] {
    match field {
        "prefix" | "path_redirect" | "prefix_redirect" | "rewrite" => &[
            "/",
            "/a/",
            "/b/",
            "/a/b",
            "\"\"",
            "/(.*)",
            "/héllo/",
            "\"/a b/\"",
            "\"[\"",
            "\"(?=x)\"",
            "a",
        ],
        "prefix_regex" | "prefix_exact" | "host_regex" | "method_regex" | "shadow"
        | "host_redirect" | "case_sensitive" | "allow_upgrade" | "cert_required"
        | "secret_namespacing" | "auto_host_rewrite" | "grpc" | "bypass_auth" => {
            &["true", "false", "yes", "\"true\"", "1", "null"]
        }
        "service" => &[
            "quote",
            "quote:8080",
            "\"quote:8080\"",
            "\"https://quote\"",
            "\"http://quote:80\"",
            "quote.ns",
            "\"quote.ns:99999\"",
            "\"[::1]:80\"",
            "\"tcp://x\"",
            "\"\"",
            "\"a b\"",
            "\"quote:-1\"",
            "\"quote:0\"",
            "\"ünïcode\"",
        ],
        "hostname" | "host" | "host_rewrite" | "sni" | "address" => &[
            "\"*\"",
            "a.example.com",
            "b.example.com",
            "\"*.example.com\"",
            "\"a.*.com\"",
            "\"*.*\"",
            "\"example.com:8443\"",
            "\"\"",
            "\"bücher.example\"",
            "\"(.*).example.com\"",
            "\"[\"",
        ],
        "headers" | "query_parameters" => &[
            "{x-a: b}",
            "{x-a: true}",
            "{x-a: false}",
            "{x-a: \"\"}",
            "{\":authority\": a.example.com}",
            "{x-a: [1, 2]}",
            "{x-a: {b: c}}",
            "{}",
            "[x-a]",
        ],
        "regex_headers" | "regex_query_parameters" => &[
            "{x-a: \"(?=x)\"}",
            "{x-a: \"a{1000}{1000}\"}",
            "{x-a: \"[\"}",
            "{x-a: \"\\\\\"}",
            "{x-a: \".*\"}",
            "{x-a: \"^v[0-9]+$\"}",
            "{x-a: 1}",
        ],
        "method" => &["GET", "POST", "\"\"", "\"G E T\"", "get", "\"(\""],
        "weight" => &["0", "10", "50", "100", "101", "-1", "1.5", "\"50\""],
        "timeout_ms"
        | "idle_timeout_ms"
        | "connect_timeout_ms"
        | "cluster_idle_timeout_ms"
        | "cluster_max_connection_lifetime_ms" => &[
            "0",
            "3000",
            "-1",
            "99999999999999",
            "18446744073709551615",
            "\"3s\"",
            "1.5",
        ],
        "precedence" | "redirect_response_code" | "l7Depth" => {
            &["0", "10", "-10", "301", "302", "307", "999", "99999999999"]
        }
        "circuit_breakers" => &[
            "[{priority: default, max_connections: 10}]",
            "[{priority: high, max_requests: -1}]",
            "[{priority: x}]",
            "[{max_retries: 3}, {max_retries: 4}]",
            "[{max_pending_requests: 99999999999999999}]",
            "{priority: default}",
        ],
        "tls" => &[
            "true",
            "false",
            "ctx",
            "\"\"",
            "{}",
            "{min_tls_version: v1.2, max_tls_version: v1.3, alpn_protocols: h2}",
            "{min_tls_version: v1.3, max_tls_version: v1.0}",
            "{cipher_suites: [a, b], ecdh_curves: X25519}",
            "{ca_secret: tls-cert, cert_required: true}",
        ],
        "port" => &[
            "8080", "8443", "80", "0", "65535", "65536", "-1", "\"8080\"", "8080.5",
        ],
        "protocol" => &[
            "HTTP",
            "HTTPS",
            "HTTPPROXY",
            "HTTPSPROXY",
            "TCP",
            "TLS",
            "UDP",
            "http",
            "\"\"",
        ],
        "protocolStack" => &[
            "[HTTP, TCP]",
            "[PROXY, HTTP, TCP]",
            "[TLS, HTTP, TCP]",
            "[TLS, TCP]",
            "[UDP]",
            "[]",
            "[TLS, TLS]",
            "[x]",
            "HTTP",
        ],
        "securityModel" => &["XFP", "SECURE", "INSECURE", "x", "\"\""],
        "hostBinding" => &[
            "{namespace: {from: ALL}}",
            "{namespace: {from: SELF}}",
            "{namespace: {from: x}}",
            "{selector: {matchLabels: {a: b}}}",
            "{selector: {matchExpressions: [{key: a, operator: In, values: [b]}]}}",
            "{namespace: {from: ALL}, selector: {matchLabels: {}}}",
            "{}",
        ],
        "tlsSecret" => &[
            "{name: tls-cert}",
            "{name: tls-cert, namespace: other}",
            "{name: bad-cert}",
            "{}",
            "{name: missing}",
            "tls-cert",
        ],
        "tlsContext" => &["{name: ctx}", "{name: missing}", "{}", "ctx"],
        "requestPolicy" => &[
            "{insecure: {action: Redirect}}",
            "{insecure: {action: Route}}",
            "{insecure: {action: Reject}}",
            "{insecure: {action: Redirect, additionalPort: 8080}}",
            "{insecure: {action: Route, additionalPort: -1}}",
            "{insecure: {additionalPort: 99999}}",
            "{insecure: {action: x}}",
            "{insecure: []}",
        ],
        "mappingSelector" | "selector" => &[
            "{matchLabels: {a: b}}",
            "{matchLabels: {}}",
            "{matchLabels: {a: 1}}",
            "{matchExpressions: [{key: a, operator: Exists}]}",
        ],
        "labels" => &["{a: b}", "{a: c}", "{a: 1}", "{\"\": \"\"}", "[a]"],
        "ambassador_id" => &[
            "default",
            "[default]",
            "[blue, default]",
            "blue",
            "[]",
            "[1]",
            "\"\"",
        ],
        "config" => &[
            "{regex_max_size: 200}",
            "{regex_max_size: 1}",
            "{regex_max_size: -1}",
            "{use_remote_address: false, xff_num_trusted_hops: 2}",
            "{x_forwarded_proto_redirect: true}",
            "{server_name: x, merge_slashes: true}",
            "{cors: {origins: \"*\"}}",
            "{max_request_headers_kb: 99999999}",
            "{strip_matching_host_port: true}",
            "{listener_idle_timeout_ms: -5}",
            "{circuit_breakers: [{max_connections: 1}]}",
            "{retry_policy: {retry_on: 5xx}}",
            "{load_balancer: {policy: ring_hash}}",
            "{add_linkerd_headers: true, allow_chunked_length: true}",
            "{headers_with_underscores_action: DROP_HEADER}",
            "{envoy_log_type: json, diagnostics: {enabled: false}}",
        ],
        "regex_rewrite" => &[
            "{pattern: \"/a/(.*)\", substitution: \"/\\\\1\"}",
            "{pattern: \"(?=x)\", substitution: x}",
            "{pattern: \"[\"}",
            "{substitution: x}",
            "{pattern: \"a{1000}{1000}\", substitution: \"\"}",
        ],
        "cors" => &[
            "{origins: [a], methods: GET, max_age: \"10\"}",
            "{origins: \"*\", credentials: true, exposed_headers: [x]}",
            "{origins: 1}",
        ],
        "add_request_headers" | "add_response_headers" => &[
            "{x-a: b}",
            "{x-a: {value: b, append: false}}",
            "{x-a: [1]}",
            "{\"\": x}",
        ],
        "remove_request_headers" | "remove_response_headers" => &["[x-a]", "x-a", "[1, []]"],
        "retry_policy" => &[
            "{retry_on: 5xx, num_retries: 3, per_try_timeout: 1s}",
            "{num_retries: -1}",
            "{per_try_timeout: x}",
        ],
        "load_balancer" => &[
            "{policy: round_robin}",
            "{policy: ring_hash, header: x}",
            "{policy: maglev, cookie: {name: c}}",
            "{policy: x}",
        ],
        "dns_type" => &["strict_dns", "logical_dns", "x"],
        "hosts" | "alpn_protocols" | "cipher_suites" | "ecdh_curves" => &[
            "[a.example.com]",
            "[\"*\"]",
            "[]",
            "a.example.com",
            "[h2, http/1.1]",
            "[[]]",
        ],
        "secret" | "ca_secret" => &[
            "tls-cert",
            "bad-cert",
            "\"tls-cert.default\"",
            "\"tls-cert.other\"",
            "missing",
            "\"\"",
        ],
        "min_tls_version" | "max_tls_version" => &["v1.0", "v1.2", "v1.3", "v9", "\"\""],
        "redirect_cleartext_from" => &["8080", "-1", "\"x\""],
        _ => &["x", "1", "true"],
    }
}

/// A value of one field: mostly plausible for it, sometimes of any type.
fn field_value(field: &'static str) -> impl Strategy<Value = V> {
    prop_oneof![
        8 => select(plausible(field)).prop_map(raw),
        1 => value(),
    ]
}

/// One spec field: a name (mostly one this kind reads) and its value.
fn spec_entry(kind: &'static str) -> impl Strategy<Value = (String, V)> {
    let name = prop_oneof![
        6 => select(kind_fields(kind)),
        1 => select(FIELDS),
    ];
    name.prop_flat_map(|name| (Just(name.to_string()), field_value(name)))
}

/// The fields an object of `kind` needs to be used at all.
fn required_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Mapping" => &["prefix", "service", "hostname"],
        "Host" => &["hostname"],
        "Listener" => &["port", "protocol", "securityModel", "hostBinding"],
        "TLSContext" => &["hosts", "secret"],
        "Module" => &["config"],
        "TCPMapping" => &["port", "service"],
        _ => &[],
    }
}

/// The spec of one object: its required fields (each usually present) and
/// a few more.
fn spec_entries(kind: &'static str) -> impl Strategy<Value = Vec<(String, V)>> {
    let required: Vec<_> = required_fields(kind)
        .iter()
        .map(|&f| prop::option::weighted(0.9, field_value(f).prop_map(move |v| (f.to_string(), v))))
        .collect();
    let extra = prop::collection::vec(spec_entry(kind), 0..5);
    (required, extra)
        .prop_map(|(required, extra)| required.into_iter().flatten().chain(extra).collect())
}

const KINDS: &[&str] = &[
    "Mapping",
    "Mapping",
    "Mapping",
    "Mapping",
    "Host",
    "Host",
    "Listener",
    "Listener",
    "TLSContext",
    "Module",
    "TCPMapping",
    "TCPMapping",
    "AuthService",
    "Secret",
    "Secret",
    "Nope",
];

const API_VERSIONS: &[&str] = &[
    "getambassador.io/v3alpha1",
    "getambassador.io/v3alpha1",
    "getambassador.io/v3alpha1",
    "getambassador.io/v3alpha1",
    "getambassador.io/v2",
    "getambassador.io/v2",
    "getambassador.io/v2",
    "getambassador.io/v1",
    "getambassador.io/v9",
    "x.io/v1",
    "v1",
    "5",
    "\"\"",
];

const NAMES: &[&str] = &[
    "a",
    "a",
    "b",
    "b",
    "c",
    "ambassador",
    "ambassador",
    "tls-cert",
    "tls-cert",
    "bad-cert",
    "ctx",
    "ctx",
    "http",
    "default",
    "\"\"",
    "\"é\"",
    "1",
    "null",
    "[a]",
];

const NAMESPACES: &[&str] = &[
    "default", "default", "default", "default", "other", "emissary", "\"\"", "1",
];

/// Base64 data of a Secret (valid PEM-ish, invalid, or of a wrong type).
const SECRET_DATA: &[&str] = &[
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmFiYwotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==",
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmFiYwotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==",
    "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCmFiYwotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg==",
    "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCmFiYwotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg==",
    "\"\"",
    "\"!!!\"",
    "\"YQ\"",
    "\"YQ=\"",
    "\"Y Q = =\"",
    "1",
    "[]",
    "null",
    "/w==",
];

/// How the document carries its identity.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `metadata: {name, namespace, labels}` and `spec`.
    Normal,
    /// Emissary's flat annotation form: `name` and the spec fields at top level.
    Flat,
    /// No `metadata` at all.
    NoMetadata,
    /// `spec` is not a mapping.
    SpecNotMap,
}

fn doc() -> impl Strategy<Value = V> {
    (
        select(API_VERSIONS),
        select(KINDS),
        select(NAMES),
        select(NAMESPACES),
        prop_oneof![
            20 => Just(Shape::Normal),
            2 => Just(Shape::Flat),
            1 => Just(Shape::NoMetadata),
            1 => Just(Shape::SpecNotMap),
        ],
        prop::option::weighted(0.3, select(plausible("labels"))),
        prop::collection::vec(select(SECRET_DATA), 0..4),
        any::<Index>(),
    )
        .prop_flat_map(|(api, kind, name, ns, shape, labels, data, secret_ty)| {
            let entries = spec_entries(kind);
            let junk = prop::collection::vec((key(), value()), 0..2);
            let junk = prop::option::weighted(0.1, junk);
            let spec_scalar = scalar();
            (entries, junk, spec_scalar).prop_map(move |(entries, junk, spec_scalar)| {
                let junk = junk.unwrap_or_default();
                let api = if kind == "Secret" && api != "x.io/v1" {
                    "v1"
                } else {
                    api
                };
                let mut top = vec![
                    ("apiVersion".to_string(), raw(api)),
                    ("kind".to_string(), raw(kind)),
                ];
                let mut meta = vec![
                    ("name".to_string(), raw(name)),
                    ("namespace".to_string(), raw(ns)),
                ];
                if let Some(l) = labels {
                    meta.push(("labels".to_string(), raw(l)));
                }
                if kind == "Secret" {
                    let ty = ["kubernetes.io/tls", "kubernetes.io/tls", "Opaque", "1"]
                        [secret_ty.index(4)];
                    top.push(("type".to_string(), raw(ty)));
                    top.push(("metadata".to_string(), V::Map(meta)));
                    let keys = ["tls.crt", "tls.key", "ca.crt", "user.key"];
                    let data = data
                        .iter()
                        .zip(keys)
                        .map(|(d, k)| (k.to_string(), raw(d)))
                        .collect();
                    top.push(("data".to_string(), V::Map(data)));
                    top.extend(junk);
                    return V::Map(top);
                }
                match shape {
                    Shape::Normal => {
                        top.push(("metadata".to_string(), V::Map(meta)));
                        top.push(("spec".to_string(), V::Map(entries)));
                    }
                    Shape::Flat => {
                        top.extend(meta);
                        top.extend(entries);
                    }
                    Shape::NoMetadata => top.push(("spec".to_string(), V::Map(entries))),
                    Shape::SpecNotMap => {
                        top.push(("metadata".to_string(), V::Map(meta)));
                        top.push(("spec".to_string(), spec_scalar));
                    }
                }
                top.extend(junk);
                V::Map(top)
            })
        })
}

/// Renders one document, in block style or (sometimes) as one flow mapping.
fn render_doc(d: &V, flow_style: bool) -> String {
    let mut out = String::new();
    match d {
        V::Map(entries) if !flow_style => block_map(entries, 0, &mut out),
        _ => {
            flow(d, &mut out);
            out.push('\n');
        }
    }
    out
}

/// Valid documents that give the hostile ones something to attach to:
/// listeners, a catch-all Host, a Host with a TLS Secret.
const BASELINE: &[&str] = &[
    "apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {name: l8080, namespace: default}\n\
     spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n",
    "apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {name: l8443, namespace: default}\n\
     spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n",
    "apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: any, namespace: default}\n\
     spec: {hostname: \"*\", requestPolicy: {insecure: {action: Route}}}\n",
    "apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: secure, namespace: default}\n\
     spec: {hostname: a.example.com, tlsSecret: {name: tls-cert}}\n",
    "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: tls-cert, namespace: default}\n\
     data: {tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmFiYwotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==, \
     tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCmFiYwotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg==}\n",
];

/// Documents, each rendered on its own (some wrapped in a `List`), usually
/// with some valid baseline documents among them.
fn docs() -> impl Strategy<Value = Vec<String>> {
    let one = (doc(), prop::bool::weighted(0.15)).prop_map(|(d, f)| render_doc(&d, f));
    let list = prop::collection::vec(doc(), 0..4).prop_map(|items| {
        let l = V::Map(vec![
            ("apiVersion".into(), raw("v1")),
            ("kind".into(), raw("List")),
            ("items".into(), V::List(items)),
        ]);
        render_doc(&l, false)
    });
    (
        prop::collection::vec(prop_oneof![12 => one, 1 => list], 1..9),
        prop::collection::vec((prop::bool::weighted(0.75), any::<Index>()), BASELINE.len()),
    )
        .prop_map(|(mut docs, baseline)| {
            for (b, (keep, at)) in BASELINE.iter().zip(baseline) {
                if keep {
                    docs.insert(at.index(docs.len() + 1), (*b).to_string());
                }
            }
            docs
        })
}

fn options() -> impl Strategy<Value = Options> {
    (
        select(&["default", "default", "blue", ""][..]),
        select(&["default", "default", "other", "emissary"][..]),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(id, ns, single, placeholder)| Options {
            ambassador_id: id.to_string(),
            ambassador_namespace: ns.to_string(),
            single_namespace: single,
            placeholder_secrets: placeholder,
        })
}

fn join_docs(docs: &[String]) -> String {
    let mut s = String::new();
    for d in docs {
        s.push_str("---\n");
        s.push_str(d);
    }
    s
}

// ---------------------------------------------------------------------------
// Mutations of the golden inputs.
// ---------------------------------------------------------------------------

/// The golden inputs (sorted by path), plus a built-in seed in case the
/// corpus is absent.
static SEEDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden");
    let mut paths = Vec::new();
    if let Ok(features) = std::fs::read_dir(&root) {
        for f in features.flatten() {
            if let Ok(cases) = std::fs::read_dir(f.path()) {
                for c in cases.flatten() {
                    let p = c.path().join("input.yaml");
                    if p.is_file() {
                        paths.push(p);
                    }
                }
            }
        }
    }
    paths.sort();
    let mut seeds: Vec<String> = paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    seeds.push(BUILTIN_SEED.to_string());
    seeds
});

const BUILTIN_SEED: &str = "\
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: any, namespace: default}
spec: {hostname: \"*\", requestPolicy: {insecure: {action: Route}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata:
  name: quote
  namespace: default
spec:
  hostname: \"*\"
  prefix: /quote/
  service: quote:8080
  headers:
    x-a: b
  regex_rewrite:
    pattern: /quote/(.*)
    substitution: /\\1
";

/// Things to insert at a random place.
const INSERTS: &[&str] = &[
    "\t",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "&a [*a, *a]",
    "<<: *a\n",
    ": ",
    "- ",
    "? ",
    "|",
    ">-\n",
    "#",
    "'",
    "\"",
    "\n",
    "\r",
    "\r\n",
    "---\n",
    "--- ",
    "...\n",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    "!!binary ",
    "!!int ",
    "!!str ",
    "!!null ",
    "!!map ",
    "!x ",
    "\u{0}",
    "\u{feff}",
    "\u{fffd}",
    "\u{85}",
    "\u{2028}",
    "é",
    "🌍",
    "\\",
    "\"\\u",
    "\"\\x",
    ",",
    "  ",
    "prefix: /x/\n",
    "kind: Mapping\n",
    "spec: 1\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Indent a line by two more spaces.
    Indent(Index),
    /// Remove up to two leading spaces of a line.
    Dedent(Index),
    /// Replace a line's leading spaces by a tab.
    TabIndent(Index),
    Truncate(Index),
    Insert(Index, &'static str),
    /// Delete a short byte range (on char boundaries).
    DeleteRange(Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => any::<Index>().prop_map(Mutation::DeleteLine),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => any::<Index>().prop_map(Mutation::Indent),
        2 => any::<Index>().prop_map(Mutation::Dedent),
        1 => any::<Index>().prop_map(Mutation::TabIndent),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        5 => (any::<Index>(), select(INSERTS)).prop_map(|(i, s)| Mutation::Insert(i, s)),
        2 => (any::<Index>(), 1u8..16).prop_map(|(i, n)| Mutation::DeleteRange(i, n)),
    ]
}

/// The char boundary at or before byte `i`.
fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let line = |i: &Index, lines: &[String]| -> Option<usize> {
        (!lines.is_empty()).then(|| i.index(lines.len()))
    };
    match m {
        Mutation::DeleteLine(i) => {
            if let Some(i) = line(i, &lines) {
                lines.remove(i);
            }
        }
        Mutation::DuplicateLine(i) => {
            if let Some(i) = line(i, &lines) {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
        }
        Mutation::SwapLines(a, b) => {
            if let (Some(a), Some(b)) = (line(a, &lines), line(b, &lines)) {
                lines.swap(a, b);
            }
        }
        Mutation::Indent(i) => {
            if let Some(i) = line(i, &lines) {
                lines[i].insert_str(0, "  ");
            }
        }
        Mutation::Dedent(i) => {
            if let Some(i) = line(i, &lines) {
                for _ in 0..2 {
                    if lines[i].starts_with(' ') {
                        lines[i].remove(0);
                    }
                }
            }
        }
        Mutation::TabIndent(i) => {
            if let Some(i) = line(i, &lines) {
                let rest = lines[i].trim_start_matches(' ').to_string();
                lines[i] = format!("\t{rest}");
            }
        }
        Mutation::Truncate(i) => {
            let at = floor_boundary(text, i.index(text.len() + 1));
            return text[..at].to_string();
        }
        Mutation::Insert(i, s) => {
            let at = floor_boundary(text, i.index(text.len() + 1));
            return format!("{}{s}{}", &text[..at], &text[at..]);
        }
        Mutation::DeleteRange(i, n) => {
            let at = floor_boundary(text, i.index(text.len() + 1));
            let end = floor_boundary(text, at + usize::from(*n));
            return format!("{}{}", &text[..at], &text[end..]);
        }
    }
    lines.concat()
}

fn mutated_seed() -> impl Strategy<Value = String> {
    (any::<Index>(), prop::collection::vec(mutation(), 1..10)).prop_map(|(seed, muts)| {
        let seeds = &*SEEDS;
        let mut text = seeds[seed.index(seeds.len())].clone();
        for m in &muts {
            text = apply(&text, m);
        }
        text
    })
}

fn config() -> ProptestConfig {
    // `ProptestConfig::default()` reads `PROPTEST_CASES` (256 when unset).
    // Failures are not persisted: this file is the only artifact, and
    // shrunk reproducers become explicit tests below.
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Structured hostile manifests: real kinds and field names, wrong values.
    #[test]
    fn structured_hostile_manifests_do_not_panic(docs in docs(), opts in options()) {
        check(&[&join_docs(&docs)], opts);
    }

    /// The same documents spread over several files (with spans per file).
    #[test]
    fn hostile_manifests_in_several_files_do_not_panic(
        docs in docs(),
        cuts in (any::<Index>(), any::<Index>()),
        opts in options(),
    ) {
        let (a, b) = (cuts.0.index(docs.len() + 1), cuts.1.index(docs.len() + 1));
        let (a, b) = (a.min(b), a.max(b));
        let files = [
            join_docs(&docs[..a]),
            String::new(),
            join_docs(&docs[a..b]),
            join_docs(&docs[b..]),
        ];
        check(&files.iter().map(String::as_str).collect::<Vec<_>>(), opts);
    }

    /// Random mutations of the golden inputs: broken indentation, truncation,
    /// stray YAML indicators, anchors and aliases.
    #[test]
    fn mutated_golden_inputs_do_not_panic(text in mutated_seed(), opts in options()) {
        check(&[&text], opts);
    }

    /// YAML-ish character soup.
    #[test]
    fn yaml_soup_does_not_panic(
        text in "([-:{}\\[\\],&*!|>'\"%@`#?~ \t\r\n.a-z0-9<=\\\\]|\u{feff}|\u{fffd}|\u{0}|é|🌍){0,200}",
    ) {
        check(&[&text], Options::default());
    }

    /// Structured documents with random mutations on top.
    #[test]
    fn mutated_structured_manifests_do_not_panic(
        docs in docs(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut text = join_docs(&docs);
        for m in &muts {
            text = apply(&text, m);
        }
        check(&[&text], Options::default());
    }

    /// The same input twice gives byte-identical output.
    #[test]
    fn translation_is_deterministic(docs in docs(), opts in options()) {
        let text = join_docs(&docs);
        let (_, a) = check(&[&text], opts.clone());
        let (_, b) = check(&[&text], opts);
        prop_assert_eq!(a, b);
    }

    /// Documents in the same order, in one file or split across two, give
    /// the same Envoy output.
    #[test]
    fn splitting_documents_across_files_keeps_the_output(
        docs in docs(),
        at in any::<Index>(),
        opts in options(),
    ) {
        let at = at.index(docs.len() + 1);
        let whole = join_docs(&docs);
        let (first, second) = (join_docs(&docs[..at]), join_docs(&docs[at..]));
        let (_, one) = check(&[&whole], opts.clone());
        let (_, two) = check(&[&first, &second], opts);
        prop_assert_eq!(one.bootstrap, two.bootstrap);
        prop_assert_eq!(one.ads, two.ads);
    }
}

// ---------------------------------------------------------------------------
// Determinism over the golden corpus.
// ---------------------------------------------------------------------------

/// Splits a text into its `---`-separated documents (each keeps its marker).
fn split_documents(text: &str) -> Vec<String> {
    let mut docs: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("---") || docs.is_empty() {
            docs.push(String::new());
        }
        if let Some(last) = docs.last_mut() {
            last.push_str(line);
        }
    }
    docs
}

#[test]
fn golden_inputs_are_deterministic_and_split_invariant() {
    for (n, seed) in SEEDS.iter().enumerate() {
        let opts = Options {
            placeholder_secrets: seed.starts_with("# options: placeholder_secrets"),
            ..Options::default()
        };
        let (_, a) = check(&[seed], opts.clone());
        let (_, b) = check(&[seed], opts.clone());
        assert_eq!(a, b, "seed {n}: two translations differ");
        let docs = split_documents(seed);
        let mut cuts = vec![
            0,
            1,
            docs.len() / 2,
            docs.len().saturating_sub(1),
            docs.len(),
        ];
        cuts.dedup();
        for at in cuts {
            let first = docs[..at].concat();
            let second = docs[at..].concat();
            let (_, two) = check(&[&first, &second], opts.clone());
            assert_eq!(a.bootstrap, two.bootstrap, "seed {n} split at {at}");
            assert_eq!(a.ads, two.ads, "seed {n} split at {at}");
        }
    }
}

#[test]
fn crlf_line_ends_give_the_same_output() {
    for (n, seed) in SEEDS.iter().enumerate() {
        let (_, lf) = check_one(seed);
        let (t, crlf) = check_one(&seed.replace('\n', "\r\n"));
        assert_eq!(lf.bootstrap, crlf.bootstrap, "seed {n} with CRLF");
        assert_eq!(lf.ads, crlf.ads, "seed {n} with CRLF");
        // Same diagnostics, at the same lines.
        let (tl, _) = check_one(seed);
        let lines = |t: &Translation| -> Vec<(&'static str, Option<usize>)> {
            t.diagnostics
                .iter()
                .map(|d| {
                    let line = d.span.and_then(|s| {
                        t.sources
                            .position(s, PositionEncoding::Utf16)
                            .map(|p| p.line)
                    });
                    (d.code, line)
                })
                .collect()
        };
        assert_eq!(
            lines(&tl),
            lines(&t),
            "seed {n}: diagnostics move with CRLF"
        );
    }
}

// ---------------------------------------------------------------------------
// Deterministic edge cases.
// ---------------------------------------------------------------------------

const LISTENER_AND_HOST: &str = "\
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: any, namespace: default}
spec: {hostname: \"*\", requestPolicy: {insecure: {action: Route}}}
";

const TEN_MB: usize = 10 * 1024 * 1024;

#[test]
fn ten_megabyte_header_value() {
    let big = "a".repeat(TEN_MB);
    let text = format!(
        "{LISTENER_AND_HOST}---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
         metadata: {{name: big, namespace: default}}\n\
         spec:\n  hostname: \"*\"\n  prefix: /big/\n  service: big\n  headers:\n    x-big: {big}\n"
    );
    let (t, out) = check_one(&text);
    assert!(!t.has_errors(), "{:?}", codes(&t));
    assert!(
        out.ads.len() > TEN_MB,
        "the header value reaches the routes"
    );
}

#[test]
fn ten_megabytes_of_small_documents() {
    // About 10,000 documents of 1 KB: mostly objects that play no part in
    // routing, some Mappings, some objects with errors. (Syntax errors are in
    // the tests further down; 10 MB of tiny documents is `too_many_documents`.)
    let pad = "x".repeat(900);
    let mut text = String::from(LISTENER_AND_HOST);
    let mut i = 0;
    while text.len() < TEN_MB {
        match i % 10 {
            0 => {
                let _ = write!(
                    text,
                    "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
                     metadata: {{name: m{i}}}\nspec: {{hostname: \"*\", prefix: /m{i}/, service: s{}, \
                     add_request_headers: {{x-pad: {pad}}}}}\n",
                    i % 100
                );
            }
            1 => {
                let _ = write!(text, "---\nkind: Mapping\nmetadata: {{name: {pad}}}\n");
            }
            2 => {
                let _ = write!(
                    text,
                    "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
                     metadata: {{name: e{i}}}\nspec: {{service: {pad}}}\n"
                );
            }
            _ => {
                let _ = write!(
                    text,
                    "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{k: {pad}}}\n"
                );
            }
        }
        i += 1;
    }
    let (t, out) = check_one(&text);
    assert!(has_code(&t, "unknown-kind"), "{:?}", codes(&t));
    assert!(has_code(&t, "missing-field"), "{:?}", codes(&t));
    assert_eq!(t.ir.listeners.len(), 1, "the good parts are translated");
    assert!(out.ads.contains("/m10/"), "the good parts are translated");
}

#[test]
fn too_many_documents() {
    // The parser stops after 100,000 documents (tiny ones: about 1.2 MB).
    let mut text = String::from(LISTENER_AND_HOST);
    text.push_str(&"--- a\n".repeat(100_010));
    let (t, _) = check_one(&text);
    assert!(has_code(&t, "yaml-too-many-documents"), "{:?}", codes(&t));
    assert_eq!(t.ir.listeners.len(), 1, "the good parts are translated");
}

#[test]
fn hundred_thousand_deep_flow_nesting() {
    for (open, close) in [("[", "]"), ("{", "}"), ("[{a: ", "}]")] {
        let text = format!("{}{}", open.repeat(100_000), close.repeat(100_000));
        let (t, _) = check_one(&text);
        assert!(has_code(&t, "yaml-too-deep"), "{open}: {:?}", codes(&t));
        // Unclosed, too.
        let (t, _) = check_one(&open.repeat(100_000));
        assert!(t.has_errors(), "{open} unclosed: {:?}", codes(&t));
    }
}

#[test]
fn ten_thousand_deep_block_nesting() {
    // `a:\n a:\n  a: …` with one-space steps (two would be 100 MB).
    let mut text = String::new();
    let spaces = " ".repeat(10_000);
    for i in 0..10_000 {
        text.push_str(&spaces[..i]);
        text.push_str("a:\n");
    }
    let (t, _) = check_one(&text);
    assert!(has_code(&t, "yaml-too-deep"), "{:?}", codes(&t));

    // Compact block sequences: `- - - - x`.
    let text = format!("{}x\n", "- ".repeat(10_000));
    let (t, _) = check_one(&text);
    assert!(has_code(&t, "yaml-too-deep"), "{:?}", codes(&t));

    // A too-deep document does not take the next one with it.
    let text = format!("{}x\n{LISTENER_AND_HOST}", "- ".repeat(10_000));
    let (t, _) = check_one(&text);
    assert!(has_code(&t, "yaml-too-deep"), "{:?}", codes(&t));
    assert_eq!(t.ir.listeners.len(), 1);
}

#[test]
fn billion_laughs() {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 10].join(",");
        let _ = writeln!(text, "{}: &{} [{refs}]", w[1], w[1]);
    }
    let (t, _) = check_one(&text);
    assert!(has_code(&t, "yaml-too-large"), "{:?}", codes(&t));

    // Quadratic aliasing in a real object: `headers` of 1000 aliases of a big map.
    let mut text = String::from(
        "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: m}\nspec:\n  x: &x {",
    );
    for i in 0..1000 {
        let _ = write!(text, "k{i}: v, ");
    }
    text.push_str("}\n  headers: [");
    text.push_str(&vec!["*x"; 1000].join(", "));
    text.push_str("]\n");
    let (t, _) = check_one(&text);
    assert!(t.has_errors(), "{:?}", codes(&t));
}

#[test]
fn twenty_thousand_documents() {
    // 20,000 documents, 2,000 of them Mappings (20,000 Mappings is a
    // performance test, not a robustness one: rendering them takes long in debug).
    let mut text = String::from(LISTENER_AND_HOST);
    for i in 0..20_000 {
        if i % 10 == 0 {
            let _ = write!(
                text,
                "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
                 metadata: {{name: m{i}}}\nspec: {{hostname: \"*\", prefix: /m{i}/, service: s{}}}\n",
                i % 100
            );
        } else {
            let _ = write!(
                text,
                "---\napiVersion: getambassador.io/v3alpha1\nkind: Host\n\
                 metadata: {{name: h{i}}}\nspec: {{hostname: h{i}.example.com, ambassador_id: [other]}}\n"
            );
        }
    }
    let (t, _) = check_one(&text);
    assert!(!t.has_errors(), "{:?}", codes(&t));

    // And 20,000 empty documents.
    let (t, _) = check_one(&"---\n".repeat(20_000));
    assert!(!t.has_errors(), "{:?}", codes(&t));
}

#[test]
fn nul_and_control_characters() {
    let cases = [
        "\u{0}",
        "a: \u{0}\n",
        "kind: Mapping\u{0}\n",
        "\"\u{0}\": 1\n",
        "a: \"\\0\"\n",
        "\u{fffd}\u{fffd}\u{fffd}",
        "kind: \u{fffd}\n",
        "a: \u{1}\u{2}\u{3}\u{1b}[31m\n",
        "\u{7f}\u{80}\u{9f}",
        "\u{85}\u{2028}\u{2029}",
        "a: \"\\ud800\"\n",
        "a: \"\\uDFFF\\uD800\"\n",
        "a: \"\\U0010FFFF\\U00110000\"\n",
        "a: \"\\x\"\n",
        "\u{10ffff}: \u{e000}\n",
        "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: \"m\u{0}\"}\n\
         spec: {hostname: \"\u{0}\", prefix: \"/\u{0}/\", service: \"s\u{0}\", headers: {\"x\u{0}\": \"\u{0}\"}}\n",
    ];
    for text in cases {
        let (t, _) = check_one(text);
        if text.contains('\u{0}') && !text.contains("apiVersion") {
            assert!(t.has_errors(), "{text:?}: {:?}", codes(&t));
        }
    }
    let with_objects = format!("{LISTENER_AND_HOST}---\n\u{0}\n---\n\u{fffd}: [\u{1}]\n");
    let (t, _) = check_one(&with_objects);
    assert!(t.has_errors(), "{:?}", codes(&t));
    assert_eq!(t.ir.listeners.len(), 1, "the good parts are translated");
}

#[test]
fn line_end_only_files() {
    for text in [
        "\r\n",
        "\r\n\r\n\r\n",
        "\r",
        "\r\r\r",
        "\n\r",
        "\r\n---\r\n---\r\n",
        "---\r---\r",
    ] {
        let (t, _) = check_one(text);
        assert!(!t.has_errors(), "{text:?}: {:?}", codes(&t));
    }
    // Lone CRs as the only line ends of a manifest.
    let (t, _) = check_one(&LISTENER_AND_HOST.replace('\n', "\r"));
    let _ = codes(&t);
}

#[test]
fn byte_order_marks() {
    let (plain, out) = check_one(LISTENER_AND_HOST);
    let (t, bom) = check_one(&format!("\u{feff}{LISTENER_AND_HOST}"));
    assert_eq!(out.ads, bom.ads, "a leading BOM changes nothing");
    assert_eq!(codes(&plain), codes(&t));
    for text in [
        "\u{feff}",
        "\u{feff}\u{feff}",
        "\u{feff}---\n",
        "---\n\u{feff}a: 1\n",
        "a: \u{feff}\n",
    ] {
        check_one(text);
    }
}

#[test]
fn empty_and_marker_only_inputs() {
    for text in [
        "",
        " ",
        "\n",
        "---",
        "---\n",
        "--- \n---\n---",
        "...",
        "---\n...\n",
        "#",
        "~",
        "null",
    ] {
        let (t, _) = check_one(text);
        assert!(!t.has_errors(), "{text:?}: {:?}", codes(&t));
    }
    // No files at all, and many empty files.
    let (t, _) = check_inputs(&Inputs::default());
    assert!(!t.has_errors());
    let (t, _) = check(&[""; 100], Options::default());
    assert!(!t.has_errors());
}

#[test]
fn hostile_options() {
    let cases = [
        ("", "", false, false),
        ("\u{0}", "\u{0}", true, true),
        ("🌍", "é", true, false),
        ("*", "*", false, true),
        ("default", "", true, true),
    ];
    for (id, ns, single, placeholder) in cases {
        let opts = Options {
            ambassador_id: id.to_string(),
            ambassador_namespace: ns.to_string(),
            single_namespace: single,
            placeholder_secrets: placeholder,
        };
        for seed in SEEDS.iter() {
            check(&[seed], opts.clone());
        }
    }
}

// ---------------------------------------------------------------------------
// Regression tests for problems found by the tests above.
// ---------------------------------------------------------------------------

/// A valid Mapping document, named `name`.
fn mapping_doc(name: &str) -> String {
    format!(
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
         metadata: {{name: {name}, namespace: default}}\n\
         spec: {{hostname: \"*\", prefix: /{name}/, service: {name}}}\n"
    )
}

/// A document with an unclosed flow collection must not take valid
/// documents after it down with it. saphyr's scanner, once inside a flow
/// collection, reads tokens ahead past `---` (it only errors when the parser
/// consumes the `---`); the `[` of the later documents keep raising its flow
/// level, and at 256 levels it reports "recursion limit exceeded" there.
/// Parsed as one stream, that scanner error replaced the parser's error at
/// the first `---` and everything in between was lost (here the Mapping
/// `lost`, with only a `yaml-too-deep` at the last `[`); each document is
/// now parsed on its own, up to the next `---` line.
#[test]
fn unclosed_flow_collection_does_not_swallow_later_documents() {
    // Minimal: the document `a: 1` must be read (and reported: no `kind`).
    let (t, _) = check_one(&format!("[\n---\na: 1\n---\n{}\n", "[".repeat(255)));
    assert!(
        has_code(&t, "missing-kind"),
        "the document `a: 1` is lost: {:?}",
        codes(&t)
    );
    let text = format!(
        "{LISTENER_AND_HOST}---\n[1, 2\n{}---\n{}\n",
        mapping_doc("lost"),
        "[".repeat(256)
    );
    let (t, out) = check_one(&text);
    assert!(has_code(&t, "yaml-too-deep"), "{:?}", codes(&t));
    assert!(
        has_code(&t, "yaml-syntax"),
        "the unclosed `[1, 2` is reported: {:?}",
        codes(&t)
    );
    assert!(
        out.ads.contains("/lost/"),
        "the valid Mapping after the broken document is translated: {:?}",
        codes(&t)
    );
}

/// The same input with fewer than 256 `[` in the last document: passes
/// today (the scanner reads to the end of the file without an error, and the
/// parser then reports the error where it is).
#[test]
fn unclosed_flow_collection_then_a_valid_document() {
    let text = format!(
        "{LISTENER_AND_HOST}---\n[1, 2\n{}---\n{}\n",
        mapping_doc("kept"),
        "[".repeat(200)
    );
    let (t, out) = check_one(&text);
    assert!(has_code(&t, "yaml-syntax"), "{:?}", codes(&t));
    assert!(has_code(&t, "yaml-too-deep"), "{:?}", codes(&t));
    assert!(out.ads.contains("/kept/"), "{:?}", codes(&t));
}

/// Recovering from a syntax error must not cost a scan of the rest of the
/// file. When recovery restarted saphyr on the rest of the text, saphyr's
/// scanner read ahead to its end after an unclosed flow collection (see the
/// test above), so k broken documents before n bytes of valid ones cost
/// O(k·n) (100 × `[1, 2` before 1.2 MB took 94 s in debug). Documents are
/// now parsed one by one, each up to its `---` line. Here: 20 broken
/// documents before ~150 KB of valid ones must cost at most a few times the
/// valid ones alone.
#[test]
fn syntax_error_recovery_is_linear() {
    use std::time::{Duration, Instant};
    let mut tail = String::new();
    for i in 0..2_000 {
        let _ = write!(
            tail,
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{k: v}}\n"
        );
    }
    let broken = format!("{}{tail}", "---\n[1, 2\n".repeat(20));
    let t0 = Instant::now();
    let (t, _) = check_one(&tail);
    let clean = t0.elapsed();
    assert!(!t.has_errors());
    let t0 = Instant::now();
    let (t, _) = check_one(&broken);
    let slow = t0.elapsed();
    assert_eq!(
        t.diagnostics
            .iter()
            .filter(|d| d.code == "yaml-syntax")
            .count(),
        20,
        "{:?}",
        codes(&t)
    );
    assert!(
        slow < clean * 5 + Duration::from_millis(500),
        "20 syntax errors made a {} KB input take {slow:?} instead of about {clean:?}",
        broken.len() / 1024
    );
}
