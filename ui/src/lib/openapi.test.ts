import { describe, expect, it } from 'vitest';
import type { OpenApiOperation } from '../api/types';
import { groupByTag, manifestName } from './openapi';

const op = (operation: string, tags: string[]): OpenApiOperation => ({ operation, action: operation, method: 'GET', path: `/${operation}`, tags });

describe('OpenAPI import helpers', () => {
  it('groups operations by their first tag in document order; untagged ones last under their own heading', () => {
    const groups = groupByTag([op('a', ['Messages']), op('b', []), op('c', ['Templates', 'Messages']), op('d', ['Messages'])]);
    expect(groups.map(([t, l]) => [t, l.map((o) => o.operation)])).toEqual([
      ['Messages', ['a', 'd']],
      ['Other operations', ['b']],
      ['Templates', ['c']],
    ]);
  });
  it('reads the top-level name of the imported manifest, not a nested one', () => {
    expect(manifestName('title: Mailchimp\nname: mailchimp_transactional\nconnection:\n  fields:\n    - name: base_url\n')).toBe('mailchimp_transactional');
    expect(manifestName('name: "quoted"\n')).toBe('quoted');
    expect(manifestName('actions:\n  x:\n    name: nested\n')).toBe('');
  });
});
