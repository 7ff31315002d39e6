// The playground page: the editor, the output tabs, the request tester, the
// examples menu, share links and, when served by `emissary serve` under
// /ui/, the read-only live view of the configuration being served.
import "./style.css";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection, placeholder,
} from "@codemirror/view";
import { defaultKeymap, history as undoHistory, historyKeymap, indentWithTab } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { json } from "@codemirror/lang-json";
import {
  syntaxHighlighting, defaultHighlightStyle, foldGutter, foldKeymap, bracketMatching, indentOnInput,
} from "@codemirror/language";
import { lintGutter, lintKeymap, setDiagnostics, type Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { oneDark } from "@codemirror/theme-one-dark";
import { stringify as yamlStringify } from "yaml";

import examples from "./generated/examples.json";
import { decodeFragment, encodeFragment, TABS, type Tab } from "./lib/fragment.ts";
import { counts, lineStarts, objectLabel, toMarks, type Diagnostic, type Mark, type ObjectRef } from "./lib/diagnostics.ts";
import { filterRow, routeTableFromIr, routeTableFromXds, type RouteRow, type RouteTable } from "./lib/routes.ts";
import { parseRequest } from "./lib/request.ts";
import { findObject } from "./lib/objects.ts";
import type { FromWorker, Options, ToWorker } from "./protocol.ts";

interface Example { id: string; group: string; title: string; request: string; headers: string; yaml: string }
const EXAMPLES = examples as Example[];
const STORE_TEXT = "playground-text";
const STORE_THEME = "playground-theme";
/** Alt+1…5, in the order of the tab bar. */
const TAB_KEYS: Tab[] = ["routes", "request", "envoy", "ir", "problems"];
const OPTIONS: Options = { placeholderSecrets: true };

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
};

// ---------------------------------------------------------------- state
let view: EditorView;
let worker: Worker | null = null;
let wasmReady = false;
let seq = 0;
let sentText = new Map<number, string>();
let diagnostics: Diagnostic[] = [];
let marks: Mark[] = [];
let table: RouteTable | null = null;
let translatedSeq = -1;
let renderedFor = { envoy: "", ir: "" };
let explainSeq = 0;
let lastRequestRun = false;
let activeTab: Tab = "routes";
let live: { text: string; state: any } | null = null; // eslint-disable-line @typescript-eslint/no-explicit-any
const themeCompartment = new Compartment();
const viewers: Record<string, EditorView> = {};
const viewerLang: Record<string, Compartment> = {};

function theme(): "light" | "dark" {
  return document.documentElement.dataset.theme === "dark" ? "dark" : "light";
}
function themeExtension(): Extension {
  return theme() === "dark" ? oneDark : syntaxHighlighting(defaultHighlightStyle, { fallback: true });
}

function toast(text: string) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout((toast as unknown as { timer: number }).timer);
  (toast as unknown as { timer: number }).timer = window.setTimeout(() => (t.hidden = true), 2200);
}

function banner(text: string | null) {
  const b = $("banner");
  b.hidden = !text;
  b.textContent = text ?? "";
}

function setStatus(text: string) {
  $("status").textContent = text;
}

// ---------------------------------------------------------------- editor
function editorText(): string {
  return view.state.doc.toString();
}

function createEditor(text: string) {
  view = new EditorView({
    parent: $("editor"),
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(), highlightActiveLineGutter(), foldGutter(), lintGutter(), undoHistory(), drawSelection(),
        indentOnInput(), bracketMatching(), highlightActiveLine(), highlightSelectionMatches(),
        EditorState.tabSize.of(2),
        placeholder("Paste Emissary manifests here (Listener, Host, Mapping, …), or pick an example above."),
        yaml(),
        themeCompartment.of(themeExtension()),
        keymap.of([indentWithTab, ...defaultKeymap, ...historyKeymap, ...foldKeymap, ...searchKeymap, ...lintKeymap]),
        EditorView.updateListener.of((u) => { if (u.docChanged) scheduleUpdate(); }),
        EditorView.contentAttributes.of({ "aria-label": "Manifests editor" }),
      ],
    }),
  });
}

function replaceText(text: string) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: 0 }, scrollIntoView: true });
}

function selectSpan(from: number, to: number) {
  const len = view.state.doc.length;
  from = Math.min(from, len);
  to = Math.min(Math.max(to, from), len);
  view.dispatch({ selection: { anchor: from, head: to }, effects: EditorView.scrollIntoView(from, { y: "center" }) });
  view.focus();
}

