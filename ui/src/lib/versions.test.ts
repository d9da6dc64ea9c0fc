import { describe, expect, it } from 'vitest';
import type { FlowDocument } from '../api';
import { MAX_DIFF_LINES, diffLines, sideBySide, summarizeChange, toYaml } from './versions';

const doc = (steps: FlowDocument['steps'], trigger: FlowDocument['trigger'] = { type: 'manual' }): FlowDocument => ({
  name: 'orders',
  trigger,
  steps,
});

describe('summarizeChange', () => {
  const a = { id: 'a', uses: 'data.set', with: { value: 1 } };
  const b = { id: 'b', uses: 'log.write', with: { message: 'hi' } };
  it('names steps added, removed and changed, and a changed trigger', () => {
    expect(summarizeChange(null, doc([a]))).toBe('first version');
    expect(summarizeChange(doc([a]), doc([a, b]))).toBe('step b added');
    expect(summarizeChange(doc([a, b]), doc([b]))).toBe('step a removed');
    expect(summarizeChange(doc([a, b]), doc([{ ...a, with: { value: 2 } }, b]))).toBe('step a changed');
    expect(summarizeChange(doc([a]), doc([a], { type: 'webhook' }))).toBe('trigger changed');
    expect(summarizeChange(doc([a, b]), doc([b, a]))).toBe('steps reordered');
    expect(summarizeChange(doc([a]), doc([a]))).toBe('no change');
  });
});

describe('toYaml', () => {
  it('writes block YAML, quoting strings (and keys) YAML would read otherwise', () => {
    expect(toYaml({ name: 'x', steps: [{ id: 'a', with: { value: '1', on: true, t: 'a: b' } }], e: [] })).toBe(
      'name: x\nsteps:\n- id: a\n  with:\n    value: "1"\n    \"on\": true\n    t: "a: b"\ne: []\n',
    );
  });
});

describe('diffLines', () => {
  it('keeps common lines and marks the changed ones', () => {
    const d = diffLines('a\nb\nc\nd', 'a\nB\nc\nd\ne');
    expect(d.map((l) => `${l.op[0]}${l.text}`)).toEqual(['sa', 'rb', 'aB', 'sc', 'sd', 'ae']);
    const rows = sideBySide(d);
    expect(rows[1]).toEqual({ left: { op: 'removed', text: 'b' }, right: { op: 'added', text: 'B' } });
    expect(rows[4]).toEqual({ left: null, right: { op: 'added', text: 'e' } });
  });
  it('stays bounded on long texts that differ everywhere', () => {
    const big = (p: string) => Array.from({ length: MAX_DIFF_LINES + 5 }, (_, i) => `${p}${i}`).join('\n');
    const d = diffLines(big('x'), big('y'));
    expect(d.filter((l) => l.op === 'removed')).toHaveLength(MAX_DIFF_LINES + 5);
    expect(d.filter((l) => l.op === 'added')).toHaveLength(MAX_DIFF_LINES + 5);
  });
});
