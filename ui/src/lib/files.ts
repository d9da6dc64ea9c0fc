// File values (docs/files.md): recognising them in any JSON, their sizes in
// words, and which ones the browser may preview.
import type { FileValue } from '../api/types';

const FILE_ID = /^fil_[0-9A-Za-z]{1,64}$/;

/**
 * True for a file value as the server writes it: `type: "file"`, an id of
 * `fil_…`, a name and a byte size. Anything short of that (an object that
 * merely has `type: "file"`) stays plain JSON.
 */
export function isFileValue(v: unknown): v is FileValue {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (
    o.type === 'file' &&
    typeof o.id === 'string' &&
    FILE_ID.test(o.id) &&
    typeof o.name === 'string' &&
    typeof o.size === 'number' &&
    Number.isInteger(o.size) &&
    o.size >= 0 &&
    (o.content_type === undefined || typeof o.content_type === 'string')
  );
}

const UNITS = ['kB', 'MB', 'GB', 'TB', 'PB'];

/**
 * A byte count for people, in SI units (1 kB = 1000 B, as file managers and
 * browsers' download lists show them): "21 B", "4.8 MB", "512 kB".
 */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  if (n < 1000) return `${Math.round(n)} B`;
  let v = n;
  let unit = '';
  for (const u of UNITS) {
    v /= 1000;
    unit = u;
    if (v < 999.5) break; // else it would read "1000 kB"
  }
  const shown = v < 9.95 ? v.toFixed(1).replace(/\.0$/, '') : String(Math.round(v));
  return `${shown} ${unit}`;
}

/** "text/plain; charset=utf-8" → "text/plain". */
export function baseType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Images the server shows inline (?inline=1) and a browser can draw: not SVG, which can carry script. */
export function isPreviewableImage(contentType: string | undefined): boolean {
  const t = baseType(contentType);
  return t.startsWith('image/') && !t.includes('svg');
}

/** Types whose first bytes are worth showing as text. */
export function isTextType(contentType: string | undefined): boolean {
  const t = baseType(contentType);
  return (
    t.startsWith('text/') ||
    t === 'application/json' ||
    t.endsWith('+json') ||
    t === 'application/x-ndjson' ||
    t === 'application/xml' ||
    t.endsWith('+xml') ||
    t === 'application/yaml' ||
    t === 'application/x-yaml'
  );
}
