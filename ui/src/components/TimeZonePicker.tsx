// A searchable IANA time-zone picker (Intl.supportedValuesOf('timeZone')):
// type to filter, arrows to move, Enter to pick. Accessible as a combobox.
import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { allTimeZones, userZone } from '../lib/time';

const ZONES = allTimeZones();

function offsetOf(zone: string): string {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'shortOffset' }).formatToParts(new Date());
    return parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
  } catch {
    return '';
  }
}

export function TimeZonePicker({ id, value, onChange }: { id: string; value: string; onChange: (tz: string) => void }) {
  const [query, setQuery] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const listRef = useRef<HTMLUListElement>(null);

  const matches = useMemo(() => {
    const q = (query ?? '').trim().toLowerCase().replace(/\s+/g, '_');
    const list = q ? ZONES.filter((z) => z.toLowerCase().includes(q)) : ZONES;
    return list.slice(0, 80);
  }, [query]);

  const pick = (z: string) => {
    onChange(z);
    setQuery(null);
    setOpen(false);
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, matches.length - 1));
      listRef.current?.children[Math.min(active + 1, matches.length - 1)]?.scrollIntoView({ block: 'nearest' });
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
      listRef.current?.children[Math.max(active - 1, 0)]?.scrollIntoView({ block: 'nearest' });
    } else if (e.key === 'Enter') {
      if (open && matches[active]) {
        e.preventDefault();
        pick(matches[active]);
      }
    } else if (e.key === 'Escape') {
      if (open) e.stopPropagation();
      setOpen(false);
      setQuery(null);
    }
  };

  const shown = query ?? value;
  return (
    <div className="combo">
      <input
        id={id}
        role="combobox"
        aria-expanded={open}
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-activedescendant={open && matches[active] ? `${id}-opt-${active}` : undefined}
        autoComplete="off"
        spellCheck={false}
        placeholder={`${userZone} (server default if empty)`}
        value={shown}
        onFocus={() => setOpen(true)}
        onBlur={() =>
          setTimeout(() => {
            setOpen(false);
            // Typing an exact zone name and leaving the field picks it.
            if (query !== null) {
              const exact = ZONES.find((z) => z.toLowerCase() === query.trim().toLowerCase());
              if (exact) onChange(exact);
              else if (query.trim() === '') onChange('');
              setQuery(null);
            }
          }, 150)
        }
        onChange={(e) => {
          setQuery(e.target.value);
          setOpen(true);
          setActive(0);
        }}
        onKeyDown={onKey}
      />
      {value ? <span className="combo-hint small muted">{offsetOf(value)}</span> : null}
      {open ? (
        <ul className="combo-list" id={`${id}-list`} role="listbox" ref={listRef} aria-label="Time zones">
          {matches.length ? (
            matches.map((z, i) => (
              <li
                key={z}
                id={`${id}-opt-${i}`}
                role="option"
                aria-selected={z === value}
                className={`${i === active ? 'active' : ''}${z === value ? ' selected' : ''}`}
                onMouseDown={(e) => {
                  e.preventDefault();
                  pick(z);
                }}
              >
                <span>{z.replace(/_/g, ' ')}</span>
                <span className="muted small">{offsetOf(z)}</span>
              </li>
            ))
          ) : (
            <li className="muted small">No zone matches</li>
          )}
        </ul>
      ) : null}
    </div>
  );
}
