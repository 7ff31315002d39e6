//! LogService, TracingService and the `ambassador` Module's access-log options.
//!
//! LogService sends Envoy's access logs to a gRPC collector (`tcp` or `http`
//! driver); TracingService configures one tracer (zipkin, datadog,
//! opentelemetry) for every HTTP connection manager. What Emissary rejects
//! (a `v2` transport, a removed driver, headers on a `tcp` logger) is an
//! error here too, and the object is left out.

use super::Meta;
use super::read::{Cx, Fields, Spanned};
use crate::ir::{CustomTag, CustomTagValue, Sampling, TracerConfig, TracingDriver};
use crate::source::{Node, Value};
use std::collections::BTreeMap;

/// The gRPC access-log flavour of a LogService.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LogDriver {
    /// Connection-level records (`TcpGrpcAccessLogConfig`).
    Tcp,
    /// Request-level records (`HttpGrpcAccessLogConfig`).
    Http,
}

/// A header an `http` LogService adds to its records, and when.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogHeader {
    pub name: String,
    pub request: bool,
    pub response: bool,
    pub trailer: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogService {
    pub meta: Meta,
    pub service: Spanned<String>,
    pub driver: LogDriver,
    /// `flush_interval_time`, seconds (Envoy's default 1).
    pub flush_interval_s: u64,
    /// `flush_interval_byte_size` (Envoy's default 16384).
    pub flush_bytes: u64,
    pub headers: Vec<LogHeader>,
    pub grpc: bool,
    pub stats_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TracingService {
    pub meta: Meta,
    pub service: Spanned<String>,
    pub driver: TracingDriver,
    pub config: TracerConfig,
    pub custom_tags: Vec<CustomTag>,
    pub sampling: Sampling,
    pub stats_name: Option<String>,
}

/// `envoy_log_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum LogType {
    #[default]
    Text,
    /// JSON records whose values are all strings.
    Json,
    /// JSON records whose values keep their types.
    TypedJson,
}

/// The Module's `envoy_log_type`, `envoy_log_path` and `envoy_log_format`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessLogOptions {
    pub log_type: LogType,
    pub path: Option<String>,
    /// A text format (text type).
    pub text_format: Option<String>,
    /// A JSON format: field name → command operator string (json types).
    pub json_format: Option<BTreeMap<String, String>>,
}

