// The route table: for each listener, filter chain and virtual host, every
// route in order with its match, action and the Mapping it came from.
// Built from the IR (the playground) or from the served xDS resources (live
// mode, where the Mapping behind a route is not known).

import type { ObjectRef } from "./diagnostics.ts";

export interface RouteRow {
  /** Position in its virtual host, from 0 (Envoy's order). */
  index: number;
  match: string;
  action: string;
  /** Upstream `host:port` (or cluster name), redirect location, or empty. */
  target: string;
  /** Share of the requests matching this route's conditions, in percent (canaries). */
  share?: number;
  mapping?: ObjectRef;
}

export interface VhostTable { name: string; domains: string[]; host?: ObjectRef; routes: RouteRow[] }
export interface ChainTable {
  name: string;
  serverNames: string[];
  tls: boolean;
  /** HTTP chains list virtual hosts; TCP chains list their targets. */
  vhosts: VhostTable[];
  tcp?: { target: string; weight: number }[];
}
export interface ListenerTable { name: string; port: number; chains: ChainTable[] }
export interface RouteTable { listeners: ListenerTable[]; routes: number }

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function variant(v: Json): [string, Json] {
  if (typeof v === "string") return [v, undefined];
  if (v && typeof v === "object") {
    const k = Object.keys(v)[0];
    return [k, v[k]];
  }
  return ["", undefined];
}

function stringMatch(name: string, m: Json): string {
  const [k, v] = variant(m);
  switch (k) {
    case "Exact": return `${name} = ${v}`;
    case "Prefix": return `${name} starts with ${v}`;
    case "Suffix": return `${name} ends with ${v}`;
    case "Regex": return `${name} ~ /${v}/`;
    case "Present": return `${name} present`;
    default: return `${name} ${JSON.stringify(m)}`;
  }
}

function pathMatch(p: Json, caseSensitive: boolean): string {
  const [k, v] = variant(p);
  const ci = caseSensitive === false ? " (case-insensitive)" : "";
  switch (k) {
    case "Prefix": return `prefix ${v}${ci}`;
    case "Exact": return `path = ${v}${ci}`;
    case "Regex": return `path ~ /${v}/${ci}`;
    default: return JSON.stringify(p);
  }
}

function upstream(ir: Json, cluster: string): string {
  const c = ir.clusters?.[cluster];
  if (!c) return cluster;
  return `${c.tls ? "https://" : ""}${c.host}:${c.port}`;
}

/** Canary shares: each route's cumulative numerator minus the one before it in the same group. */
function shares(routes: { group?: string; fraction?: number }[]): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  let group: string | undefined;
  let prev = 0;
  for (const r of routes) {
    if (r.group !== group) { group = r.group; prev = 0; }
    if (r.fraction === undefined) {
      out.push(prev > 0 ? Math.max(100 - prev, 0) : undefined);
      prev = 0;
      group = undefined;
    } else {
      out.push(Math.max(r.fraction - prev, 0));
      prev = r.fraction;
    }
  }
  return out;
}

