// Collects the examples menu: a curated set of tests/golden/ cases (valid and
// invalid) and the quickstart, into src/generated/examples.json.
import { readFileSync, readdirSync, mkdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const golden = join(root, "tests", "golden");

// [group, case, title, request to try, headers] — ordered so a newcomer meets the features in turn.
const CHOSEN = [
  ["Start here", "quickstart", "Quickstart: backend, canary, TLS Host, redirect", "GET http://example.com/api/users"],
  ["Routing", "mapping/basic-prefix", "One Mapping, one prefix", "GET http://example.com/quote/today"],
  ["Routing", "mapping/route-ordering", "Which route wins: ordering rules", "GET http://example.com/api/v1/users"],
  ["Routing", "mapping/header-and-query-matches", "Header and query parameter matches", "POST http://example.com/hq/x?debug=1&page=2", "x-user: alice\nx-version: v1"],
  ["Routing", "mapping/prefix-regex-and-exact", "Prefix, regex and exact paths", "GET http://example.com/items/42"],
  ["Routing", "mapping/host-and-hostname", "Routing by hostname", "GET http://example.com/both/x"],
  ["Routing", "mapping/hostname-globs", "Hostname globs", "GET http://example.com/prefix/x"],
  ["Rewrites", "mapping/rewrite-and-regex-rewrite", "Path rewrites", "GET http://example.com/app/x"],
  ["Rewrites", "mapping/host-redirects", "Host redirects", "GET http://example.com/old/page"],
  ["Rewrites", "mapping/header-edits", "Adding and removing headers", "GET http://example.com/h/x"],
  ["Canaries", "mapping/canary-weights", "Canary: weighted versions", "GET http://example.com/shop/cart"],
  ["Canaries", "mapping/canary-weighted-and-unweighted", "Canary: weighted and unweighted", "GET http://example.com/u/x"],
  ["Canaries", "mapping/shadow", "Shadow traffic", "GET http://example.com/orders/7"],
  ["Upstreams", "mapping/timeouts-and-retries", "Timeouts and retries", "GET http://example.com/slow/x"],
  ["Upstreams", "mapping/service-forms", "Service forms", "GET http://example.com/qualified/x"],
  ["Upstreams", "mapping/cors", "CORS", "OPTIONS http://example.com/cors/x"],
  ["Hosts and TLS", "host/insecure-actions", "Insecure actions: route, redirect, reject", "GET http://redirect.example.local/all/x"],
  ["Hosts and TLS", "host/tls-secret", "A Host with a TLS Secret", "GET https://secure.example.local/s/x"],
  ["Hosts and TLS", "tls/origination", "TLS to the upstream", "GET http://edge.example.local/api/x"],
  ["Listeners", "listener/protocols-and-models", "Listener protocols and security models", "GET http://h.example.com:8081/m/x"],
  ["Listeners", "tcpmapping/plain-and-sni", "TCPMappings: plain and by SNI", "GET https://db.example.com:5432/"],
  ["Services", "authservice/http-settings", "External authentication", "GET http://example.com/tenant/x"],
  ["Services", "ratelimit/labels", "Rate limit labels", "GET http://example.com/api/x"],
  ["Services", "module/http-settings", "The ambassador Module", "GET http://example.com/m/x"],
  ["With errors", "mapping-invalid/missing-prefix-and-service", "Missing prefix and service", "GET http://example.com/"],
  ["With errors", "mapping-invalid/bad-regexes", "Invalid regular expressions", "GET http://example.com/b/x"],
  ["With errors", "mapping-invalid/wrong-types", "Fields of the wrong type", "GET http://example.com/"],
  ["With errors", "mapping-invalid/weights-over-100", "Canary weights over 100", "GET http://example.com/w/x"],
  ["With errors", "mapping-invalid/no-matching-host", "A Mapping no Host takes", "GET http://only.example.com/x"],
  ["With errors", "host-invalid/missing-secret", "A Host whose Secret is missing", "GET https://a.example.com/m/x"],
  ["With errors", "listener-invalid/duplicate-port", "Two Listeners on one port", "GET http://example.com/m/x"],
];

function readCase(id) {
  if (id === "quickstart") {
    const dir = join(root, "examples", "quickstart");
    return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()
      .map((f) => readFileSync(join(dir, f), "utf8").replace(/\n*$/, "\n")).join("");
  }
  const file = join(golden, id, "input.yaml");
  if (!existsSync(file)) throw new Error(`examples: ${id} has no input.yaml under tests/golden/`);
  return readFileSync(file, "utf8");
}

const out = CHOSEN.map(([group, id, title, request, headers = ""]) => ({ id, group, title, request, headers, yaml: readCase(id) }));
const dest = join(root, "web-playground", "src", "generated");
mkdirSync(dest, { recursive: true });
writeFileSync(join(dest, "examples.json"), JSON.stringify(out));
console.log(`examples: ${out.length} cases into src/generated/examples.json`);
