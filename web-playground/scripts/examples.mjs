// Collects the examples menu: a curated set of tests/golden/ cases (valid and
// invalid) and the quickstart, into src/generated/examples.json.
import { readFileSync, readdirSync, mkdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const golden = join(root, "tests", "golden");

// [group, case, title, request to try] — ordered so a newcomer meets the features in turn.
const CHOSEN = [
  ["Start here", "quickstart", "Quickstart: backend, canary, TLS Host, redirect", "GET https://secure.example.local/secure/x"],
  ["Routing", "mapping/basic-prefix", "One Mapping, one prefix", "GET http://example.com/quote/today"],
  ["Routing", "mapping/route-ordering", "Which route wins: ordering rules", "GET http://example.com/api/v1/users"],
  ["Routing", "mapping/header-and-query-matches", "Header and query parameter matches", "GET http://example.com/"],
  ["Routing", "mapping/prefix-regex-and-exact", "Prefix, regex and exact paths", "GET http://example.com/"],
  ["Routing", "mapping/host-and-hostname", "Routing by hostname", "GET http://foo.example.com/"],
  ["Routing", "mapping/hostname-globs", "Hostname globs", "GET http://a.example.com/"],
  ["Rewrites", "mapping/rewrite-and-regex-rewrite", "Path rewrites", "GET http://example.com/"],
  ["Rewrites", "mapping/host-redirects", "Host redirects", "GET http://example.com/"],
  ["Rewrites", "mapping/header-edits", "Adding and removing headers", "GET http://example.com/"],
  ["Canaries", "mapping/canary-weights", "Canary: weighted versions", "GET http://example.com/shop/cart"],
  ["Canaries", "mapping/canary-weighted-and-unweighted", "Canary: weighted and unweighted", "GET http://example.com/"],
  ["Canaries", "mapping/shadow", "Shadow traffic", "GET http://example.com/"],
  ["Upstreams", "mapping/timeouts-and-retries", "Timeouts and retries", "GET http://example.com/"],
  ["Upstreams", "mapping/service-forms", "Service forms", "GET http://example.com/"],
  ["Upstreams", "mapping/cors", "CORS", "GET http://example.com/"],
  ["Hosts and TLS", "host/insecure-actions", "Insecure actions: route, redirect, reject", "GET http://example.com/"],
  ["Hosts and TLS", "host/tls-secret", "A Host with a TLS Secret", "GET https://example.com/"],
  ["Hosts and TLS", "tls/origination", "TLS to the upstream", "GET http://example.com/"],
  ["Listeners", "listener/protocols-and-models", "Listener protocols and security models", "GET http://example.com/"],
  ["Listeners", "tcpmapping/plain-and-sni", "TCPMappings: plain and by SNI", "GET http://example.com/"],
  ["Services", "authservice/http-settings", "External authentication", "GET http://example.com/"],
  ["Services", "ratelimit/labels", "Rate limit labels", "GET http://example.com/"],
  ["Services", "module/http-settings", "The ambassador Module", "GET http://example.com/"],
  ["With errors", "mapping-invalid/missing-prefix-and-service", "Missing prefix and service", "GET http://example.com/"],
  ["With errors", "mapping-invalid/bad-regexes", "Invalid regular expressions", "GET http://example.com/"],
  ["With errors", "mapping-invalid/wrong-types", "Fields of the wrong type", "GET http://example.com/"],
  ["With errors", "mapping-invalid/weights-over-100", "Canary weights over 100", "GET http://example.com/"],
  ["With errors", "mapping-invalid/no-matching-host", "A Mapping no Host takes", "GET http://example.com/"],
  ["With errors", "host-invalid/missing-secret", "A Host whose Secret is missing", "GET https://example.com/"],
  ["With errors", "listener-invalid/duplicate-port", "Two Listeners on one port", "GET http://example.com/"],
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

const out = CHOSEN.map(([group, id, title, request]) => ({ id, group, title, request, yaml: readCase(id) }));
const dest = join(root, "web-playground", "src", "generated");
mkdirSync(dest, { recursive: true });
writeFileSync(join(dest, "examples.json"), JSON.stringify(out));
console.log(`examples: ${out.length} cases into src/generated/examples.json`);
