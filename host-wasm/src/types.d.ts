// Generated from the Rust types of emissary-core by ts-rs
// (host-wasm/tests/typescript.rs); do not edit.

/** Envoy configuration or IR as JSON (canonical proto3 JSON for Envoy messages). */
export type EnvoyJson = { [key: string]: any };

export type TranslateOptions = { 
/**
 * `AMBASSADOR_ID` (default `default`).
 */
ambassadorId?: string, 
/**
 * `AMBASSADOR_NAMESPACE` (default `default`).
 */
ambassadorNamespace?: string, 
/**
 * `AMBASSADOR_SINGLE_NAMESPACE` (default false).
 */
singleNamespace?: boolean, 
/**
 * Serve a placeholder certificate for missing TLS Secrets (default false).
 */
placeholderSecrets?: boolean, 
/**
 * The name diagnostics give the text (default `manifests.yaml`).
 */
fileName?: string, };

export type TranslateResult = { 
/**
 * A complete static Envoy Bootstrap.
 */
bootstrap: EnvoyJson, 
/**
 * The resources as served over ADS.
 */
xds: { listeners: EnvoyJson[]; routes: EnvoyJson[]; clusters: EnvoyJson[]; endpoints: EnvoyJson[]; secrets: EnvoyJson[] }, 
/**
 * The intermediate representation (its shape may change between versions).
 */
ir: EnvoyJson, diagnostics: Array<Diagnostic>, };

export type TranslateTextResult = { 
/**
 * A complete static Envoy Bootstrap, as JSON text.
 */
bootstrap: string, 
/**
 * The resources as served over ADS (`{"listeners":[…],"routes":[…],
 * "clusters":[…],"endpoints":[…],"secrets":[…]}`), as JSON text.
 */
xds: string, 
/**
 * The intermediate representation as JSON text (its shape may change
 * between versions).
 */
ir: string, diagnostics: Array<Diagnostic>, };

export type Diagnostic = { 
/**
 * Stable kebab-case code, e.g. `mapping-no-host`.
 */
code: string, severity: Severity, message: string, object?: ObjectRef, 
/**
 * Field path inside the object (`spec.prefix`); empty for the whole object.
 */
path: string, help?: string, 
/**
 * Where, when the finding has a place in the text.
 */
range?: Range, };

export type Range = { file: string, line: number, column: number, endLine: number, endColumn: number, };

export type Severity = "error" | "warning" | "info";

export type ObjectRef = { kind: string, namespace: string, name: string, };

export type ExplainRequest = { 
/**
 * `GET` when empty.
 */
method: string, 
/**
 * `scheme://authority/path?query`; a bare `/path` means `http` with the
 * authority from the `Host` header.
 */
url: string, headers: Array<Header>, 
/**
 * The listener port the request arrives on (default: the URL's port).
 */
port?: number, 
/**
 * TLS server name (default: the URL's host for `https`, none for `http`).
 */
sni?: string, };

export type Header = { name: string, value: string, };

export type Explanation = { outcome: Outcome, request: Seen, 
/**
 * Envoy listener name (`listener-8443`).
 */
listener?: string, 
/**
 * Filter chain name (`http`, `https-<host>`, `tcp-<ns>-<name>`).
 */
chain?: string, 
/**
 * The virtual host (its domain).
 */
virtualHost?: string, 
/**
 * The Host object behind the virtual host.
 */
host?: ObjectRef, 
/**
 * Index (in the virtual host) of the route of the main target.
 */
route?: number, 
/**
 * The Mapping of the main target (the largest share; the first on ties).
 */
mapping?: ObjectRef, 
/**
 * The main target's upstream (`service:port`) or redirect location.
 */
target?: string, 
/**
 * The main target's upstream path (with the query).
 */
upstreamPath?: string, 
/**
 * Every target with its share of the traffic, in route order.
 */
targets: Array<Target>, 
/**
 * Every route checked, in order, up to the last one that takes traffic.
 */
routes: Array<RouteCheck>, 
/**
 * The steps, in words.
 */
why: Array<string>, };

export type Outcome = "forwarded" | "redirected" | "tcp" | "partial" | "no-listener" | "no-filter-chain" | "tls-not-terminated" | "no-virtual-host" | "no-route" | "bad-request";

export type Seen = { method: string, scheme: string, authority: string, 
/**
 * Normalized path, without the query.
 */
path: string, 
/**
 * The query string without `?`, or empty.
 */
query: string, sni?: string, 
/**
 * Lowercased names; repeated headers joined with `,`. Includes the
 * pseudo-headers and `x-forwarded-proto`.
 */
headers: { [key in string]: string }, };

export type Target = { 
/**
 * Share of the requests like this one, in percent.
 */
weight: number, 
/**
 * Route index in the virtual host (absent for TCP).
 */
route?: number, mapping: ObjectRef, 
/**
 * `forward`, `redirect`, `https-redirect` or `tcp`.
 */
action: string, 
/**
 * Envoy cluster name (forward and TCP).
 */
cluster?: string, 
/**
 * `host:port` upstream, or the redirect's `Location`.
 */
target: string, 
/**
 * The path sent upstream (forward only), with the query.
 */
upstreamPath?: string, 
/**
 * Whether the upstream connection uses TLS.
 */
upstreamTls: boolean, 
/**
 * Redirects: the status Envoy answers with.
 */
status?: number, 
/**
 * Forward: the `Host` header the upstream sees, when the route rewrites it.
 */
hostRewrite?: string, 
/**
 * Forward: request headers the route removes, then those it sets
 * (empty otherwise).
 */
requestHeadersRemoved: Array<string>, requestHeadersAdded: Array<HeaderEdit>, 
/**
 * Forward: response headers the route removes, then those it sets
 * (empty otherwise).
 */
responseHeadersRemoved: Array<string>, responseHeadersAdded: Array<HeaderEdit>, };

export type RouteCheck = { index: number, mapping: ObjectRef, 
/**
 * The route's conditions, in words (`prefix /api/, header x-forwarded-proto = https`).
 */
conditions: string, 
/**
 * Share of the requests that this route takes, in percent.
 */
weight: number, 
/**
 * Why it does not take (all of) the request; absent when it takes it all.
 */
reason?: string, };