function selectObject(ref: ObjectRef) {
  if (live) {
    toast(`${objectLabel(ref)}: the live view shows what is served, not the manifests`);
    return;
  }
  const span = findObject(editorText(), ref);
  if (span) selectSpan(span.from, span.to);
  else toast(`${objectLabel(ref)} is not in the editor's text`);
}

// ---------------------------------------------------------------- worker
let timer = 0;
let saveTimer = 0;
function scheduleUpdate() {
  clearTimeout(timer);
  const len = view.state.doc.length;
  timer = window.setTimeout(sendUpdate, len < 50_000 ? 15 : 40);
  // The text survives a reload; saved once typing pauses. Not above 100 KB:
  // localStorage writes block the page (about 70 ms for 250 KB).
  clearTimeout(saveTimer);
  saveTimer = window.setTimeout(() => {
    try { localStorage.setItem(STORE_TEXT, view.state.doc.length <= 100_000 ? editorText() : ""); } catch { /* storage full or off */ }
  }, 300);
}

function sendUpdate() {
  if (!worker || !wasmReady) return;
  const text = editorText();
  seq++;
  sentText = new Map([[seq, text]]);
  if (!text.trim()) {
    diagnostics = [];
    applyDiagnostics(text, seq);
    table = null;
    translatedSeq = seq;
    renderedFor = { envoy: "", ir: "" };
    renderRoutes();
    refreshOutputs();
    return;
  }
  post({ type: "update", seq, text, options: OPTIONS, quietMs: text.length < 50_000 ? 0 : 250 });
}

function post(m: ToWorker) {
  worker?.postMessage(m);
}

function startWorker() {
  setStatus("Loading the translator…");
  try {
    worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  } catch (e) {
    wasmFailed(e instanceof Error ? e.message : String(e));
    return;
  }
  worker.onerror = (e) => wasmFailed(e.message || "the worker script did not load");
  worker.onmessage = (ev: MessageEvent<FromWorker>) => onWorker(ev.data);
}

function wasmFailed(message: string) {
  wasmReady = false;
  banner(`The translator (WebAssembly) failed to load: ${message}. The editor works, but nothing is checked or translated; reload the page to try again.`);
  setStatus("translator not loaded");
  document.body.dataset.wasm = "failed";
}

function onWorker(m: FromWorker) {
  switch (m.type) {
    case "ready":
      wasmReady = true;
      document.body.dataset.wasm = "ready";
      $("version").textContent = `emissary ${m.version}`;
      sendUpdate();
      break;
    case "fatal":
      wasmFailed(m.message);
      break;
    case "diagnostics": {
      if (m.seq !== seq) return;
      diagnostics = m.diagnostics;
      applyDiagnostics(sentText.get(m.seq) ?? editorText(), m.seq);
      setStatus(`checked in ${m.ms.toFixed(0)} ms`);
      break;
    }
    case "translated":
      if (m.seq !== seq) return;
      table = m.table;
      translatedSeq = m.seq;
      renderedFor = { envoy: "", ir: "" };
      document.body.dataset.translatedSeq = String(m.seq);
      setStatus(`checked and translated in ${m.ms.toFixed(0)} ms`);
      renderRoutes();
      refreshOutputs();
      if (lastRequestRun) runRequest(false);
      break;
    case "explained":
      if (m.seq !== explainSeq) return;
      renderExplanation(m.explanation, m.error);
      break;
    case "rendered":
      if (m.seq !== translatedSeq && m.seq !== -1) return;
      setViewer(m.what === "ir" ? "ir" : "envoy", m.text);
      break;
    case "failed":
      if (m.seq !== seq) return;
      setStatus(`translator error: ${m.error}`);
      break;
  }
}

// ---------------------------------------------------------------- diagnostics
function applyDiagnostics(text: string, forSeq: number) {
  marks = toMarks(text, diagnostics, lineStarts(text));
  const cm: CmDiagnostic[] = marks.map((mk) => ({
    from: mk.from, to: mk.to, severity: mk.severity, message: mk.message, source: mk.code,
  }));
  view.dispatch(setDiagnostics(view.state, cm));
  renderProblems();
  document.body.dataset.diagSeq = String(forSeq);
  // For measurements: when the newest diagnostics reached the editor.
  performance.clearMarks("diagnostics");
  performance.mark("diagnostics", { detail: forSeq });
}