/** The route table of an IR (the `ir` of `translate`). */
export function routeTableFromIr(ir: Json): RouteTable {
  let count = 0;
  const listeners: ListenerTable[] = (ir?.listeners ?? []).map((l: Json) => ({
    name: l.name,
    port: l.port,
    chains: (l.chains ?? []).map((c: Json): ChainTable => {
      const [kind, body] = variant(c.kind);
      const chain: ChainTable = { name: c.name, serverNames: c.server_names ?? [], tls: !!c.tls, vhosts: [] };
      if (kind === "Tcp") {
        chain.tcp = (body.targets ?? []).map(([cluster, weight]: [string, number]) => ({ target: upstream(ir, cluster), weight }));
        return chain;
      }
      chain.vhosts = (body?.vhosts ?? []).map((vh: Json): VhostTable => {
        const refs = vh.routes ?? [];
        const resolved = refs.map((ref: Json) => ir.routes[ref.route]);
        const sh = shares(resolved.map((r: Json, i: number) => ({
          group: r.group + "|" + refs[i].matcher + "|" + refs[i].action,
          fraction: r.runtime_fraction ? r.runtime_fraction[0] : undefined,
        })));
        const routes = refs.map((ref: Json, i: number): RouteRow => {
          const r = resolved[i];
          const conds = [pathMatch(r.path, r.case_sensitive)];
          for (const h of r.headers ?? []) conds.push(stringMatch(h.name, h.matcher));
          for (const q of r.query_parameters ?? []) conds.push(stringMatch(`?${q.name}`, q.matcher));
          if (ref.matcher === "XfpHttps") conds.push("x-forwarded-proto = https");
          let action: string;
          let target = "";
          const [ak, a] = variant(r.action);
          if (ref.action === "HttpsRedirect") {
            action = "redirect to https";
          } else if (ak === "Forward") {
            target = upstream(ir, a.cluster);
            const parts = ["forward"];
            if (a.prefix_rewrite != null) parts.push(`rewrite ${a.prefix_rewrite}`);
            if (a.regex_rewrite) parts.push(`rewrite /${a.regex_rewrite[0]}/ → ${a.regex_rewrite[1]}`);
            if (a.host_rewrite) parts.push(`host ${a.host_rewrite}`);
            if (a.mirror) parts.push(`shadow ${a.mirror[1]}% to ${upstream(ir, a.mirror[0])}`);
            parts.push(`timeout ${a.timeout_ms} ms`);
            action = parts.join(", ");
          } else if (ak === "Redirect") {
            const path = a.path_redirect ?? (a.prefix_redirect != null ? `${a.prefix_redirect}…` : "");
            target = `${a.host}${path}`;
            action = `redirect${a.response_code ? ` ${a.response_code}` : ""}`;
          } else {
            action = JSON.stringify(r.action);
          }
          count++;
          return { index: i, match: conds.join(", "), action, target, share: sh[i], mapping: r.source };
        });
        return { name: vh.name, domains: vh.domains ?? [], host: vh.host, routes };
      });
      return chain;
    }),
  }));
  return { listeners, routes: count };
}

function get(o: Json, ...keys: string[]): Json {
  if (!o) return undefined;
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
}

function xdsString(name: string, m: Json): string {
  if (!m) return `${name} present`;
  if (m.exact !== undefined) return `${name} = ${m.exact}`;
  if (m.prefix !== undefined) return `${name} starts with ${m.prefix}`;
  if (m.suffix !== undefined) return `${name} ends with ${m.suffix}`;
  const re = get(m, "safe_regex", "safeRegex");
  if (re) return `${name} ~ /${re.regex}/`;
  return `${name} ${JSON.stringify(m)}`;
}

