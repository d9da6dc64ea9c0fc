import { describe, expect, it } from 'vitest';
import type { Step } from '../api/types';
import { cleanDocument, flatten, getStep, insertStep, moveStep, newStepId, removeStep, renameStepRefs, stepPathOf, stepsBefore } from './flow';

const s = (id: string, uses = 'data.set', extra: Partial<Step> = {}): Step => ({ id, uses, ...extra });

function tree(): Step[] {
  return [s('a'), s('cond', 'flow.if', { then: [s('b'), s('c')], else: [] }), s('loop', 'flow.foreach', { do: [s('d')] }), s('e')];
}
const ids = (steps: Step[]) => flatten(steps).map((f) => `${f.path}=${f.step.id}`);

describe('step paths', () => {
  it('finds nested steps by server path', () => {
    expect(getStep(tree(), 'steps[1].then[1]')?.id).toBe('c');
    expect(getStep(tree(), 'steps[2].do[0]')?.id).toBe('d');
    expect(getStep(tree(), 'steps[9]')).toBeUndefined();
  });
  it('maps a detail path to its step', () => {
    expect(stepPathOf('steps[2].with.url')).toBe('steps[2]');
    expect(stepPathOf('steps[1].then[0].with.body.x')).toBe('steps[1].then[0]');
    expect(stepPathOf('trigger.schedule.cron')).toBeNull();
  });
});

describe('editing', () => {
  it('inserts and removes in nested lists', () => {
    const t = insertStep(tree(), 'steps[1].else', 0, s('x'));
    expect(getStep(t, 'steps[1].else[0]')?.id).toBe('x');
    expect(getStep(removeStep(t, 'steps[1].then[0]'), 'steps[1].then[0]')?.id).toBe('c');
  });
  it('moves within a list, both directions', () => {
    expect(ids(moveStep(tree(), 'steps[0]', 'steps', 4)).filter((x) => !x.includes('.'))).toEqual([
      'steps[0]=cond',
      'steps[1]=loop',
      'steps[2]=e',
      'steps[3]=a',
    ]);
    expect(getStep(moveStep(tree(), 'steps[3]', 'steps', 0), 'steps[0]')?.id).toBe('e');
  });
  it('moves into a branch whose index shifts after removal', () => {
    const t = moveStep(tree(), 'steps[0]', 'steps[2].do', 1);
    expect(getStep(t, 'steps[1].do[1]')?.id).toBe('a');
  });
  it('refuses to move a container into itself', () => {
    expect(moveStep(tree(), 'steps[1]', 'steps[1].then', 0)).toEqual(tree());
  });
  it('makes unique ids', () => {
    expect(newStepId(tree(), 'http.request')).toBe('request');
    expect(newStepId([s('request')], 'http.request')).toBe('request_2');
  });
  it('lists the steps before a step, and knows loop scope', () => {
    expect(stepsBefore(tree(), 'steps[2].do[0]').map((f) => f.step.id)).toEqual(['a', 'cond', 'b', 'c', 'loop']);
    expect(flatten(tree()).find((f) => f.step.id === 'd')?.inLoop).toBe(true);
  });
  it('cleans empty optional keys', () => {
    const doc = cleanDocument({ name: 'n', trigger: { type: 'manual', webhook: {} }, steps: [s('a', 'data.set', { with: {}, name: '', on_error: 'fail' })] });
    expect(doc.trigger).toEqual({ type: 'manual' });
    expect(doc.steps[0]).toEqual({ id: 'a', uses: 'data.set' });
  });
});

describe('renameStepRefs', () => {
  it('renames steps.<id> inside {{ }} only, everywhere in the flow', () => {
    const steps: Step[] = [
      s('hello', 'data.set', { with: { value: 'Hi' } }),
      s('say', 'log.write', { with: { message: 'steps.hello {{ steps.hello.output }} and {{ $string(steps.hello.output) & steps.hello_2 & trigger.steps.hello }}' } }),
      s('cond', 'flow.if', { with: { condition: '{{ steps.hello.output = "Hi" }}' }, then: [s('x', 'data.set', { with: { value: ['{{ steps . hello }}'] }, if: '{{ $$.steps.hello }}' })] }),
    ];
    const r = renameStepRefs(steps, 'hello', 'greet');
    expect(r.count).toBe(5);
    expect(r.steps[1].with?.message).toBe('steps.hello {{ steps.greet.output }} and {{ $string(steps.greet.output) & steps.hello_2 & trigger.steps.hello }}');
    expect(r.steps[2].with?.condition).toBe('{{ steps.greet.output = "Hi" }}');
    expect(r.steps[2].then?.[0].with?.value).toEqual(['{{ steps . greet }}']);
    expect(r.steps[2].then?.[0].if).toBe('{{ $$.steps.greet }}');
    expect(steps[1].with?.message).toContain('steps.hello.output');
  });
});
