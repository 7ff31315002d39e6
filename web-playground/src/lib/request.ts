// The request tester's input: a request line and optional header lines.

export interface Header { name: string; value: string }
export interface ExplainRequest { method: string; url: string; headers: Header[]; port?: number; sni?: string }

const METHODS = /^[A-Z]+$/;

/** Parses `GET https://foo.example.com/api/x` (the method may be left out) and `Name: value` lines. */
export function parseRequest(line: string, headerText = ""): ExplainRequest | { error: string } {
  const parts = line.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return { error: "Type a request, e.g. GET https://foo.example.com/api/x" };
  let method = "GET";
  let url: string;
  if (parts.length === 1) url = parts[0];
  else if (parts.length === 2 && METHODS.test(parts[0])) [method, url] = parts;
  else return { error: "A request is a method and a URL: GET https://foo.example.com/api/x" };
  if (!/^https?:\/\//i.test(url) && !url.startsWith("/")) url = `http://${url}`;
  const headers: Header[] = [];
  const lines = headerText.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l) continue;
    const colon = l.indexOf(":", l.startsWith(":") ? 1 : 0);
    if (colon <= 0) return { error: `Header line ${i + 1} is not "Name: value"` };
    headers.push({ name: l.slice(0, colon).trim(), value: l.slice(colon + 1).trim() });
  }
  return { method, url, headers };
}