pub(crate) fn log_service(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<LogService> {
    let span = meta.span;
    let service = f.required_str(cx, "service", span);
    match f.str(cx, "protocol_version") {
        Some(v) if v.value == "v3" => {}
        Some(v) => cx.error(
            "logservice-protocol-version",
            "spec.protocol_version",
            Some(v.span),
            format!(
                "protocol_version `{}` is not supported; Envoy only speaks the `v3` access-log protocol",
                v.value
            ),
        ),
        None => cx.error(
            "logservice-protocol-version",
            "spec.protocol_version",
            Some(span),
            "protocol_version is missing, and Emissary reads that as `v2`, which Envoy no longer speaks; set `protocol_version: v3`",
        ),
    }
    let driver = match f.str(cx, "driver") {
        None => LogDriver::Tcp,
        Some(d) if d.value == "tcp" => LogDriver::Tcp,
        Some(d) if d.value == "http" => LogDriver::Http,
        Some(d) => {
            cx.error(
                "logservice-driver",
                "spec.driver",
                Some(d.span),
                format!("driver `{}` must be `tcp` or `http`", d.value),
            );
            LogDriver::Tcp
        }
    };
    let mut headers = Vec::new();
    if let Some(mut dc) = f.object(cx, "driver_config") {
        if let Some(list) = dc.node("additional_log_headers") {
            match &list.value {
                Value::Seq(items) => {
                    for (i, it) in items.iter().enumerate() {
                        let path = format!("spec.driver_config.additional_log_headers[{i}]");
                        let mut h = Fields::new(cx, it, &path);
                        let name = h
                            .str(cx, "header_name")
                            .map(|s| s.value)
                            .unwrap_or_default();
                        let header = LogHeader {
                            request: h.bool(cx, "during_request").unwrap_or(true),
                            response: h.bool(cx, "during_response").unwrap_or(true),
                            trailer: h.bool(cx, "during_trailer").unwrap_or(true),
                            name,
                        };
                        h.finish(cx, "additional_log_headers");
                        if header.name.is_empty() {
                            cx.error(
                                "missing-field",
                                &format!("{path}.header_name"),
                                Some(it.span),
                                "every additional log header needs a `header_name`",
                            );
                        }
                        headers.push(header);
                    }
                }
                _ => cx.error(
                    "wrong-type",
                    "spec.driver_config.additional_log_headers",
                    Some(list.span),
                    format!(
                        "`spec.driver_config.additional_log_headers` must be a list, found {}",
                        list.type_name()
                    ),
                ),
            }
            if driver == LogDriver::Tcp && !headers.is_empty() {
                cx.error(
                    "logservice-tcp-headers",
                    "spec.driver_config.additional_log_headers",
                    Some(list.span),
                    "additional_log_headers need the `http` driver; a `tcp` logger records connections, not requests",
                );
            }
        }
        dc.finish(cx, "driver_config");
    }
    let s = LogService {
        driver,
        flush_interval_s: f
            .uint(cx, "flush_interval_time", u32::MAX as u64)
            .map_or(1, |v| v.value),
        flush_bytes: f
            .uint(cx, "flush_interval_byte_size", u32::MAX as u64)
            .map_or(16384, |v| v.value),
        headers,
        grpc: f.bool(cx, "grpc").unwrap_or(false),
        stats_name: f.str(cx, "stats_name").map(|s| s.value),
        service: service?,
        meta,
    };
    Some(s)
}

pub(crate) fn tracing_service(
    cx: &mut Cx<'_>,
    f: &mut Fields<'_>,
    meta: Meta,
) -> Option<TracingService> {
    let span = meta.span;
    let service = f.required_str(cx, "service", span);
    let driver = match f.required_str(cx, "driver", span) {
        None => None,
        Some(d) => match d.value.as_str() {
            "zipkin" => Some(TracingDriver::Zipkin),
            "datadog" => Some(TracingDriver::Datadog),
            "opentelemetry" => Some(TracingDriver::OpenTelemetry),
            "lightstep" => {
                cx.error(
                    "tracing-driver",
                    "spec.driver",
                    Some(d.span),
                    "the `lightstep` driver was removed in Emissary 3.4 (and from Envoy); use `opentelemetry`",
                );
                None
            }
            other => {
                cx.error(
                    "tracing-driver",
                    "spec.driver",
                    Some(d.span),
                    format!("driver `{other}` must be zipkin, datadog or opentelemetry"),
                );
                None
            }
        },
    };
    let mut config = TracerConfig::default();
    if let Some(mut c) = f.object(cx, "config") {
        let take = |c: &mut Fields<'_>, cx: &mut Cx<'_>, key: &str, used_by: &[TracingDriver]| {
            let v = c.str(cx, key);
            if let (Some(v), Some(d)) = (&v, driver)
                && !used_by.contains(&d)
            {
                cx.warning(
                    "tracing-config-ignored",
                    &c.path(key),
                    Some(v.span),
                    format!("`{key}` does not apply to the {d:?} driver; it is ignored"),
                );
                return None;
            }
            v
        };
        use TracingDriver::*;
        config.collector_endpoint =
            take(&mut c, cx, "collector_endpoint", &[Zipkin]).map(|s| s.value);
        let version = take(&mut c, cx, "collector_endpoint_version", &[Zipkin]);
        if let Some(v) = &version
            && !matches!(v.value.as_str(), "HTTP_JSON" | "HTTP_PROTO")
        {
            cx.error(
                "tracing-config",
                "spec.config.collector_endpoint_version",
                Some(v.span),
                format!(
                    "collector_endpoint_version `{}` must be HTTP_JSON or HTTP_PROTO",
                    v.value
                ),
            );
        }
        config.collector_endpoint_version = version.map(|s| s.value);
        config.collector_hostname =
            take(&mut c, cx, "collector_hostname", &[Zipkin, Datadog]).map(|s| s.value);
        config.service_name =
            take(&mut c, cx, "service_name", &[Datadog, OpenTelemetry]).map(|s| s.value);
        config.trace_id_128bit = c.bool(cx, "trace_id_128bit");
        config.shared_span_context = c.bool(cx, "shared_span_context");
        for key in [
            "access_token_file",
            "propagation_modes",
            "collector_cluster",
        ] {
            if let Some(n) = c.node(key) {
                cx.warning(
                    "tracing-config-ignored",
                    &c.path(key),
                    Some(n.span),
                    format!("`{key}` is not used by the zipkin, datadog or opentelemetry drivers; it is ignored"),
                );
            }
        }
        c.finish(cx, "TracingService config");
    }
    if driver == Some(TracingDriver::Zipkin) {
        config
            .collector_endpoint
            .get_or_insert_with(|| "/api/v2/spans".into());
        config
            .collector_endpoint_version
            .get_or_insert_with(|| "HTTP_JSON".into());
        config.trace_id_128bit.get_or_insert(true);
    } else if driver.is_some() {
        config
            .service_name
            .get_or_insert_with(|| "ambassador".into());
    }
    let mut sampling = Sampling::default();
    if let Some(mut s) = f.object(cx, "sampling") {
        let pct = |s: &mut Fields<'_>, cx: &mut Cx<'_>, key: &str| {
            let v = s.number(cx, key)?;
            if !(0.0..=100.0).contains(&v.value) {
                cx.error(
                    "value-out-of-range",
                    &s.path(key),
                    Some(v.span),
                    format!("`{key}` is a percentage, between 0 and 100"),
                );
                return None;
            }
            Some(v.value)
        };
        sampling.client = pct(&mut s, cx, "client");
        sampling.random = pct(&mut s, cx, "random");
        sampling.overall = pct(&mut s, cx, "overall");
        s.finish(cx, "sampling");
    }
    let custom_tags = f
        .node("custom_tags")
        .map(|n| custom_tags(cx, n))
        .unwrap_or_default();
    if let Some(n) = f.node("tag_headers") {
        cx.warning(
            "tracing-tag-headers",
            "spec.tag_headers",
            Some(n.span),
            "`tag_headers` is deprecated and ignored (as in Emissary); use `custom_tags` with `request_header`",
        );
    }
    Some(TracingService {
        config,
        custom_tags,
        sampling,
        stats_name: f.str(cx, "stats_name").map(|s| s.value),
        service: service?,
        driver: driver?,
        meta,
    })
}

fn custom_tags(cx: &mut Cx<'_>, n: &Node) -> Vec<CustomTag> {
    let Value::Seq(items) = &n.value else {
        cx.error(
            "wrong-type",
            "spec.custom_tags",
            Some(n.span),
            format!("`spec.custom_tags` must be a list, found {}", n.type_name()),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let path = format!("spec.custom_tags[{i}]");
        let mut f = Fields::new(cx, it, &path);
        let tag = f.required_str(cx, "tag", it.span);
        let mut values = Vec::new();
        if let Some(mut l) = f.object(cx, "literal") {
            if let Some(v) = l.required_str(cx, "value", it.span) {
                values.push(CustomTagValue::Literal(v.value));
            }
            l.finish(cx, "literal");
        }
        for (key, env) in [("environment", true), ("request_header", false)] {
            if let Some(mut o) = f.object(cx, key) {
                let name = o.required_str(cx, "name", it.span);
                let default = o.str(cx, "default_value").map(|s| s.value);
                if let Some(name) = name {
                    values.push(if env {
                        CustomTagValue::Environment {
                            name: name.value,
                            default,
                        }
                    } else {
                        CustomTagValue::RequestHeader {
                            name: name.value,
                            default,
                        }
                    });
                }
                o.finish(cx, key);
            }
        }
        f.finish(cx, "custom_tags");
        if values.len() != 1 {
            cx.error(
                "tracing-custom-tag",
                &path,
                Some(it.span),
                "a custom tag needs exactly one of `literal`, `environment` or `request_header`",
            );
            continue;
        }
        if let Some(tag) = tag {
            out.push(CustomTag {
                tag: tag.value,
                value: values.remove(0),
            });
        }
    }
    out
}

/// Reads the Module's access-log options from `spec.config`.
pub(crate) fn access_log_options(cx: &mut Cx<'_>, c: &mut Fields<'_>) -> AccessLogOptions {
    let mut o = AccessLogOptions::default();
    if let Some(t) = c.str(cx, "envoy_log_type") {
        o.log_type = match t.value.to_ascii_lowercase().as_str() {
            "text" => LogType::Text,
            "json" => LogType::Json,
            "typed_json" => LogType::TypedJson,
            _ => {
                cx.warning(
                    "module-value",
                    "spec.config.envoy_log_type",
                    Some(t.span),
                    format!(
                        "envoy_log_type `{}` is not text, json or typed_json; text is used (as in Emissary)",
                        t.value
                    ),
                );
                LogType::Text
            }
        };
    }
    o.path = c.str(cx, "envoy_log_path").map(|s| s.value);
    if let Some(n) = c.node("envoy_log_format") {
        let path = c.path("envoy_log_format");
        match (&n.value, o.log_type) {
            (Value::Str(s), LogType::Text) => o.text_format = Some(s.clone()),
            (Value::Map(entries), LogType::Json | LogType::TypedJson) => {
                let mut map = BTreeMap::new();
                for (k, v) in entries {
                    match &v.value {
                        Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                            map.insert(k.scalar_text(), v.scalar_text());
                        }
                        _ => cx.error(
                            "wrong-type",
                            &format!("{path}.{}", k.scalar_text()),
                            Some(v.span),
                            "a JSON log format maps field names to format strings",
                        ),
                    }
                }
                o.json_format = Some(map);
            }
            (_, LogType::Text) => cx.error(
                "wrong-type",
                &path,
                Some(n.span),
                format!(
                    "with envoy_log_type text, envoy_log_format must be a string, found {}",
                    n.type_name()
                ),
            ),
            (_, _) => cx.error(
                "wrong-type",
                &path,
                Some(n.span),
                format!(
                    "with a JSON envoy_log_type, envoy_log_format must be a mapping of field names to format strings, found {}",
                    n.type_name()
                ),
            ),
        }
    }
    o
}
