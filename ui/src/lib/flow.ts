// Editing the step tree of a flow document. A step is addressed by the same
// path the server uses in validation details: `steps[2]`, `steps[1].then[0]`,
// `steps[0].do[3]`; a list by `steps`, `steps[1].else`, `steps[0].do`.
import type { Flow, FlowDocument, Step } from '../api/types';

type Branch = 'then' | 'else' | 'do';

/** Container utilities and their nested lists; the catalog's `containers` extend it. */
export const CONTAINER_BRANCHES: Record<string, Branch[]> = {
  'flow.if': ['then', 'else'],
  'flow.foreach': ['do'],
};

export function registerContainers(uses: string, containers: string[]): void {
  const b = containers.filter((c): c is Branch => c === 'then' || c === 'else' || c === 'do');
  if (b.length) CONTAINER_BRANCHES[uses] = b;
}

export function branchesOf(step: Step): Branch[] {
  return CONTAINER_BRANCHES[step.uses] ?? [];
}

export function isLoop(uses: string): boolean {
  return uses === 'flow.foreach' || (CONTAINER_BRANCHES[uses]?.includes('do') ?? false);
}

type Seg = { key: string; index?: number };

function parsePath(path: string): Seg[] {
  const segs: Seg[] = [];
  const re = /([a-z_]+)(?:\[(\d+)\])?/gi;
  for (const part of path.split('.')) {
    re.lastIndex = 0;
    const m = re.exec(part);
    if (!m) continue;
    segs.push({ key: m[1], index: m[2] !== undefined ? Number(m[2]) : undefined });
  }
  return segs;
}

/** The step at `path`, or undefined. */
export function getStep(steps: Step[], path: string): Step | undefined {
  const segs = parsePath(path);
  let list: Step[] | undefined = steps;
  let cur: Step | undefined;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (i === 0) {
      if (s.key !== 'steps') return undefined;
    } else {
      if (!cur) return undefined;
      list = cur[s.key] as Step[] | undefined;
    }
    if (s.index === undefined || !list) return undefined;
    cur = list[s.index];
  }
  return cur;
}

/** Returns a new steps array where the list at `listPath` is replaced by fn(list). */
export function updateList(steps: Step[], listPath: string, fn: (list: Step[]) => Step[]): Step[] {
  const segs = parsePath(listPath);
  const rec = (list: Step[], depth: number): Step[] => {
    // segs[depth] names an index into `list` (except the last, which is the list itself)
    if (depth === segs.length - 1) return fn(list);
    const idx = segs[depth].index!;
    const branch = segs[depth + 1].key as 'then' | 'else' | 'do';
    return list.map((st, i) => (i === idx ? { ...st, [branch]: rec((st[branch] as Step[]) ?? [], depth + 1) } : st));
  };
  return rec(steps, 0);
}

export function splitStepPath(path: string): { listPath: string; index: number } {
  const m = /^(.*)\[(\d+)\]$/.exec(path);
  if (!m) throw new Error(`not a step path: ${path}`);
  return { listPath: m[1], index: Number(m[2]) };
}

export function updateStep(steps: Step[], path: string, fn: (s: Step) => Step): Step[] {
  const { listPath, index } = splitStepPath(path);
  return updateList(steps, listPath, (l) => l.map((s, i) => (i === index ? fn(s) : s)));
}

export function removeStep(steps: Step[], path: string): Step[] {
  const { listPath, index } = splitStepPath(path);
  return updateList(steps, listPath, (l) => l.filter((_, i) => i !== index));
}

export function insertStep(steps: Step[], listPath: string, index: number, step: Step): Step[] {
  return updateList(steps, listPath, (l) => [...l.slice(0, index), step, ...l.slice(index)]);
}

/** True when `inner` is `outer` or lies inside it. */
export function isWithin(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer + '.') || inner.startsWith(outer + '[');
}

/**
 * Moves the step at `from` to position `toIndex` of list `toListPath`
 * (index counted in the list before the move). Refuses to move a container
 * into itself.
 */
export function moveStep(steps: Step[], from: string, toListPath: string, toIndex: number): Step[] {
  if (isWithin(toListPath, from)) return steps;
  const step = getStep(steps, from);
  if (!step) return steps;
  const { listPath: fromList, index: fromIndex } = splitStepPath(from);
  let target = toIndex;
  if (fromList === toListPath && fromIndex < toIndex) target -= 1;
  // Remove first, then fix the destination path if removal shifted it.
  const removed = removeStep(steps, from);
  const fixedList = shiftPathAfterRemoval(toListPath, fromList, fromIndex);
  return insertStep(removed, fixedList, target, step);
}

function shiftPathAfterRemoval(path: string, removedList: string, removedIndex: number): string {
  const prefix = removedList + '[';
  if (!path.startsWith(prefix)) return path;
  const rest = path.slice(prefix.length);
  const m = /^(\d+)\](.*)$/.exec(rest);
  if (!m) return path;
  const idx = Number(m[1]);
  return idx > removedIndex ? `${prefix}${idx - 1}]${m[2]}` : path;
}

export interface FlatStep {
  step: Step;
  path: string;
  depth: number;
  /** Loop variables in scope (inside flow.foreach). */
  inLoop: boolean;
}

