// What the browser tests share: a static server for dist/, the system
// Chromium driven by playwright-core (never a downloaded browser), and the
// screenshot directory (target/playground/).
import { createServer } from "node:http";
import { readFile, mkdtemp, mkdir, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const root = fileURLToPath(new URL("../../../", import.meta.url));
export const dist = join(root, "web-playground", "dist");
export const shots = join(root, "target", "playground");

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".json": "application/json", ".svg": "image/svg+xml",
};

/** Serves `dir` on 127.0.0.1 (any free port); `hooks[path]` can answer a path instead. */
export async function serveStatic(dir = dist, hooks = {}) {
  if (!existsSync(join(dir, "index.html"))) throw new Error(`${dir}/index.html is missing: run npm run build first`);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (hooks[path]) return hooks[path](req, res);
    const file = normalize(join(dir, path.endsWith("/") ? `${path}index.html` : path));
    if (!file.startsWith(dir)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export async function launch() {
  const userDataDir = await mkdtemp(join(tmpdir(), "playground-chromium-"));
  // A fresh profile directory each run (playwright passes it as --user-data-dir).
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    viewport: { width: 1400, height: 900 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]).catch(() => {});
  context.setDefaultTimeout(15_000);
  const errors = [];
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => errors.push(String(e)));
  return {
    context, page, errors,
    async close() { await context.close(); await rm(userDataDir, { recursive: true, force: true }); },
  };
}

export async function shot(page, name) {
  await mkdir(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

/** Waits until the page has translated its current text (the worker answered). */
export async function translated(page) {
  await page.waitForFunction(() => document.body.dataset.wasm === "ready" && document.body.dataset.translatedSeq, null, { timeout: 20_000 });
  const seq = await page.evaluate(() => document.body.dataset.translatedSeq);
  return Number(seq);
}

export async function untilTranslatedAfter(page, seq) {
  await page.waitForFunction((s) => Number(document.body.dataset.translatedSeq) > s, seq, { timeout: 20_000 });
}
