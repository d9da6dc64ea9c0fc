// The "+" palette: every connector action and utility from the catalog,
// searchable by name, title and description.
import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { CatalogAction, Connector } from '../../api';
import { ConnectorIcon, Icon } from '../icons';
import { Empty, ErrorBox, Loading, Modal } from '../ui';

interface Item {
  uses: string;
  connector: Connector;
  action: CatalogAction;
}

export function Palette({
  connectors,
  loading,
  error,
  onRetry,
  onPick,
  onClose,
}: {
  connectors: Connector[];
  loading: boolean;
  error: unknown;
  onRetry: () => void;
  onPick: (uses: string) => void;
  onClose: () => void;
}) {
  const [q, setQ] = useState('');
  const listRef = useRef<HTMLDivElement>(null);
  const items = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const out: Item[] = [];
    for (const c of connectors) {
      for (const a of c.actions ?? []) {
        const uses = `${c.name}.${a.name}`;
        const hay = `${uses} ${c.title ?? ''} ${a.title ?? ''} ${a.description ?? ''} ${c.description ?? ''}`.toLowerCase();
        if (!needle || needle.split(/\s+/).every((w) => hay.includes(w))) out.push({ uses, connector: c, action: a });
      }
    }
    return out;
  }, [connectors, q]);

  const groups = useMemo(() => {
    const m = new Map<string, Item[]>();
    for (const it of items) {
      const k = it.connector.name;
      m.set(k, [...(m.get(k) ?? []), it]);
    }
    return [...m.entries()];
  }, [items]);

  const move = (e: KeyboardEvent, dir: 1 | -1) => {
    e.preventDefault();
    const els = Array.from(listRef.current?.querySelectorAll<HTMLButtonElement>('button.palette-item') ?? []);
    const i = els.indexOf(document.activeElement as HTMLButtonElement);
    const next = i < 0 ? (dir === 1 ? 0 : els.length - 1) : Math.max(0, Math.min(els.length - 1, i + dir));
    els[next]?.focus();
  };

  return (
    <Modal title="Add a step" onClose={onClose} wide testId="palette">
      <div className="search-box palette-search">
        <Icon name="search" />
        <input
          type="search"
          autoFocus
          aria-label="Search actions"
          placeholder="Search connectors and utilities (http, if, csv…)"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') move(e, 1);
            if (e.key === 'Enter' && items.length) {
              e.preventDefault();
              onPick(items[0].uses);
            }
          }}
        />
      </div>
      <div
        className="palette-list"
        ref={listRef}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') move(e, 1);
          if (e.key === 'ArrowUp') move(e, -1);
        }}
      >
        {loading ? <Loading what="Loading the catalog…" /> : null}
        {error ? <ErrorBox error={error} onRetry={onRetry} /> : null}
        {!loading && !error && !items.length ? <Empty icon="search">Nothing matches “{q}”.</Empty> : null}
        {groups.map(([name, list]) => (
          <section key={name} className="palette-group" aria-label={list[0].connector.title ?? name}>
            <h3>
              <ConnectorIcon icon={list[0].connector.icon} name={name} /> {list[0].connector.title ?? name}
            </h3>
            <div className="palette-grid">
              {list.map((it) => (
                <button key={it.uses} type="button" className="palette-item" data-testid={`palette-item-${it.uses}`} onClick={() => onPick(it.uses)}>
                  <span className="palette-title">{it.action.title ?? it.action.name}</span>
                  <code className="small">{it.uses}</code>
                  {it.action.description ? <span className="small muted">{it.action.description}</span> : null}
                </button>
              ))}
            </div>
          </section>
        ))}
      </div>
    </Modal>
  );
}
