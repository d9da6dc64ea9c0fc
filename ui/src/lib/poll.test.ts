import { describe, expect, it } from 'vitest';
import type { Connector } from '../api/types';
import { cleanDocument } from './flow';
import { defaultPoll, pollLine, pollSources } from './poll';

const catalog: Connector[] = [
  { name: 'http', actions: [{ name: 'request' }] },
  { name: 'sftp', poll_sources: [{ name: 'new_files', inputs: [{ name: 'folder', required: true }] }] },
  { name: 'acme', poll_sources: [{ name: 'new_rows' }, { name: 'new_items' }] },
];

describe('poll sources', () => {
  it('lists every connector’s sources as connector.source, in catalog order', () => {
    expect(pollSources(catalog).map((s) => s.uses)).toEqual(['sftp.new_files', 'acme.new_rows', 'acme.new_items']);
    expect(pollSources(catalog)[0].source.inputs?.[0].name).toBe('folder');
    expect(pollSources([])).toEqual([]);
  });
  it('starts a new trigger on the first source, new items, one run each', () => {
    expect(defaultPoll({ connectors: catalog })).toEqual({ every: '5m', source: { uses: 'sftp.new_files', with: {} }, start: 'new', emit: 'each' });
    expect(defaultPoll({ connectors: [] }).source?.uses).toBe('');
  });
  it('summarises the trigger for the card', () => {
    expect(pollLine({ every: '1m', source: { uses: 'sftp.new_files' } })).toBe('every 1m · sftp.new_files');
    expect(pollLine({ every: { kind: 'cron', cron: '* * * * *' }, source: { uses: 'ftp.new_files' } })).toBe('on a schedule · ftp.new_files');
    expect(pollLine(undefined)).toBe('not set up');
  });
  it('keeps trigger.poll only on a poll trigger when saving', () => {
    const poll = { every: '1m', source: { uses: 'sftp.new_files', with: { folder: '/in' } } };
    expect(cleanDocument({ name: 'x', trigger: { type: 'poll', poll }, steps: [] }).trigger).toEqual({ type: 'poll', poll });
    expect(cleanDocument({ name: 'x', trigger: { type: 'manual', poll }, steps: [] }).trigger).toEqual({ type: 'manual' });
  });
});
