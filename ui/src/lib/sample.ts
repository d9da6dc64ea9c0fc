// The editor's sample data: where the trigger and the earlier steps' outputs
// shown beside a step (and used by previews, autocomplete and Test step) come
// from. A past run of the flow, a webhook delivery, or the pinned `sample` of
// the flow document (never used by real runs).
import type { Delivery, FlowDocument, FlowSample, Json, JsonObject, Run } from '../api';
import functionList from './expr-functions.json';

export type SampleSource = { kind: 'pinned' } | { kind: 'run'; run: Run } | { kind: 'delivery'; delivery: Delivery } | { kind: 'none' };

export interface SampleData {
  trigger: JsonObject;
  steps: Record<string, { output: Json; status?: string }>;
}

/** A webhook delivery as the trigger a run of it would see. */
export function deliveryTrigger(d: Delivery): JsonObject {
  const t: JsonObject = { type: 'webhook' };
  if (d.method !== undefined) t.method = d.method;
  if (d.path !== undefined) t.path = d.path;
  t.headers = (d.headers ?? {}) as JsonObject;
  t.query = d.query ?? {};
  t.body = d.body === undefined ? null : d.body;
  if (d.received_at ?? d.created_at) t.received_at = (d.received_at ?? d.created_at) as string;
  return t;
}

/** The trigger and step outputs of a sample source. */
export function sampleData(src: SampleSource, doc: FlowDocument): SampleData {
  if (src.kind === 'run') {
    const steps: SampleData['steps'] = {};
    // The first result of a step in a loop, as Test step takes it.
    for (const s of src.run.steps ?? []) if (!steps[s.id]) steps[s.id] = { output: (s.output ?? null) as Json, status: s.status };
    const trig = src.run.trigger && typeof src.run.trigger === 'object' && !Array.isArray(src.run.trigger) ? (src.run.trigger as JsonObject) : {};
    const { until_step: _u, ...trigger } = trig;
    void _u;
    return { trigger, steps };
  }
  if (src.kind === 'delivery') return { trigger: deliveryTrigger(src.delivery), steps: {} };
  if (src.kind === 'pinned' && doc.sample) {
    const steps: SampleData['steps'] = {};
    for (const [id, v] of Object.entries(doc.sample.steps ?? {})) steps[id] = { output: (v?.output ?? null) as Json };
    return { trigger: doc.sample.trigger ?? {}, steps };
  }
  return { trigger: { type: doc.trigger.type }, steps: {} };
}

/** What the Test step request sends for a source (undefined: the draft's pinned sample). */
export function testSample(src: SampleSource, doc: FlowDocument): FlowSample | { run_id: string } | undefined {
  if (src.kind === 'run') return { run_id: src.run.id };
  if (src.kind === 'pinned') return undefined;
  if (src.kind === 'delivery') return { trigger: sampleData(src, doc).trigger, steps: {} };
  return {};
}

export function hasPinned(doc: FlowDocument): boolean {
  return !!doc.sample && Object.keys(doc.sample).length > 0;
}

export function describeSample(src: SampleSource): string {
  switch (src.kind) {
    case 'pinned':
      return 'pinned sample data';
    case 'run':
      return `run ${src.run.id.slice(-8)} (${src.run.status}${src.run.created_at ? `, ${new Date(src.run.created_at).toLocaleString()}` : ''})`;
    case 'delivery':
      return `webhook delivery ${src.delivery.id.slice(-8)}${src.delivery.received_at ? ` (${new Date(src.delivery.received_at).toLocaleString()})` : ''}`;
    default:
      return 'no sample';
  }
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** A JSONata path from a root and keys: identifiers as `.name`, other names in backticks, indexes as `[n]`. */
export function refPath(root: string, keys: (string | number)[]): string {
  let out = root;
  for (const k of keys) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (IDENT.test(k)) out += `.${k}`;
    else out += `.\`${k.replace(/`/g, '')}\``;
  }
  return out;
}

/** Whether `pos` in `text` is inside an open `{{ }}`. */
export function insideExpression(text: string, pos: number): boolean {
  const before = text.slice(0, pos);
  const open = before.lastIndexOf('{{');
  return open >= 0 && before.lastIndexOf('}}') < open;
}