function renderProblems() {
  const c = counts(diagnostics);
  const badge = $("problem-count");
  const n = c.error + c.warning + c.info;
  badge.textContent = n ? String(n) : "";
  badge.className = `count ${c.error ? "error" : c.warning ? "warning" : ""}`;
  const box = $("problems");
  box.replaceChildren();
  if (live) return renderLiveProblems();
  if (!editorText().trim()) {
    box.append(el("div", { class: "empty" }, "No manifests, no problems."));
    return;
  }
  if (n === 0) {
    box.append(el("div", { class: "empty" }, "No problems: every object was accepted."));
    return;
  }
  const frag = document.createDocumentFragment();
  for (const mk of marks) {
    const d = diagnostics[mk.index];
    const row = el("div", { class: "problem", tabindex: "0", "data-line": mk.where.split(":")[0] ?? "" },
      el("span", { class: `sev ${d.severity}` }, d.severity),
      el("span", { class: "where" }, mk.where || "—"),
      el("div", {}, el("div", { class: "message" }, d.message),
        el("div", { class: "code" }, d.code + (d.path ? ` · ${d.path}` : "")),
        ...(d.object ? [el("div", { class: "object" }, objectLabel(d.object))] : []),
        ...(d.help ? [el("div", { class: "help" }, d.help)] : [])),
    );
    const go = () => {
      if (d.range) selectSpan(mk.from, mk.from);
      else if (d.object) selectObject(d.object);
    };
    row.addEventListener("click", go);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    frag.append(row);
  }
  box.append(frag);
}

// ---------------------------------------------------------------- route table
/** The routes Emissary adds by itself (its diagnostics paths) carry these names. */
const builtin = (m: ObjectRef) => m.name.startsWith("internal-ambassador-");

function routeRow(box: HTMLElement, r: RouteRow): HTMLElement {
  const tr = el("tr", { "data-mapping": r.mapping ? `${r.mapping.namespace}/${r.mapping.name}` : "" },
    el("td", {}, String(r.index + 1)),
    el("td", { class: "match" }, r.match),
    el("td", {}, r.action, ...(r.share !== undefined ? [" ", el("span", { class: "share" }, `${r.share}%`)] : [])),
    el("td", { class: "target" }, r.target),
    el("td", {}, !r.mapping ? "—" : builtin(r.mapping) ? "built in" : `${r.mapping.namespace}/${r.mapping.name}`),
  );
  if (r.mapping && builtin(r.mapping)) {
    tr.title = "Emissary's built-in route to the daemon's admin endpoint (/ambassador/v0/); no Mapping in the text";
    tr.classList.add("builtin");
  } else if (r.mapping) {
    const ref = r.mapping;
    tr.title = `Select ${objectLabel(ref)} in the editor`;
    tr.addEventListener("click", () => {
      box.querySelectorAll("tr.selected").forEach((x) => x.classList.remove("selected"));
      tr.classList.add("selected");
      selectObject(ref);
    });
  }
  return tr;
}

/**
 * Rows are added in slices, so that a table of thousands of routes never
 * holds up typing; each 100 rows are a table of their own (same fixed
 * column widths) that the browser skips laying out while off screen.
 */
let routesGeneration = 0;
function fillRows(box: HTMLElement, jobs: { section: HTMLElement; rows: RouteRow[] }[]) {
  const gen = ++routesGeneration;
  let j = 0;
  let i = 0;
  const slice = () => {
    if (gen !== routesGeneration) return;
    const deadline = performance.now() + 12;
    while (j < jobs.length && performance.now() < deadline) {
      const { section, rows } = jobs[j];
      const tbody = el("tbody");
      const end = Math.min(i + 100, rows.length);
      for (; i < end; i++) tbody.append(routeRow(box, rows[i]));
      section.append(el("div", { class: "chunk" }, el("table", { class: "routes" }, tbody)));
      if (i >= rows.length) { j++; i = 0; }
    }
    if (j < jobs.length) setTimeout(slice, 0);
    else box.dataset.complete = "1";
  };
  box.dataset.complete = "";
  slice();
}

