// Diagnostics from the wasm package (1-based lines, UTF-16 columns,
// exclusive ends) as editor offsets (UTF-16 code units from the start).

export interface Range { file: string; line: number; column: number; endLine: number; endColumn: number }
export interface ObjectRef { kind: string; namespace: string; name: string }
export type Severity = "error" | "warning" | "info";
export interface Diagnostic {
  code: string;
  severity: Severity;
  message: string;
  object?: ObjectRef;
  path: string;
  help?: string;
  range?: Range;
}

export interface Mark {
  from: number;
  to: number;
  severity: Severity;
  message: string;
  code: string;
  /** `line:col` of the start, 1-based, for the problems list. */
  where: string;
  index: number;
}

/** Offsets at which each line starts (index 0 = line 1). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

function lineEnd(text: string, starts: number[], line: number): number {
  const next = line < starts.length ? starts[line] - 1 : text.length;
  return next > 0 && text.charCodeAt(next - 1) === 13 ? next - 1 : next;
}

/** The offset of a 1-based line and UTF-16 column, clamped into the text. */
export function offsetOf(text: string, starts: number[], line: number, column: number): number {
  if (line < 1) return 0;
  if (line > starts.length) return text.length;
  const start = starts[line - 1];
  return Math.min(start + Math.max(column - 1, 0), lineEnd(text, starts, line));
}

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Marks for the editor, in text order; diagnostics without a range sit at the start. */
export function toMarks(text: string, diagnostics: Diagnostic[], starts = lineStarts(text)): Mark[] {
  const marks = diagnostics.map((d, index) => {
    let from = 0;
    let to = 0;
    let where = "";
    if (d.range) {
      from = offsetOf(text, starts, d.range.line, d.range.column);
      to = offsetOf(text, starts, d.range.endLine, d.range.endColumn);
      if (to <= from) to = Math.min(from + 1, lineEnd(text, starts, Math.min(d.range.line, starts.length)));
      if (to < from) to = from;
      where = `${d.range.line}:${d.range.column}`;
    }
    return { from, to, severity: d.severity, message: d.message, code: d.code, where, index };
  });
  return marks.sort((a, b) => a.from - b.from || ORDER[a.severity] - ORDER[b.severity] || a.index - b.index);
}

export function counts(diagnostics: Diagnostic[]): Record<Severity, number> {
  const c = { error: 0, warning: 0, info: 0 };
  for (const d of diagnostics) c[d.severity]++;
  return c;
}

export function objectLabel(o?: ObjectRef): string {
  return o ? `${o.kind} ${o.namespace}/${o.name}` : "";
}
