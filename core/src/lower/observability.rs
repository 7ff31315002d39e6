//! LogServices, the TracingService and the Module's access-log options → the
//! IR's access loggers and tracer, with a cluster for each collector.
//!
//! As in Emissary: one LogService is used (Emissary keys them all by the same
//! name, so a second one is a duplicate); exactly one TracingService, or
//! none is used; collector services are not qualified with the object's
//! namespace. Unlike Emissary, the collector cluster of a gRPC logger or of
//! the opentelemetry tracer always speaks HTTP/2, which gRPC needs.

use super::Lower;
use crate::diag::Diagnostic;
use crate::ir::TracingDriver;
use crate::ir::{AccessLog, FileLogFormat, GrpcLog, Tracing};
use crate::model::{LogDriver, LogType, Mapping, Meta, Spanned};
use std::collections::BTreeMap;

/// Emissary's text access-log line.
const TEXT_FORMAT: &str = "ACCESS [%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"";

/// Emissary's JSON access-log fields.
const JSON_FORMAT: &[(&str, &str)] = &[
    ("start_time", "%START_TIME%"),
    ("method", "%REQ(:METHOD)%"),
    ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
    ("protocol", "%PROTOCOL%"),
    ("response_code", "%RESPONSE_CODE%"),
    ("response_flags", "%RESPONSE_FLAGS%"),
    ("bytes_received", "%BYTES_RECEIVED%"),
    ("bytes_sent", "%BYTES_SENT%"),
    ("duration", "%DURATION%"),
    (
        "upstream_service_time",
        "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    ),
    ("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%"),
    ("user_agent", "%REQ(USER-AGENT)%"),
    ("request_id", "%REQ(X-REQUEST-ID)%"),
    ("authority", "%REQ(:AUTHORITY)%"),
    ("upstream_host", "%UPSTREAM_HOST%"),
    ("upstream_cluster", "%UPSTREAM_CLUSTER%"),
    ("upstream_local_address", "%UPSTREAM_LOCAL_ADDRESS%"),
    ("downstream_local_address", "%DOWNSTREAM_LOCAL_ADDRESS%"),
    ("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%"),
    ("requested_server_name", "%REQUESTED_SERVER_NAME%"),
    (
        "istio_policy_status",
        "%DYNAMIC_METADATA(istio.mixer:status)%",
    ),
    (
        "upstream_transport_failure_reason",
        "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
    ),
];

/// Fills `ir.tracing` and `ir.access_logs`.
pub(crate) fn observability(lw: &mut Lower<'_>) {
    tracing(lw);
    let mut logs = Vec::new();
    let mut services = lw.objs.log_services.iter();
    if let Some(s) = services.next() {
        for extra in services {
            lw.diags.push(
                Diagnostic::error(
                    "logservice-duplicate",
                    format!(
                        "only one LogService is used (as in Emissary); {} is ignored in favour of {}",
                        extra.meta.obj_ref(),
                        s.meta.obj_ref()
                    ),
                )
                .with_object(extra.meta.obj_ref())
                .with_span(Some(extra.meta.span)),
            );
        }
        let http = s.driver == LogDriver::Http;
        let pick = |f: fn(&crate::model::LogHeader) -> bool| {
            s.headers
                .iter()
                .filter(|h| f(h))
                .map(|h| h.name.clone())
                .collect::<Vec<_>>()
        };
        if let Some(cluster) =
            collector_cluster(lw, &s.meta, &s.service, s.stats_name.clone(), true)
        {
            logs.push(AccessLog::Grpc(GrpcLog {
                http,
                log_name: "logservice".into(),
                cluster,
                flush_interval_s: s.flush_interval_s,
                buffer_size_bytes: s.flush_bytes,
                request_headers: pick(|h| h.request),
                response_headers: pick(|h| h.response),
                response_trailers: pick(|h| h.trailer),
            }));
        }
    }
    let o = &lw.module.access_log;
    let path = o.path.clone().unwrap_or_else(|| "/dev/stdout".into());
    let json = || {
        o.json_format.clone().unwrap_or_else(|| {
            let mut m: BTreeMap<String, String> = JSON_FORMAT
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if lw
                .ir
                .tracing
                .as_ref()
                .is_some_and(|t| t.driver == TracingDriver::Datadog)
            {
                m.insert("dd.trace_id".into(), "%REQ(X-DATADOG-TRACE-ID)%".into());
                m.insert("dd.span_id".into(), "%REQ(X-DATADOG-PARENT-ID)%".into());
            }
            m
        })
    };
    let format = match o.log_type {
        LogType::Text => FileLogFormat::Text(format!(
            "{}\n",
            o.text_format
                .as_deref()
                .filter(|f| !f.is_empty())
                .unwrap_or(TEXT_FORMAT)
        )),
        LogType::Json => FileLogFormat::Json(json()),
        LogType::TypedJson => FileLogFormat::TypedJson(json()),
    };
    logs.push(AccessLog::File { path, format });
    lw.ir.access_logs = logs;
}

fn tracing(lw: &mut Lower<'_>) {
    let services = &lw.objs.tracing_services;
    if services.len() > 1 {
        for s in services {
            lw.diags.push(
                Diagnostic::error(
                    "tracing-service-duplicate",
                    format!(
                        "exactly one TracingService is supported and {} are defined, so none is used (as in Emissary)",
                        services.len()
                    ),
                )
                .with_object(s.meta.obj_ref())
                .with_span(Some(s.meta.span)),
            );
        }
        return;
    }
    let Some(s) = services.first() else { return };
    let grpc = s.driver == TracingDriver::OpenTelemetry;
    if let Some(cluster) = collector_cluster(lw, &s.meta, &s.service, s.stats_name.clone(), grpc) {
        lw.ir.tracing = Some(Tracing {
            driver: s.driver,
            cluster,
            config: s.config.clone(),
            custom_tags: s.custom_tags.clone(),
            sampling: s.sampling.clone(),
        });
    }
}

/// The cluster of a collector service, built as a Mapping's would be but
/// without qualifying the service with the object's namespace (as Emissary).
fn collector_cluster(
    lw: &mut Lower<'_>,
    meta: &Meta,
    service: &Spanned<String>,
    stats_name: Option<String>,
    grpc: bool,
) -> Option<String> {
    let probe = Mapping {
        meta: Meta {
            namespace: lw.opts.ambassador_namespace.clone(),
            ..meta.clone()
        },
        service: service.clone(),
        stats_name,
        grpc,
        // Emissary gives the Module's breakers to Mappings and the AuthService only.
        circuit_breakers: Some(Vec::new()),
        ..Mapping::default()
    };
    let name = lw.cluster_for(&probe)?;
    if let Some(c) = lw.ir.clusters.get_mut(&name) {
        let c = std::sync::Arc::make_mut(c);
        c.sources.remove(&probe.meta.obj_ref());
        c.sources.insert(meta.obj_ref());
    }
    Some(name)
}