function renderRoutes() {
  routesGeneration++;
  const box = $("routes");
  const words = ($("route-filter") as HTMLInputElement).value.toLowerCase().split(/\s+/).filter(Boolean);
  box.replaceChildren();
  const summary = $("route-summary");
  if (!live && !editorText().trim()) {
    summary.textContent = "";
    box.append(el("div", { class: "empty" },
      el("h2", {}, "Nothing to route yet"),
      el("p", {}, "Write Emissary manifests on the left (a Listener, a Host and a Mapping make a first route), or pick one of the examples. The routes Envoy would get appear here, in the order Envoy tries them.")));
    return;
  }
  if (!table) {
    summary.textContent = wasmReady || live ? "translating…" : "";
    return;
  }
  summary.textContent = `${table.routes} routes on ${table.listeners.length} listeners`;
  if (performance.getEntriesByName("first-routes").length === 0) performance.mark("first-routes");
  if (table.listeners.length === 0) {
    box.append(el("div", { class: "empty" },
      el("h2", {}, "No listeners"),
      el("p", {}, "Envoy gets no listener from these manifests, so nothing is routed. Emissary needs at least one Listener object and a Host that it binds; see the Problems tab.")));
    return;
  }
  const frag = document.createDocumentFragment();
  const jobs: { section: HTMLElement; rows: RouteRow[] }[] = [];
  let shown = 0;
  for (const l of table.listeners) {
    frag.append(el("div", { class: "group listener" }, `Listener ${l.name} · port ${l.port}`));
    for (const c of l.chains) {
      const sni = c.serverNames.length ? ` · SNI ${c.serverNames.join(", ")}` : "";
      frag.append(el("div", { class: "group chain" }, `Filter chain ${c.name || "(default)"}${c.tls ? " · TLS" : ""}${sni}`));
      if (c.tcp) {
        for (const t of c.tcp) frag.append(el("div", { class: "group vhost" }, `TCP → ${t.target} (${t.weight}%)`));
        continue;
      }
      for (const vh of c.vhosts) {
        const rows = vh.routes.filter((r) => filterRow(r, words));
        if (words.length && rows.length === 0) continue;
        frag.append(el("div", { class: "group vhost" }, `Virtual host ${vh.domains.join(", ")}${vh.host ? ` · ${objectLabel(vh.host)}` : ""}`));
        const section = el("div", { class: "vhost-routes" });
        shown += rows.length;
        jobs.push({ section, rows });
        const head = el("thead", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "Match"), el("th", {}, "Action"), el("th", {}, "Upstream / location"), el("th", {}, "Mapping")));
        section.append(el("table", { class: "routes" }, head));
        frag.append(section);
      }
    }
  }
  if (words.length && shown === 0) frag.append(el("div", { class: "empty" }, "No route matches the filter."));
  box.append(frag);
  fillRows(box, jobs);
}

// ---------------------------------------------------------------- Envoy and IR viewers
function viewer(which: "envoy" | "ir"): EditorView {
  if (!viewers[which]) {
    viewerLang[which] = new Compartment();
    viewers[which] = new EditorView({
      parent: $(`${which}-view`),
      state: EditorState.create({
        doc: "",
        extensions: [
          lineNumbers(), foldGutter(), drawSelection(), highlightSelectionMatches(), EditorState.readOnly.of(true),
          viewerLang[which].of(json()), themeCompartment.of(themeExtension()),
          keymap.of([...defaultKeymap, ...foldKeymap, ...searchKeymap]),
          EditorView.contentAttributes.of({ "aria-label": which === "ir" ? "IR" : "Envoy configuration" }),
        ],
      }),
    });
  }
  return viewers[which];
}

function currentFormat(which: "envoy" | "ir"): "json" | "yaml" {
  return ($(which === "ir" ? "ir-format" : "envoy-format") as HTMLSelectElement).value as "json" | "yaml";
}

function setViewer(which: "envoy" | "ir", text: string) {
  const v = viewer(which);
  v.dispatch({
    changes: { from: 0, to: v.state.doc.length, insert: text },
    effects: viewerLang[which].reconfigure(currentFormat(which) === "yaml" ? yaml() : json()),
  });
  v.dom.parentElement!.dataset.filled = text ? "1" : "";
}

