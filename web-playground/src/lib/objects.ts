// Finds an object (a Mapping of the route table, the object of a
// diagnostic) among the YAML documents of the editor.

import { parseAllDocuments } from "yaml";
import type { ObjectRef } from "./diagnostics.ts";

export interface Span { from: number; to: number }

/** The span of the document holding `ref`; namespace `default` also matches a document without one. */
export function findObject(text: string, ref: ObjectRef): Span | null {
  let fallback: Span | null = null;
  for (const doc of parseAllDocuments(text)) {
    if (!("contents" in doc) || !doc.contents) continue;
    let js: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try { js = doc.toJS(); } catch { continue; }
    if (!js || typeof js !== "object" || js.kind !== ref.kind || js.metadata?.name !== ref.name) continue;
    const node = doc.contents as { range?: [number, number, number] };
    const span = { from: node.range?.[0] ?? 0, to: node.range?.[1] ?? 0 };
    const ns = js.metadata?.namespace;
    if (ns === ref.namespace) return span;
    if (ns === undefined && !fallback) fallback = span;
  }
  return fallback;
}
