// A read-only JSON viewer: collapsible objects and arrays, coloured values,
// and a Copy button for the whole value. A file value anywhere in it shows as
// a file (FileChip), with a button back to its JSON.
import { useState } from 'react';
import type { Json } from '../api';
import { isFileValue } from '../lib/files';
import { FileChip } from './FileChip';
import { CopyButton } from './ui';

function Value({ v, depth, name }: { v: Json | undefined; depth: number; name?: string }) {
  const [open, setOpen] = useState(depth < 2);
  const [asJson, setAsJson] = useState(false);
  const key = name !== undefined ? <span className="j-key">{JSON.stringify(name)}: </span> : null;
  const file = isFileValue(v) ? v : null;
  if (file && !asJson) {
    return (
      <div className="j-row j-file">
        {key}
        <FileChip file={file} onShowJson={() => setAsJson(true)} />
      </div>
    );
  }
  if (v === undefined) return <div className="j-row">{key}<span className="j-null">undefined</span></div>;
  if (v === null || typeof v !== 'object') {
    const cls = v === null ? 'j-null' : typeof v === 'string' ? 'j-str' : typeof v === 'number' ? 'j-num' : 'j-bool';
    return (
      <div className="j-row">
        {key}
        <span className={cls}>{JSON.stringify(v)}</span>
      </div>
    );
  }
  const isArr = Array.isArray(v);
  const entries: [string, Json][] = isArr ? (v as Json[]).map((x, i) => [String(i), x]) : Object.entries(v);
  const [o, c] = isArr ? ['[', ']'] : ['{', '}'];
  if (!entries.length) {
    return (
      <div className="j-row">
        {key}
        <span className="j-punct">{o + c}</span>
      </div>
    );
  }
  return (
    <div className="j-row">
      <button type="button" className="j-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? '▾' : '▸'}
      </button>
      {key}
      <span className="j-punct">{o}</span>
      {file ? (
        <button type="button" className="j-more" data-testid="file-show-chip" onClick={() => setAsJson(false)}>
          show as file
        </button>
      ) : null}
      {open ? (
        <div className="j-children">
          {entries.map(([k, x]) => (
            <Value key={k} v={x} depth={depth + 1} name={isArr ? undefined : k} />
          ))}
        </div>
      ) : (
        <button type="button" className="j-more" onClick={() => setOpen(true)}>
          {isArr ? `${entries.length} items` : `${entries.length} keys`}
        </button>
      )}
      <span className="j-punct">{c}</span>
    </div>
  );
}

export function JsonView({ value, label, empty = 'nothing' }: { value: Json | undefined; label?: string; empty?: string }) {
  if (value === undefined) return <div className="muted small">{empty}</div>;
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return (
    <div className="json-view" aria-label={label}>
      <div className="json-view-tools">
        <CopyButton text={text} label="Copy JSON" />
      </div>
      <div className="json-view-body">
        <Value v={value} depth={0} />
      </div>
    </div>
  );
}