function refreshOutputs() {
  if (activeTab !== "envoy" && activeTab !== "ir") return;
  const which = activeTab;
  const what = which === "ir" ? "ir" : ($("envoy-what") as HTMLSelectElement).value;
  const key = `${translatedSeq}|${what}|${currentFormat(which)}|${live ? live.text.length : ""}`;
  if (renderedFor[which] === key) return;
  renderedFor[which] = key;
  if (live) {
    const cfg = live.state.config ?? {};
    const value = what === "bootstrap" ? null : cfg[what];
    const text = value == null
      ? (what === "bootstrap" ? "# The daemon serves Envoy over ADS; its bootstrap is what `emissary serve` started Envoy with." : "")
      : currentFormat(which) === "yaml" ? yamlStringify(value, { lineWidth: 0 }) : JSON.stringify(value, null, 2);
    setViewer(which, text);
    return;
  }
  if (!editorText().trim() || !table) { setViewer(which, ""); return; }
  post({ type: "render", seq: translatedSeq, what, format: currentFormat(which) });
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = el("textarea");
    ta.value = text;
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand("copy");
    ta.remove();
    return ok;
  }
}

function download(name: string, text: string) {
  const a = el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/plain" })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function outputButtons(which: "envoy" | "ir") {
  const name = () => `${which === "ir" ? "ir" : `envoy-${($("envoy-what") as HTMLSelectElement).value}`}.${currentFormat(which)}`;
  $(`${which}-copy`).addEventListener("click", async () => {
    const text = viewer(which).state.doc.toString();
    if (!text) return toast("Nothing to copy yet");
    toast((await copyText(text)) ? "Copied" : "Copying was refused by the browser");
  });
  $(`${which}-download`).addEventListener("click", () => {
    const text = viewer(which).state.doc.toString();
    if (!text) return toast("Nothing to download yet");
    download(name(), text + "\n");
  });
}

// ---------------------------------------------------------------- request tester
function runRequest(explicit = true) {
  const line = ($("request-line") as HTMLInputElement).value;
  const headers = ($("request-headers") as HTMLTextAreaElement).value;
  const req = parseRequest(line, headers);
  if ("error" in req) {
    if (explicit) renderExplanation(undefined, req.error);
    return;
  }
  if (!wasmReady) {
    renderExplanation(undefined, "The translator is not loaded, so requests cannot be tested.");
    return;
  }
  lastRequestRun = true;
  explainSeq++;
  post({ type: "explain", seq: explainSeq, text: editorText(), options: OPTIONS, request: req });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function renderExplanation(e: any, error?: string) {
  const box = $("explain");
  box.replaceChildren();
  if (error || !e) {
    box.append(el("p", { class: "verdict bad" }, error ?? "No answer."));
    box.dataset.outcome = "error";
    return;
  }
  box.dataset.outcome = e.outcome;
  const link = (ref?: ObjectRef) => {
    if (!ref) return "—";
    const b = el("button", { class: "link", type: "button", title: "Select it in the editor" }, objectLabel(ref));
    b.addEventListener("click", () => selectObject(ref));
    return b;
  };
  const verdicts: Record<string, string> = {
    forwarded: "Forwarded", redirected: "Redirected", tcp: "Proxied over TCP",
    partial: "Only part of these requests is routed", "no-listener": "No listener on that port",
    "no-filter-chain": "No filter chain takes the connection",
    "tls-not-terminated": "The TLS handshake fails: that filter chain terminates no TLS",
    "no-virtual-host": "No virtual host for that host name",
    "no-route": "No route matches: Envoy answers 404", "bad-request": "The request cannot be parsed",
  };
  const ok = ["forwarded", "redirected", "tcp"].includes(e.outcome);
  box.append(el("p", { class: `verdict ${ok ? "ok" : "bad"}` }, verdicts[e.outcome] ?? e.outcome,
    ...(e.mapping ? [" by ", link(e.mapping)] : [])));
  const facts = el("dl", { class: "facts" });
  const fact = (k: string, v: Node | string | undefined) => { if (v !== undefined && v !== "") facts.append(el("dt", {}, k), el("dd", {}, v)); };
  fact("Request", `${e.request.method} ${e.request.scheme}://${e.request.authority}${e.request.path}${e.request.query ? `?${e.request.query}` : ""}`);
  fact("Listener", e.listener);
  fact("Filter chain", e.chain);
  fact("Virtual host", e.virtualHost);
  if (e.host) fact("Host", link(e.host));
  if (e.route !== undefined) fact("Route", `#${e.route + 1}`);
  fact(e.outcome === "redirected" ? "Location" : "Upstream", e.target);
  fact("Upstream path", e.upstreamPath);
  box.append(facts);
  if (e.targets?.length) {
    box.append(el("h3", {}, e.targets.length > 1 ? "Shares (canary)" : "Target"));
    const tb = el("tbody");
    for (const t of e.targets) {
      tb.append(el("tr", {}, el("td", { class: "share" }, `${t.weight}%`), el("td", {}, link(t.mapping)), el("td", {}, t.action),
        el("td", { class: "target" }, `${t.upstreamTls ? "tls " : ""}${t.target}`), el("td", { class: "target" }, t.upstreamPath ?? "")));
    }
    box.append(el("table", { class: "routes targets" },
      el("thead", {}, el("tr", {}, el("th", {}, "Share"), el("th", {}, "Mapping"), el("th", {}, "Action"), el("th", {}, "Upstream"), el("th", {}, "Path sent"))), tb));
  }
  if (e.routes?.length) {
    box.append(el("h3", {}, "Routes checked, in order"));
    const tb = el("tbody");
    for (const r of e.routes) {
      tb.append(el("tr", {}, el("td", {}, `#${r.index + 1}`), el("td", {}, link(r.mapping)), el("td", { class: "match" }, r.conditions),
        el("td", { class: "reason" }, r.reason ?? (r.weight < 100 ? `takes ${r.weight}%` : "takes the request"))));
    }
    box.append(el("table", { class: "routes checks" },
      el("thead", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "Mapping"), el("th", {}, "Conditions"), el("th", {}, "Result"))), tb));
  }
  if (e.why?.length) {
    box.append(el("h3", {}, "Why"));
    box.append(el("ol", { class: "why" }, ...e.why.map((w: string) => el("li", {}, w))));
  }
}

