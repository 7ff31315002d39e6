//! Access logs and tracing: what every HTTP connection manager records and
//! where it sends it.

use serde::Serialize;
use std::collections::BTreeMap;

/// One access logger of every HTTP connection manager, in Emissary's order:
/// the LogService's gRPC logger first, then the file logger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum AccessLog {
    File { path: String, format: FileLogFormat },
    Grpc(GrpcLog),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FileLogFormat {
    /// A text line (ends with a newline).
    Text(String),
    /// JSON with every value a string.
    Json(BTreeMap<String, String>),
    /// JSON whose values keep their types.
    TypedJson(BTreeMap<String, String>),
}

/// A LogService's gRPC access logger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrpcLog {
    /// `http` (request records) rather than `tcp` (connection records).
    pub http: bool,
    pub log_name: String,
    pub cluster: String,
    pub flush_interval_s: u64,
    pub buffer_size_bytes: u64,
    pub request_headers: Vec<String>,
    pub response_headers: Vec<String>,
    pub response_trailers: Vec<String>,
}

/// The tracer of every HTTP connection manager (one TracingService).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tracing {
    pub driver: TracingDriver,
    pub cluster: String,
    pub config: TracerConfig,
    pub custom_tags: Vec<CustomTag>,
    pub sampling: Sampling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TracingDriver {
    Zipkin,
    Datadog,
    OpenTelemetry,
}

/// Envoy's `CustomTag` as Emissary spells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomTag {
    pub tag: String,
    pub value: CustomTagValue,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum CustomTagValue {
    Literal(String),
    Environment {
        name: String,
        default: Option<String>,
    },
    RequestHeader {
        name: String,
        default: Option<String>,
    },
}

/// Sampling percentages (0–100) for the HCM's tracing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sampling {
    pub client: Option<f64>,
    pub random: Option<f64>,
    pub overall: Option<f64>,
}

/// The driver settings of a TracingService (`spec.config`), defaults applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TracerConfig {
    pub collector_endpoint: Option<String>,
    /// `HTTP_JSON` or `HTTP_PROTO` (zipkin).
    pub collector_endpoint_version: Option<String>,
    pub collector_hostname: Option<String>,
    pub trace_id_128bit: Option<bool>,
    pub shared_span_context: Option<bool>,
    pub service_name: Option<String>,
}