/** Whether `pos` in JSON text is inside a string literal. */
export function insideJsonString(text: string, pos: number): boolean {
  let inside = false;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === '\\' && inside) i++;
    else if (text[i] === '"') inside = !inside;
  }
  return inside;
}

export type FieldKind = 'template' | 'bare' | 'json';

/**
 * The text a click on a data field inserts into a field of `kind` at `pos`:
 * `{{ path }}`, the bare path inside an open `{{ }}` or a JSONata-only field,
 * and in JSON outside a string, the reference as a JSON string.
 */
export function referenceText(kind: FieldKind, text: string, pos: number, path: string): string {
  if (kind === 'bare' || insideExpression(text, pos)) return path;
  const ref = `{{ ${path} }}`;
  if (kind === 'json' && !insideJsonString(text, pos)) return JSON.stringify(ref);
  return ref;
}

/** A short type label for the data tree. */
export function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array[${v.length}]`;
  if (typeof v === 'object') return 'object';
  return typeof v;
}

/** A scalar as shown in the tree, long text cut. */
export function shortValue(v: unknown, max = 60): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

// ---- JSONata functions ------------------------------------------------------

export interface FunctionInfo {
  name: string;
  /** JSONata's signature string, e.g. `<s-nn?:s>`. */
  signature: string;
  arity: number;
}

export const FUNCTIONS: FunctionInfo[] = functionList as FunctionInfo[];

const TYPE_NAMES: Record<string, string> = {
  s: 'string',
  n: 'number',
  b: 'boolean',
  l: 'null',
  a: 'array',
  o: 'object',
  f: 'function',
  x: 'any',
  j: 'any',
  u: 'string|number|boolean|null',
};

function typeName(t: string): string {
  if (t.startsWith('(')) return t.slice(1, -1).split('').map((c) => TYPE_NAMES[c] ?? c).join('|');
  const m = /^([a-z])<(.+)>$/.exec(t);
  if (m) return `${TYPE_NAMES[m[1]] ?? m[1]}<${typeName(m[2])}>`;
  return TYPE_NAMES[t] ?? t;
}

/** Splits a signature's parameter part into tokens: `s-`, `(sf)`, `a<n>`, `n?`, `a+`. */
function sigTokens(params: string): { type: string; optional: boolean; variadic: boolean }[] {
  const out: { type: string; optional: boolean; variadic: boolean }[] = [];
  let i = 0;
  while (i < params.length) {
    let t = params[i];
    if (t === '(') {
      const end = params.indexOf(')', i);
      t = params.slice(i, end + 1);
      i = end + 1;
    } else {
      i++;
      if (params[i] === '<') {
        let depth = 0;
        const start = i;
        for (; i < params.length; i++) {
          if (params[i] === '<') depth++;
          else if (params[i] === '>' && --depth === 0) break;
        }
        t += params.slice(start, i + 1);
        i++;
      }
    }
    let optional = false;
    let variadic = false;
    while (i < params.length && '-?+'.includes(params[i])) {
      if (params[i] === '?') optional = true;
      if (params[i] === '+') variadic = true;
      i++;
    }
    out.push({ type: t, optional, variadic });
  }
  return out;
}

/** `$substring(string, number, number?) → string` from `<s-nn?:s>`. */
export function describeFunction(f: FunctionInfo): string {
  const body = f.signature.replace(/^<|>$/g, '');
  const colon = (() => {
    let depth = 0;
    for (let i = 0; i < body.length; i++) {
      if (body[i] === '<' || body[i] === '(') depth++;
      else if (body[i] === '>' || body[i] === ')') depth--;
      else if (body[i] === ':' && depth === 0) return i;
    }
    return -1;
  })();
  const params = colon >= 0 ? body.slice(0, colon) : body;
  const result = colon >= 0 ? body.slice(colon + 1) : '';
  const args = sigTokens(params).map((p) => `${typeName(p.type)}${p.variadic ? '...' : ''}${p.optional ? '?' : ''}`);
  return `$${f.name}(${args.join(', ')})${result ? ` → ${typeName(result)}` : ''}`;
}

/** Keeps `src` pinned only while it still exists; default: pinned data, else the last run, else none. */
export function defaultSample(doc: FlowDocument, lastRun: Run | null): SampleSource {
  if (hasPinned(doc)) return { kind: 'pinned' };
  if (lastRun) return { kind: 'run', run: lastRun };
  return { kind: 'none' };
}