// ---------------------------------------------------------------- tabs
function showTab(tab: Tab) {
  if (live && (tab === "ir" || tab === "request")) tab = "routes";
  activeTab = tab;
  for (const t of TABS) {
    $(`panel-${t}`).hidden = t !== tab;
    $(`tab-${t}`).setAttribute("aria-selected", String(t === tab));
  }
  refreshOutputs();
}

// ---------------------------------------------------------------- share links
async function share() {
  const line = ($("request-line") as HTMLInputElement).value.trim();
  const headers = ($("request-headers") as HTMLTextAreaElement).value.trim();
  const frag = await encodeFragment({ yaml: editorText(), request: line || undefined, headers: headers || undefined, tab: activeTab });
  history.replaceState(null, "", frag);
  const ok = await copyText(location.href);
  toast(ok ? `Link copied (${location.href.length.toLocaleString()} characters)` : "The link is in the address bar");
}

async function loadFragment(): Promise<boolean> {
  if (!location.hash || location.hash.length < 2) return false;
  let state;
  try {
    state = await decodeFragment(location.hash);
  } catch (e) {
    banner(`This link's manifests could not be decoded (${e instanceof Error ? e.message : e}); the editor shows your last text instead.`);
    return false;
  }
  if (!state) return false;
  replaceText(state.yaml);
  ($("request-line") as HTMLInputElement).value = state.request ?? "";
  ($("request-headers") as HTMLTextAreaElement).value = state.headers ?? "";
  lastRequestRun = false;
  if (state.request) {
    lastRequestRun = true; // runs once the translation is in
    $("explain").replaceChildren(el("p", { class: "muted" }, "Testing…"));
  }
  showTab(state.tab ?? (state.request ? "request" : "routes"));
  return true;
}

// ---------------------------------------------------------------- examples
function fillExamples() {
  const sel = $("examples") as HTMLSelectElement;
  const groups = new Map<string, HTMLOptGroupElement>();
  for (const ex of EXAMPLES) {
    let g = groups.get(ex.group);
    if (!g) { g = el("optgroup", { label: ex.group }) as HTMLOptGroupElement; groups.set(ex.group, g); sel.append(g); }
    g.append(el("option", { value: ex.id }, ex.title));
  }
  sel.addEventListener("change", () => {
    const ex = EXAMPLES.find((x) => x.id === sel.value);
    sel.value = "";
    if (!ex) return;
    loadExample(ex);
  });
}