/** Every step in document order, with its path. */
export function flatten(steps: Step[], listPath = 'steps', depth = 0, inLoop = false): FlatStep[] {
  const out: FlatStep[] = [];
  steps.forEach((step, i) => {
    const path = `${listPath}[${i}]`;
    out.push({ step, path, depth, inLoop });
    for (const b of branchesOf(step)) {
      out.push(...flatten((step[b] as Step[]) ?? [], `${path}.${b}`, depth + 1, inLoop || isLoop(step.uses)));
    }
  });
  return out;
}

export function allIds(steps: Step[]): Set<string> {
  return new Set(flatten(steps).map((f) => f.step.id));
}

/** A fresh step id from the action name: `request`, `request_2`, ... */
export function newStepId(steps: Step[], uses: string): string {
  const ids = allIds(steps);
  const base =
    (uses.split('.').pop() || 'step')
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .replace(/^[^a-z]+/, '') || 'step';
  if (!ids.has(base)) return base;
  for (let n = 2; ; n++) if (!ids.has(`${base}_${n}`)) return `${base}_${n}`;
}

/** Steps that run before `path` (earlier in document order, not inside it). */
export function stepsBefore(steps: Step[], path: string): FlatStep[] {
  const flat = flatten(steps);
  const out: FlatStep[] = [];
  for (const f of flat) {
    if (f.path === path) break;
    out.push(f);
  }
  return out;
}

/** Whether the step at `path` sits inside a flow.foreach. */
export function inLoop(steps: Step[], path: string): boolean {
  return flatten(steps).find((f) => f.path === path)?.inLoop ?? false;
}

/** The step path a server detail path points into (`steps[2].with.url` → `steps[2]`). */
export function stepPathOf(detailPath: string): string | null {
  const m = /^(steps\[\d+\](?:\.(?:then|else|do)\[\d+\])*)/.exec(detailPath);
  return m ? m[1] : null;
}

/** The client-writable document of a flow (server-managed fields dropped). */
export function toDocument(f: Flow | FlowDocument): FlowDocument {
  const doc: FlowDocument = {
    name: f.name ?? '',
    description: f.description ?? '',
    trigger: f.trigger ?? { type: 'manual' },
    steps: f.steps ?? [],
  };
  if (f.settings && Object.keys(f.settings).length) doc.settings = f.settings;
  if (f.sample && typeof f.sample === 'object' && Object.keys(f.sample).length) doc.sample = f.sample;
  return doc;
}

/** Removes empty optional keys so the saved document stays tidy. */
export function cleanDocument(doc: FlowDocument): FlowDocument {
  const cleanStep = (s: Step): Step => {
    const out: Step = { ...s };
    for (const k of ['name', 'connection', 'if', 'timeout'] as const) {
      if (out[k] === '' || out[k] === undefined) delete out[k];
    }
    if (out.with && Object.keys(out.with).length === 0) delete out.with;
    if (out.on_error === 'fail') delete out.on_error;
    if (out.retry && (!out.retry.attempts || out.retry.attempts <= 1)) delete out.retry;
    for (const b of ['then', 'else', 'do'] as const) {
      if (Array.isArray(out[b])) out[b] = (out[b] as Step[]).map(cleanStep);
    }
    return out;
  };
  const trigger = { ...doc.trigger };
  if (trigger.type !== 'webhook') delete trigger.webhook;
  if (trigger.type !== 'schedule') delete trigger.schedule;
  if (trigger.type !== 'poll') delete trigger.poll;
  return { ...doc, trigger, steps: doc.steps.map(cleanStep) };
}

export function connectorOf(uses: string): string {
  const i = uses.lastIndexOf('.');
  return i < 0 ? uses : uses.slice(0, i);
}

export function actionOf(uses: string): string {
  const i = uses.lastIndexOf('.');
  return i < 0 ? uses : uses.slice(i + 1);
}

// `steps.<from>` (also `$.steps.<from>`, `$$.steps.<from>`) inside the {{ }} parts of a
// string, not `x.steps.<from>` nor `steps.<from>_more`.
function refPattern(from: string): RegExp {
  const name = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^.\\w$\`]|\\$\\$?\\.)(steps\\s*\\.\\s*)${name}(?![\\w])`, 'g');
}

function renameInString(text: string, from: string, to: string, counter: { n: number }): string {
  if (!text.includes('{{')) return text;
  return text.replace(/\{\{[\s\S]*?\}\}/g, (part) =>
    part.replace(refPattern(from), (_m, before: string, steps: string) => {
      counter.n++;
      return `${before}${steps}${to}`;
    }),
  );
}

function renameInValue<T>(v: T, from: string, to: string, counter: { n: number }): T {
  if (typeof v === 'string') return renameInString(v, from, to, counter) as T;
  if (Array.isArray(v)) return v.map((x) => renameInValue(x, from, to, counter)) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = renameInValue(x, from, to, counter);
    return out as T;
  }
  return v;
}

/** Rewrites `{{ steps.<from>... }}` to `steps.<to>` in every step's `with` and `if`; `count` is how many. */
export function renameStepRefs(steps: Step[], from: string, to: string): { steps: Step[]; count: number } {
  const counter = { n: 0 };
  const walk = (list: Step[]): Step[] =>
    list.map((s) => {
      const next: Step = { ...s };
      if (s.with) next.with = renameInValue(s.with, from, to, counter);
      if (s.if) next.if = renameInString(s.if, from, to, counter);
      for (const b of ['then', 'else', 'do'] as const) if (s[b]) next[b] = walk(s[b] as Step[]);
      return next;
    });
  const out = walk(steps);
  return { steps: out, count: counter.n };
}