/** The route table of served xDS resources (`{listeners, routes}` as in `/debug/config`). */
export function routeTableFromXds(xds: Json): RouteTable {
  let count = 0;
  const configs = new Map<string, Json>();
  for (const rc of xds?.routes ?? []) configs.set(rc.name, rc);
  // Cluster name → `host:port` of its first static endpoint (EDS clusters keep their name).
  const upstreams = new Map<string, string>();
  for (const c of xds?.clusters ?? []) {
    const ep = get(get(c, "load_assignment", "loadAssignment"), "endpoints")?.[0];
    const lb = get(ep, "lb_endpoints", "lbEndpoints")?.[0];
    const sa = get(get(lb?.endpoint, "address"), "socket_address", "socketAddress");
    if (sa) upstreams.set(c.name, `${get(c, "transport_socket", "transportSocket") ? "https://" : ""}${sa.address}:${get(sa, "port_value", "portValue")}`);
  }
  const upstream = (name: string) => upstreams.get(name) ?? name;
  const listeners: ListenerTable[] = (xds?.listeners ?? []).map((l: Json) => {
    const sock = get(l.address, "socket_address", "socketAddress") ?? {};
    return {
      name: l.name,
      port: get(sock, "port_value", "portValue") ?? 0,
      chains: (get(l, "filter_chains", "filterChains") ?? []).map((c: Json): ChainTable => {
        const fcm = get(c, "filter_chain_match", "filterChainMatch") ?? {};
        const chain: ChainTable = {
          name: c.name ?? "",
          serverNames: get(fcm, "server_names", "serverNames") ?? [],
          tls: !!get(c, "transport_socket", "transportSocket"),
          vhosts: [],
        };
        for (const f of c.filters ?? []) {
          const tc = get(f, "typed_config", "typedConfig") ?? {};
          const rds = tc.rds;
          const tcpCluster = tc.cluster;
          if (rds) {
            const rc = configs.get(get(rds, "route_config_name", "routeConfigName"));
            for (const vh of get(rc, "virtual_hosts", "virtualHosts") ?? []) {
              const routes = (vh.routes ?? []).map((r: Json, i: number): RouteRow => {
                const m = r.match ?? {};
                const conds: string[] = [];
                if (m.prefix !== undefined) conds.push(`prefix ${m.prefix}`);
                if (m.path !== undefined) conds.push(`path = ${m.path}`);
                const re = get(m, "safe_regex", "safeRegex");
                if (re) conds.push(`path ~ /${re.regex}/`);
                if (get(m, "case_sensitive", "caseSensitive") === false) conds.push("(case-insensitive)");
                for (const h of m.headers ?? []) conds.push(xdsString(h.name, get(h, "string_match", "stringMatch") ?? (get(h, "present_match", "presentMatch") ? undefined : h)));
                for (const q of get(m, "query_parameters", "queryParameters") ?? []) conds.push(xdsString(`?${q.name}`, get(q, "string_match", "stringMatch")));
                const rf = get(m, "runtime_fraction", "runtimeFraction");
                let action = "";
                let target = "";
                if (r.route) {
                  target = r.route.cluster ? upstream(r.route.cluster) : "";
                  const wc = get(r.route, "weighted_clusters", "weightedClusters");
                  if (wc) target = (wc.clusters ?? []).map((x: Json) => `${upstream(x.name)} ${x.weight}`).join(", ");
                  const parts = ["forward"];
                  const pr = get(r.route, "prefix_rewrite", "prefixRewrite");
                  if (pr !== undefined) parts.push(`rewrite ${pr}`);
                  if (r.route.timeout) parts.push(`timeout ${r.route.timeout}`);
                  action = parts.join(", ");
                } else if (r.redirect) {
                  const https = get(r.redirect, "https_redirect", "httpsRedirect");
                  action = https ? "redirect to https" : "redirect";
                  target = get(r.redirect, "host_redirect", "hostRedirect") ?? "";
                } else if (get(r, "direct_response", "directResponse")) {
                  action = `respond ${get(r, "direct_response", "directResponse").status}`;
                }
                count++;
                const row: RouteRow = { index: i, match: conds.join(", "), action, target };
                if (rf) row.share = get(get(rf, "default_value", "defaultValue"), "numerator") ?? 0;
                return row;
              });
              chain.vhosts.push({ name: vh.name, domains: vh.domains ?? [], routes });
            }
          } else if (tcpCluster) {
            chain.tcp = [{ target: upstream(tcpCluster), weight: 100 }];
          }
        }
        return chain;
      }),
    };
  });
  return { listeners, routes: count };
}

/** Rows whose text contains every word of the filter (case-insensitive). */
export function filterRow(row: RouteRow, words: string[]): boolean {
  if (words.length === 0) return true;
  const hay = `${row.match} ${row.action} ${row.target} ${row.mapping ? `${row.mapping.namespace}/${row.mapping.name}` : ""}`.toLowerCase();
  return words.every((w) => hay.includes(w));
}