function loadExample(ex: Example) {
  replaceText(ex.yaml);
  ($("request-line") as HTMLInputElement).value = ex.request;
  ($("request-headers") as HTMLTextAreaElement).value = ex.headers;
  lastRequestRun = false;
  $("explain").replaceChildren(el("p", { class: "muted" }, "Press Test (Ctrl+Enter) to see which Mapping serves this request."));
  history.replaceState(null, "", location.pathname + location.search);
  setStatus(`example: ${ex.title}`);
}

// ---------------------------------------------------------------- theme and keys
function toggleTheme() {
  const next = theme() === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try { localStorage.setItem(STORE_THEME, next); } catch { /* ignore */ }
  const eff = themeCompartment.reconfigure(themeExtension());
  view.dispatch({ effects: eff });
  for (const v of Object.values(viewers)) v.dispatch({ effects: themeCompartment.reconfigure(themeExtension()) });
}

function wireKeys() {
  document.addEventListener("keydown", (e) => {
    const mod = e.ctrlKey || e.metaKey;
    if (mod && e.key.toLowerCase() === "s") { e.preventDefault(); if (!live) void share(); return; }
    if (mod && e.key === "Enter") { e.preventDefault(); if (!live) { showTab("request"); runRequest(); } return; }
    if (e.altKey && !mod && /^Digit[1-5]$/.test(e.code)) { e.preventDefault(); showTab(TAB_KEYS[Number(e.code.slice(5)) - 1]); return; }
    if (e.altKey && !mod && e.code === "KeyT") { e.preventDefault(); toggleTheme(); return; }
    const inField = (e.target as HTMLElement).closest("input, textarea, .cm-editor, select");
    if (e.key === "?" && !inField) { e.preventDefault(); ($("help-dialog") as HTMLDialogElement).showModal(); }
  });
}

// ---------------------------------------------------------------- live mode
async function probeLive(): Promise<boolean> {
  if (location.protocol === "file:") return false;
  try {
    const r = await fetch("state.json", { cache: "no-store", signal: AbortSignal.timeout(1500) });
    if (!r.ok || !(r.headers.get("content-type") ?? "").includes("json")) return false;
    const text = await r.text();
    const state = JSON.parse(text);
    if (!state || state.live !== true) return false;
    live = { text, state };
    return true;
  } catch {
    return false;
  }
}

