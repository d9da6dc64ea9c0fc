// The "New data" trigger (trigger type `poll`, docs/polling.md): the sources
// the catalog offers and the trigger card's one-line summary.
import type { CatalogPollSource, Connector, PollSettings } from '../api/types';

export interface PollSourceRef {
  uses: string;
  connector: Connector;
  source: CatalogPollSource;
}

/** Every source the catalog offers, as `<connector>.<source>`. */
export function pollSources(connectors: Connector[]): PollSourceRef[] {
  const out: PollSourceRef[] = [];
  for (const c of connectors) for (const s of c.poll_sources ?? []) out.push({ uses: `${c.name}.${s.name}`, connector: c, source: s });
  return out;
}

export function defaultPoll(catalog: { connectors: Connector[] }): PollSettings {
  const first = pollSources(catalog.connectors)[0];
  return { every: '5m', source: { uses: first?.uses ?? '', with: {} }, start: 'new', emit: 'each' };
}

/** "every 5m · sftp.new_files" for the trigger card. */
export function pollLine(p?: PollSettings): string {
  if (!p) return 'not set up';
  const every = typeof p.every === 'string' ? `every ${p.every}` : p.every ? 'on a schedule' : '';
  return [every, p.source?.uses].filter(Boolean).join(' · ') || 'not set up';
}
