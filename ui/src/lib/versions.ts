// Flow versions side by side: a document as YAML text, a line diff of two
// texts, and a one-line summary of what changed between two documents.
import type { FlowDocument, Json } from '../api';

// A plain scalar needs no quotes when YAML would read it back as the same string.
function yamlString(s: string): string {
  if (
    s === '' ||
    /^[\s]|[\s]$/.test(s) ||
    /^[-?:,[\]{}#&*!|>'"%@`~]/.test(s) ||
    /: |\s#|[\n\r\t]/.test(s) ||
    /^(true|false|null|yes|no|on|off|~)$/i.test(s) ||
    /^[-+.]?\d/.test(s)
  ) {
    return JSON.stringify(s);
  }
  return s;
}

function scalar(v: Json): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return yamlString(v);
  return String(v);
}

function isEmpty(v: Json): boolean {
  return Array.isArray(v) ? v.length === 0 : typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}

function emit(v: Json, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      if (item !== null && typeof item === 'object' && !isEmpty(item)) {
        const sub: string[] = [];
        emit(item, indent + '  ', sub);
        // The first line of the item goes after the dash.
        out.push(`${indent}- ${sub[0].slice(indent.length + 2)}`, ...sub.slice(1));
      } else {
        out.push(`${indent}- ${isEmpty(item) ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}`);
      }
    }
    return;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, val] of Object.entries(v)) {
      const key = yamlString(k);
      if (val !== null && typeof val === 'object' && !isEmpty(val)) {
        out.push(`${indent}${key}:`);
        emit(val, Array.isArray(val) ? indent : indent + '  ', out);
      } else if (typeof val === 'string' && val.includes('\n')) {
        out.push(`${indent}${key}: |-`);
        for (const line of val.split('\n')) out.push(line ? `${indent}  ${line}` : '');
      } else {
        out.push(`${indent}${key}: ${isEmpty(val) ? (Array.isArray(val) ? '[]' : '{}') : scalar(val)}`);
      }
    }
    return;
  }
  out.push(indent + scalar(v));
}

/** A JSON value as block YAML (keys in their order). */
export function toYaml(v: Json): string {
  const out: string[] = [];
  emit(v, '', out);
  return out.join('\n') + '\n';
}

export type DiffOp = 'same' | 'removed' | 'added';
export interface DiffLine {
  op: DiffOp;
  text: string;
}

/** Texts beyond this many lines (after the common head and tail) are shown as one block replaced. */
export const MAX_DIFF_LINES = 2000;

/**
 * The lines of `a` and `b` in order, each kept, removed (only in a) or added
 * (only in b): a longest common subsequence over what lies between the common
 * head and tail. Bounded: past MAX_DIFF_LINES lines on either side the middle
 * is one block removed and one added.
 */
export function diffLines(a: string, b: string): DiffLine[] {
  const x = a.split('\n');
  const y = b.split('\n');
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const xs = x.slice(head, x.length - tail);
  const ys = y.slice(head, y.length - tail);
  const out: DiffLine[] = x.slice(0, head).map((text) => ({ op: 'same', text }));
  if (xs.length > MAX_DIFF_LINES || ys.length > MAX_DIFF_LINES) {
    for (const text of xs) out.push({ op: 'removed', text });
    for (const text of ys) out.push({ op: 'added', text });
  } else {
    const n = xs.length;
    const m = ys.length;
    // lcs[i][j]: the common subsequence length of xs[i..] and ys[j..].
    const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--) lcs[i][j] = xs[i] === ys[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && xs[i] === ys[j]) {
        out.push({ op: 'same', text: xs[i] });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        out.push({ op: 'removed', text: xs[i++] });
      } else {
        out.push({ op: 'added', text: ys[j++] });
      }
    }
  }
  for (const text of x.slice(x.length - tail)) out.push({ op: 'same', text });
  return out;
}

/** A diff as two columns of equal length: the old text left, the new right (null: nothing opposite). */
export function sideBySide(lines: DiffLine[]): { left: DiffLine | null; right: DiffLine | null }[] {
  const rows: { left: DiffLine | null; right: DiffLine | null }[] = [];
  let k = 0;
  while (k < lines.length) {
    if (lines[k].op === 'same') {
      rows.push({ left: lines[k], right: lines[k] });
      k++;
      continue;
    }
    const removed: DiffLine[] = [];
    const added: DiffLine[] = [];
    while (k < lines.length && lines[k].op !== 'same') (lines[k].op === 'removed' ? removed : added).push(lines[k++]);
    for (let r = 0; r < Math.max(removed.length, added.length); r++) rows.push({ left: removed[r] ?? null, right: added[r] ?? null });
  }
  return rows;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * What changed from `prev` to `next` in one line: steps added, removed and
 * changed (by id, top level; a step's nested steps are part of it), the
 * trigger, the name, settings. "first version" without `prev`.
 */
export function summarizeChange(prev: FlowDocument | undefined | null, next: FlowDocument | undefined | null): string {
  if (!next) return '';
  if (!prev) return 'first version';
  const before = new Map((prev.steps ?? []).map((s) => [s.id, s]));
  const after = new Map((next.steps ?? []).map((s) => [s.id, s]));
  const added = [...after.keys()].filter((id) => !before.has(id));
  const removed = [...before.keys()].filter((id) => !after.has(id));
  const changed = [...after.keys()].filter((id) => before.has(id) && !same(before.get(id), after.get(id)));
  const parts: string[] = [];
  const list = (ids: string[]) => ids.join(', ');
  if (added.length) parts.push(`step${added.length > 1 ? 's' : ''} ${list(added)} added`);
  if (removed.length) parts.push(`step${removed.length > 1 ? 's' : ''} ${list(removed)} removed`);
  if (changed.length) parts.push(`step${changed.length > 1 ? 's' : ''} ${list(changed)} changed`);
  const kept = [...after.keys()].filter((id) => before.has(id));
  const keptBefore = [...before.keys()].filter((id) => after.has(id));
  if (!added.length && !removed.length && !same(kept, keptBefore)) parts.push('steps reordered');
  if (!same(prev.trigger, next.trigger)) parts.push('trigger changed');
  if (prev.name !== next.name) parts.push(`renamed to ${next.name}`);
  if ((prev.description ?? '') !== (next.description ?? '')) parts.push('description changed');
  if (!same(prev.settings ?? {}, next.settings ?? {})) parts.push('settings changed');
  if (!same(prev.sample, next.sample)) parts.push('sample data changed');
  return parts.length ? parts.join('; ') : 'no change';
}