function enterLive() {
  document.body.classList.add("live");
  $("mode-badge").hidden = false;
  $("tools").hidden = true;
  $("tab-ir").hidden = true;
  $("tab-request").hidden = true;
  $("editor").hidden = true;
  $("live-panel").hidden = false;
  document.querySelector("#left .pane-head span")!.textContent = "Served by this emissary (read-only)";
  document.title = "Emissary: live configuration";
  const envoyWhat = $("envoy-what") as HTMLSelectElement;
  envoyWhat.querySelector('option[value="bootstrap"]')?.remove();
  renderLive();
  const poll = async () => {
    try {
      const stamp = encodeURIComponent(live!.state.stamp ?? "");
      const r = await fetch(`state.json?stamp=${stamp}`, { cache: "no-store", signal: AbortSignal.timeout(5000) });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const text = await r.text();
      banner(null);
      const state = JSON.parse(text);
      if (!state.unchanged && text !== live!.text) { live = { text, state }; renderLive(); }
      setStatus(`refreshed ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      banner(`The daemon does not answer (${e instanceof Error ? e.message : e}); showing the last state seen.`);
    }
    setTimeout(poll, 2000);
  };
  setTimeout(poll, 2000);
}

function renderLive() {
  const s = live!.state;
  $("version").textContent = `emissary ${s.version ?? ""}`;
  const p = $("live-panel");
  p.replaceChildren();
  const last = s.last;
  p.append(el("h2", {}, s.serving_version != null ? `Serving snapshot ${s.serving_version}` : "No configuration served yet"));
  if (last) {
    const when = new Date(last.committed_unix_ms || last.unix_ms).toLocaleString();
    p.append(el("p", { id: "live-last" }, `Latest translation: ${last.outcome} at ${when}, ${last.files} files, ${last.errors} errors, ${last.warnings} warnings.`));
    if (last.reason) p.append(el("p", { class: "nack" }, `Not used: ${last.reason}`));
  }
  const ads = s.ads ?? {};
  p.append(el("h3", {}, `Envoys (${ads.connected ?? 0} connected${ads.ready ? ", ready" : ", not ready"})`));
  const nodes = ads.nodes ?? [];
  if (nodes.length === 0) p.append(el("p", { class: "muted" }, "No Envoy has connected to the ADS server yet."));
  for (const n of nodes) {
    const tb = el("tbody");
    for (const [t, st] of Object.entries<any>(n.types ?? {})) { // eslint-disable-line @typescript-eslint/no-explicit-any
      const state = st.last_nack ? el("span", { class: "nack" }, `NACK: ${st.last_nack.message}`)
        : st.pending_nonce ? el("span", { class: "pending" }, "waiting for ACK")
        : el("span", { class: "ack" }, "ACK");
      tb.append(el("tr", { "data-type": t }, el("td", {}, t.replace(/^.*\./, "")), el("td", {}, st.acked_version ?? "—"), el("td", {}, state), el("td", {}, String(st.resources_sent ?? ""))));
    }
    p.append(el("div", { class: "node" },
      el("p", {}, el("strong", {}, n.id ?? "envoy"), ` · ${n.connected ? "connected" : "disconnected"} · ${n.protocol ?? ""}`),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Type"), el("th", {}, "ACKed version"), el("th", {}, "State"), el("th", {}, "Resources"))), tb)));
  }
  diagnostics = (last?.located ?? last?.diagnostics ?? []) as Diagnostic[];
  renderProblems();
  // The IR (kept by the daemon for this page) names each route's Mapping.
  table = s.ir ? routeTableFromIr(s.ir) : s.config ? routeTableFromXds(s.config) : null;
  translatedSeq++;
  renderRoutes();
  refreshOutputs();
}

function renderLiveProblems() {
  const box = $("problems");
  const last = live!.state.last;
  if (!diagnostics.length) {
    box.append(el("div", { class: "empty" }, "No problems in the latest translation."));
    return;
  }
  for (const d of diagnostics) {
    box.append(el("div", { class: "problem" },
      el("span", { class: `sev ${d.severity}` }, d.severity),
      el("span", { class: "where", title: d.range?.file ?? "" }, d.range ? `${d.range.line}:${d.range.column}` : ""),
      el("div", {}, el("div", { class: "message" }, d.message),
        el("div", { class: "code" }, d.code + (d.path ? ` · ${d.path}` : "") + (d.range ? ` · ${d.range.file}` : "")),
        ...(d.object ? [el("div", { class: "object" }, objectLabel(d.object))] : []))));
  }
  if (last?.rendered) box.append(el("details", {}, el("summary", {}, "As the daemon reports them, with file positions"), el("pre", {}, last.rendered)));
}

// ---------------------------------------------------------------- start
async function main() {
  fillExamples();
  wireKeys();
  for (const t of TABS) $(`tab-${t}`).addEventListener("click", () => showTab(t));
  $("route-filter").addEventListener("input", renderRoutes);
  $("share").addEventListener("click", () => void share());
  $("clear").addEventListener("click", () => { replaceText(""); view.focus(); });
  $("theme").addEventListener("click", toggleTheme);
  $("help").addEventListener("click", () => ($("help-dialog") as HTMLDialogElement).showModal());
  $("request-form").addEventListener("submit", (e) => { e.preventDefault(); runRequest(); });
  for (const id of ["envoy-what", "envoy-format"]) $(id).addEventListener("change", refreshOutputs);
  $("ir-format").addEventListener("change", refreshOutputs);
  outputButtons("envoy");
  outputButtons("ir");

  if (await probeLive()) {
    createEditor("");
    showTab("routes");
    enterLive();
    return;
  }
  let saved = "";
  try { saved = localStorage.getItem(STORE_TEXT) ?? ""; } catch { /* ignore */ }
  createEditor("");
  window.addEventListener("hashchange", () => void loadFragment());
  if (!(await loadFragment())) {
    const quick = EXAMPLES[0];
    if (saved.trim()) replaceText(saved);
    else loadExample(quick);
    showTab("routes");
  }
  renderRoutes();
  startWorker();
}

// A small scripting hook (tests, benchmarks, browser extensions): read and
// set the editor's text, read the cursor.
Object.assign(window, {
  playground: {
    text: () => editorText(),
    setText: (t: string) => replaceText(t),
    cursor: () => { const h = view.state.selection.main.head; const l = view.state.doc.lineAt(h); return { line: l.number, column: h - l.from + 1 }; },
    tab: () => activeTab,
    selection: () => view.state.sliceDoc(view.state.selection.main.from, view.state.selection.main.to),
  },
});

void main();
