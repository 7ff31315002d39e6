// Copies the wasm package that `bash host-wasm/build.sh` builds
// (host-wasm/pkg/web/) into src/generated/wasm/ for Vite to bundle.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pkg = join(root, "host-wasm", "pkg", "web");
const dest = join(root, "web-playground", "src", "generated", "wasm");
const files = ["emissary_wasm.js", "emissary_wasm.d.ts", "emissary_wasm_bg.wasm", "emissary_wasm_bg.wasm.d.ts"];
if (!files.every((f) => existsSync(join(pkg, f)))) {
  console.error(`wasm: ${pkg} is missing or incomplete; build it first with: bash host-wasm/build.sh`);
  process.exit(1);
}
mkdirSync(dest, { recursive: true });
for (const f of files) copyFileSync(join(pkg, f), join(dest, f));
console.log("wasm: copied host-wasm/pkg/web into src/generated/wasm");
