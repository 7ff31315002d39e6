// The page state in the URL fragment, so that a copied link reproduces it.
//
// Read forms (both always accepted):
//   #yaml=<base64url of the UTF-8 manifests>&request=<URL-encoded request line>&tab=<tab>
//   #z=<base64url of the deflate-raw compressed UTF-8 manifests>&…
// The page writes `z=` when compression makes the link shorter, `yaml=` otherwise.

export const TABS = ["routes", "envoy", "ir", "problems", "request"] as const;
export type Tab = (typeof TABS)[number];

export interface ShareState {
  yaml: string;
  request?: string;
  headers?: string;
  tab?: Tab;
}

export function bytesToBase64url(bytes: Uint8Array): string {
  let bin = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    bin += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function base64urlToBytes(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "");
  const padded = b64 + "===".slice((b64.length + 3) % 4);
  const bin = atob(padded);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function encodeText(text: string): string {
  return bytesToBase64url(new TextEncoder().encode(text));
}

export function decodeText(s: string): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(base64urlToBytes(s));
}

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Blob([bytes as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

export async function compressText(text: string): Promise<string> {
  return bytesToBase64url(await pipe(new TextEncoder().encode(text), new CompressionStream("deflate-raw")));
}

export async function decompressText(s: string): Promise<string> {
  const bytes = await pipe(base64urlToBytes(s), new DecompressionStream("deflate-raw"));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

function params(fragment: string): URLSearchParams {
  return new URLSearchParams(fragment.replace(/^#/, ""));
}

/** Reads a fragment; `null` when it holds no manifests. Throws on a malformed payload. */
export async function decodeFragment(fragment: string): Promise<ShareState | null> {
  // URLSearchParams turns `+` into a space; base64url has no `+`, request lines may.
  const p = params(fragment);
  let yaml: string;
  const z = p.get("z");
  const plain = p.get("yaml");
  if (z !== null) yaml = await decompressText(z.replace(/ /g, "+"));
  else if (plain !== null) yaml = decodeText(plain.replace(/ /g, "+"));
  else return null;
  const state: ShareState = { yaml };
  const request = p.get("request");
  if (request !== null) state.request = request;
  const headers = p.get("headers");
  if (headers !== null) state.headers = headers;
  const tab = p.get("tab");
  if (tab !== null && (TABS as readonly string[]).includes(tab)) state.tab = tab as Tab;
  return state;
}

function encodeComponent(s: string): string {
  return encodeURIComponent(s);
}

/** Writes a fragment (with `#`): compressed when that is shorter. */
export async function encodeFragment(state: ShareState, opts: { compress?: boolean } = {}): Promise<string> {
  const plain = encodeText(state.yaml);
  let body = `yaml=${plain}`;
  if (opts.compress !== false) {
    const z = await compressText(state.yaml);
    if (z.length < plain.length) body = `z=${z}`;
  }
  if (state.request) body += `&request=${encodeComponent(state.request)}`;
  if (state.headers) body += `&headers=${encodeComponent(state.headers)}`;
  if (state.tab) body += `&tab=${state.tab}`;
  return `#${body}`;
}
