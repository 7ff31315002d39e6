import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { routeTableFromIr, routeTableFromXds, filterRow } from "../../build/lib/routes.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const pkg = `${root}host-wasm/pkg/node/emissary_wasm.js`;
const wasm = existsSync(pkg) ? createRequire(import.meta.url)(pkg) : null;
const golden = (c) => readFileSync(`${root}tests/golden/${c}/input.yaml`, "utf8");

const ref = (name) => ({ kind: "Mapping", namespace: "default", name });
const fwd = (cluster, extra = {}) => ({ Forward: { cluster, timeout_ms: 3000, prefix_rewrite: "/", regex_rewrite: null, host_rewrite: null, mirror: null, ...extra } });
const route = (name, path, action, extra = {}) => ({
  source: ref(name), group: name, path, case_sensitive: true, headers: [], query_parameters: [], runtime_fraction: null, action, ...extra,
});

test("IR: listeners, chains, virtual hosts and routes in order, with their Mapping", () => {
  const ir = {
    listeners: [{ name: "listener-8080", port: 8080, chains: [
      { name: "http", server_names: [], tls: null, kind: { Http: { route_config: "r", vhosts: [
        { name: "*", host: { kind: "Host", namespace: "default", name: "any" }, domains: ["*"], routes: [
          { route: 0, matcher: "XfpHttps", action: "Route" },
          { route: 0, matcher: "XfpHttp", action: "HttpsRedirect" },
          { route: 1, matcher: "Always", action: "Route" },
        ] },
      ] } } },
      { name: "tcp-default-db", server_names: ["db.example.com"], tls: { context: "c" }, kind: { Tcp: { stat_prefix: "s", targets: [["cluster_db", 100]] } } },
    ] }],
    routes: [
      route("api", { Prefix: "/api/" }, fwd("cluster_api", { regex_rewrite: ["^/api/(.*)", "/\\1"] }), {
        case_sensitive: false,
        headers: [{ name: ":method", matcher: { Exact: "GET" } }, { name: "x-canary", matcher: "Present" }],
        query_parameters: [{ name: "debug", matcher: { Regex: "1|true" } }],
      }),
      route("old", { Exact: "/old" }, { Redirect: { host: "new.example.com", path_redirect: "/new", response_code: 301 } }),
    ],
    clusters: { cluster_api: { host: "api", port: 80, tls: null }, cluster_db: { host: "db", port: 5432, tls: null } },
  };
  const t = routeTableFromIr(ir);
  assert.equal(t.routes, 3);
  const [l] = t.listeners;
  assert.equal(l.port, 8080);
  const [http, tcp] = l.chains;
  assert.deepEqual(tcp.tcp, [{ target: "db:5432", weight: 100 }]);
  assert.equal(tcp.tls, true);
  assert.deepEqual(tcp.serverNames, ["db.example.com"]);
  const rows = http.vhosts[0].routes;
  assert.equal(rows[0].match, "prefix /api/ (case-insensitive), :method = GET, x-canary present, ?debug ~ /1|true/, x-forwarded-proto = https");
  assert.equal(rows[0].action, "forward, rewrite /, rewrite /^/api/(.*)/ → /\\1, timeout 3000 ms");
  assert.equal(rows[0].target, "api:80");
  assert.deepEqual(rows[0].mapping, ref("api"));
  assert.equal(rows[1].action, "redirect to https");
  assert.equal(rows[2].match, "path = /old");
  assert.equal(rows[2].action, "redirect 301");
  assert.equal(rows[2].target, "new.example.com/new");
  assert.equal(rows[2].share, undefined);
  assert.deepEqual(http.vhosts[0].host, { kind: "Host", namespace: "default", name: "any" });
});

test("IR: canary shares are the differences of the cumulative fractions", () => {
  const ir = {
    listeners: [{ name: "l", port: 80, chains: [{ name: "http", server_names: [], tls: null, kind: { Http: { vhosts: [
      { name: "*", domains: ["*"], routes: [0, 1, 2, 3].map((route) => ({ route, matcher: "Always", action: "Route" })) },
    ] } } }] }],
    routes: [
      route("v2", { Prefix: "/shop/" }, fwd("c2"), { group: "g", runtime_fraction: [30, "k"] }),
      route("v3", { Prefix: "/shop/" }, fwd("c3"), { group: "g", runtime_fraction: [50, "k"] }),
      route("v1", { Prefix: "/shop/" }, fwd("c1"), { group: "g" }),
      route("other", { Prefix: "/" }, fwd("c4"), { group: "h" }),
    ],
    clusters: {},
  };
  const rows = routeTableFromIr(ir).listeners[0].chains[0].vhosts[0].routes;
  assert.deepEqual(rows.map((r) => r.share), [30, 20, 50, undefined]);
  assert.equal(rows[0].target, "c2"); // unknown cluster: its name
});

test("IR of a real translation (tests/golden/mapping/canary-weights)", { skip: !wasm && "host-wasm/pkg not built" }, () => {
  const r = wasm.translate(golden("mapping/canary-weights"), { placeholderSecrets: true });
  const t = routeTableFromIr(r.ir);
  const rows = t.listeners[0].chains[0].vhosts[0].routes.filter((x) => x.mapping.name.startsWith("v"));
  assert.deepEqual(rows.map((x) => [x.mapping.name, x.match, x.target, x.share]), [
    ["v2", "prefix /shop/", "shop-v2:80", 30],
    ["v3", "prefix /shop/", "shop-v3:80", 20],
    ["v1", "prefix /shop/", "shop-v1:80", 50],
  ]);
  // Both listeners (8080, 8443) share the one RouteConfiguration.
  assert.deepEqual(t.listeners.map((l) => l.port), [8080, 8443]);
  assert.equal(t.routes, 2 * r.xds.routes[0].virtual_hosts[0].routes.length);
});

test("xDS (live mode): routes through RDS names, TCP proxies, canary numerators", { skip: !wasm && "host-wasm/pkg not built" }, () => {
  const r = wasm.translate(golden("mapping/canary-weights"), { placeholderSecrets: true });
  const t = routeTableFromXds(r.xds);
  const fromIr = routeTableFromIr(r.ir);
  assert.equal(t.routes, fromIr.routes);
  assert.deepEqual(t.listeners.map((l) => l.port), fromIr.listeners.map((l) => l.port));
  const rows = t.listeners[0].chains[0].vhosts[0].routes;
  const shop = rows.filter((x) => x.match === "prefix /shop/");
  assert.deepEqual(shop.map((x) => [x.target, x.share]), [
    ["shop-v2:80", 30], ["shop-v3:80", 50], ["shop-v1:80", undefined],
  ]);
  assert.equal(shop[0].mapping, undefined);
});

test("row filter matches every word anywhere in the row", () => {
  const row = { index: 0, match: "prefix /api/", action: "forward", target: "api:80", mapping: ref("api-v1") };
  assert.ok(filterRow(row, []));
  assert.ok(filterRow(row, ["api", "v1"]));
  assert.ok(filterRow(row, ["forward", ":80"]));
  assert.ok(!filterRow(row, ["redirect"]));
});
