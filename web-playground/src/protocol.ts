// Messages between the page and the translation worker.
import type { Diagnostic } from "./lib/diagnostics.ts";
import type { ExplainRequest } from "./lib/request.ts";
import type { RouteTable } from "./lib/routes.ts";

export interface Options { ambassadorId?: string; ambassadorNamespace?: string; placeholderSecrets?: boolean }

export type ToWorker =
  | { type: "update"; seq: number; text: string; options: Options; quietMs: number }
  | { type: "explain"; seq: number; text: string; options: Options; request: ExplainRequest }
  | { type: "render"; seq: number; what: string; format: "json" | "yaml" };

export type FromWorker =
  | { type: "ready"; version: string; ms: number }
  | { type: "fatal"; message: string }
  | { type: "diagnostics"; seq: number; diagnostics: Diagnostic[]; ms: number }
  | { type: "translated"; seq: number; table: RouteTable; sizes: Record<string, number>; ms: number }
  | { type: "explained"; seq: number; explanation?: unknown; error?: string }
  | { type: "rendered"; seq: number; what: string; text: string }
  | { type: "failed"; seq: number; error: string };
