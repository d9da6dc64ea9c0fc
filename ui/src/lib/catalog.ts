// The connector catalog (GET /connectors) and the connection list, fetched
// once per page load and shared by every form that needs them.
import { useEffect, useState } from 'react';
import { registerContainers } from './flow';
import { connections as connectionsApi, connectors as connectorsApi, type CatalogAction, type CatalogAuthType, type Connection, type Connector } from '../api';

let catalogPromise: Promise<Connector[]> | null = null;

export function loadCatalog(force = false): Promise<Connector[]> {
  if (!catalogPromise || force) {
    catalogPromise = connectorsApi.list().then((list) => {
      for (const c of list) for (const a of c.actions ?? []) if (a.containers?.length) registerContainers(`${c.name}.${a.name}`, a.containers);
      return list;
    }).catch((e) => {
      catalogPromise = null;
      throw e;
    });
  }
  return catalogPromise;
}

export interface Catalog {
  connectors: Connector[];
  loading: boolean;
  error: unknown;
  retry: () => void;
  connector: (name: string) => Connector | undefined;
  action: (uses: string) => { connector?: Connector; action?: CatalogAction };
}

export function useCatalog(): Catalog {
  const [connectors, setConnectors] = useState<Connector[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    loadCatalog(tick > 0)
      .then((c) => live && (setConnectors(c), setError(null)))
      .catch((e) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [tick]);
  const connector = (name: string) => connectors.find((c) => c.name === name);
  const action = (uses: string) => {
    const i = uses.lastIndexOf('.');
    const c = connector(i < 0 ? uses : uses.slice(0, i));
    return { connector: c, action: c?.actions?.find((a) => a.name === uses.slice(i + 1) || a.name === uses) };
  };
  return { connectors, loading, error, retry: () => setTick((t) => t + 1), connector, action };
}

/** Connectors that need a connection: those declaring fields or auth types. */
export function needsConnection(c: Connector | undefined): boolean {
  if (!c) return false;
  if (typeof c.needs_connection === 'boolean') return c.needs_connection;
  return (c.fields?.length ?? 0) > 0 || (c.auth_types?.length ?? 0) > 0;
}

export function authTypeName(a: string | CatalogAuthType): string {
  return typeof a === 'string' ? a : (a.type ?? a.name ?? '');
}

export function authTypeTitle(a: string | CatalogAuthType): string {
  const n = authTypeName(a);
  return (typeof a === 'string' ? undefined : a.title) ?? humanize(n);
}

export function humanize(s: string): string {
  const t = s.replace(/[_-]+/g, ' ').trim();
  return t ? t[0].toUpperCase() + t.slice(1) : s;
}

export function useConnections(): { list: Connection[]; error: unknown; loading: boolean; reload: () => void; add: (c: Connection) => void } {
  const [list, setList] = useState<Connection[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    connectionsApi
      .list(ctl.signal)
      .then((l) => (setList(l), setError(null)))
      .catch((e) => !ctl.signal.aborted && setError(e))
      .finally(() => !ctl.signal.aborted && setLoading(false));
    return () => ctl.abort();
  }, [tick]);
  const add = (c: Connection) => setList((l) => [...l.filter((x) => x.id !== c.id), c]);
  return { list, error, loading, reload: () => setTick((t) => t + 1), add };
}
