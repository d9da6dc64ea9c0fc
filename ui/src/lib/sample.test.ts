import { describe, expect, it } from 'vitest';
import type { FlowDocument, Run } from '../api';
import { FUNCTIONS, describeFunction, insideJsonString, refPath, referenceText, sampleData, testSample } from './sample';

const doc: FlowDocument = { name: 'f', trigger: { type: 'webhook' }, steps: [], sample: { trigger: { body: { a: 1 } }, steps: { s1: { output: 7 } } } };

describe('refPath', () => {
  it('quotes names that are not identifiers with backticks and indexes arrays', () => {
    expect(refPath('steps.fetch.output', ['body', 'items', 0, 'name'])).toBe('steps.fetch.output.body.items[0].name');
    expect(refPath('trigger', ['headers', 'content-type'])).toBe('trigger.headers.`content-type`');
    expect(refPath('trigger', ['body', 'first name', '2x'])).toBe('trigger.body.`first name`.`2x`');
  });
});

describe('referenceText', () => {
  it('wraps the path in {{ }} unless the caret is already inside one or the field is bare JSONata', () => {
    expect(referenceText('template', 'Hi ', 3, 'trigger.body.name')).toBe('{{ trigger.body.name }}');
    expect(referenceText('template', 'Hi {{ ', 6, 'trigger.body.name')).toBe('trigger.body.name');
    expect(referenceText('template', 'Hi {{ a }} ', 11, 'trigger.x')).toBe('{{ trigger.x }}');
    expect(referenceText('bare', '$sum(', 5, 'steps.a.output')).toBe('steps.a.output');
  });
  it('in JSON, a string literal outside a string and the bare reference inside one', () => {
    expect(referenceText('json', '{"a": ', 6, 'trigger.body')).toBe('"{{ trigger.body }}"');
    expect(referenceText('json', '{"a": "', 7, 'trigger.body')).toBe('{{ trigger.body }}');
    expect(insideJsonString('{"a\\"": "x', 10)).toBe(true);
  });
});

describe('sampleData', () => {
  it('reads pinned data, a run (its first loop result, without until_step) and a delivery', () => {
    expect(sampleData({ kind: 'pinned' }, doc)).toEqual({ trigger: { body: { a: 1 } }, steps: { s1: { output: 7 } } });
    const run = {
      id: 'r1',
      flow_id: 'f',
      status: 'succeeded',
      trigger: { type: 'manual', body: { n: 1 }, until_step: 'b' },
      steps: [
        { id: 'x', path: 'steps[0]', status: 'succeeded', output: 1 },
        { id: 'x', path: 'steps[0]', status: 'succeeded', output: 2 },
      ],
    } as unknown as Run;
    expect(sampleData({ kind: 'run', run }, doc)).toEqual({ trigger: { type: 'manual', body: { n: 1 } }, steps: { x: { output: 1, status: 'succeeded' } } });
    expect(testSample({ kind: 'run', run }, doc)).toEqual({ run_id: 'r1' });
    const delivery = { id: 'd1', method: 'POST', path: '/hooks/t', headers: { 'content-type': 'application/json' }, query: {}, body: { order: 5 } };
    expect(testSample({ kind: 'delivery', delivery }, doc)).toEqual({
      trigger: { type: 'webhook', method: 'POST', path: '/hooks/t', headers: { 'content-type': 'application/json' }, query: {}, body: { order: 5 } },
      steps: {},
    });
    expect(testSample({ kind: 'none' }, doc)).toEqual({});
    expect(testSample({ kind: 'pinned' }, doc)).toBeUndefined();
  });
});

describe('functions', () => {
  it('lists the server table (generated) with readable signatures', () => {
    const by = (n: string) => FUNCTIONS.find((f) => f.name === n)!;
    expect(FUNCTIONS.length).toBeGreaterThan(60);
    expect(describeFunction(by('substring'))).toBe('$substring(string, number, number?) → string');
    expect(describeFunction(by('sum'))).toBe('$sum(array<number>) → number');
    expect(describeFunction(by('contains'))).toBe('$contains(string, string|function) → boolean');
    expect(describeFunction(by('zip'))).toBe('$zip(array...)');
    expect(describeFunction(by('now'))).toBe('$now(string?, string?) → string');
    expect(describeFunction(by('millis'))).toBe('$millis() → number');
  });
});
