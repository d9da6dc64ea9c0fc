// One form control drawn from a catalog field (`{name, title, type, required,
// secret, enum, default, help}`). Used by the step form (where strings may be
// expressions) and the connection form (plain values, secrets masked).
import { useEffect, useState } from 'react';
import type { CatalogField, Json } from '../api';
import { humanize } from '../lib/catalog';
import { ExprInput, hasExpression, type ExprContext } from './editor/ExprInput';
import { Field } from './ui';

export const SECRET_MASK = '********';

function JsonArea({
  id,
  value,
  onChange,
  allowExpression,
  invalid,
  label,
}: {
  id: string;
  value: Json | undefined;
  onChange: (v: Json | undefined) => void;
  allowExpression?: boolean;
  invalid?: boolean;
  label: string;
}) {
  const toText = (v: Json | undefined) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v, null, 2));
  const [text, setText] = useState(toText(value));
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    // Follow outside changes (another step selected, reload) without fighting the user's typing.
    setText((t) => {
      try {
        if (t.trim() && JSON.stringify(JSON.parse(t)) === JSON.stringify(value)) return t;
      } catch {
        /* not JSON: replace */
      }
      return toText(value);
    });
  }, [value]);
  const commit = (t: string) => {
    if (!t.trim()) {
      setErr(null);
      onChange(undefined);
      return;
    }
    try {
      onChange(JSON.parse(t) as Json);
      setErr(null);
    } catch (e) {
      if (allowExpression && hasExpression(t)) {
        setErr(null);
        onChange(t);
      } else setErr(`Not valid JSON: ${(e as Error).message}`);
    }
  };
  return (
    <>
      <textarea
        id={id}
        className="code-input"
        rows={Math.min(12, Math.max(3, text.split('\n').length))}
        spellCheck={false}
        aria-label={label}
        aria-invalid={invalid || !!err}
        data-json={allowExpression ? 'true' : undefined}
        value={text}
        placeholder={allowExpression ? 'JSON, or {{ expression }}' : 'JSON'}
        onChange={(e) => {
          setText(e.target.value);
          commit(e.target.value);
        }}
      />
      {err ? <div className="field-error">{err}</div> : null}
    </>
  );
}

/** Text for a value of type `any`: strings as they are, other values as JSON. */
function anyToText(v: Json | undefined): string {
  if (v === undefined || v === null) return v === null ? 'null' : '';
  return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
}

/** Text back to a value: JSON when it parses as JSON (its strings may hold {{ }}), otherwise the text itself. */
function textToAny(t: string): Json | undefined {
  if (!t.trim()) return undefined;
  if (/^\s*([[{"]|-?\d|true\b|false\b|null\b)/.test(t)) {
    try {
      return JSON.parse(t) as Json;
    } catch {
      /* not JSON: keep the text */
    }
  }
  return t;
}

/** A value of type `any` in a step: a {{ expression }}, text, or JSON. */
function AnyInput({ id, value, onChange, ctx, invalid }: { id: string; value: Json | undefined; onChange: (v: Json | undefined) => void; ctx?: ExprContext; invalid?: boolean }) {
  const [text, setText] = useState(anyToText(value));
  useEffect(() => {
    setText((t) => (JSON.stringify(textToAny(t)) === JSON.stringify(value) ? t : anyToText(value)));
  }, [value]);
  return (
    <ExprInput
      id={id}
      value={text}
      multiline
      rows={Math.min(10, Math.max(1, text.split('\n').length))}
      ctx={ctx}
      invalid={invalid}
      placeholder="{{ expression }}, text, or JSON"
      onChange={(t) => {
        setText(t);
        onChange(textToAny(t));
      }}
    />
  );
}

export function fieldTitle(f: CatalogField): string {
  return f.title || f.label || humanize(f.name);
}

export function FieldInput({
  field,
  value,
  onChange,
  idPrefix,
  ctx,
  error,
  expressions,
}: {
  field: CatalogField;
  value: Json | undefined;
  onChange: (v: Json | undefined) => void;
  idPrefix: string;
  ctx?: ExprContext;
  error?: string | null;
  /** Step inputs accept {{ }}; connection fields do not. */
  expressions?: boolean;
}) {
  const id = `${idPrefix}-${field.name}`;
  const title = fieldTitle(field);
  const help = field.help || field.description;
  const type = (field.type || 'string').toLowerCase();
  const [reveal, setReveal] = useState(false);
  let control;

  if (field.enum && field.enum.length) {
    control = (
      <select id={id} value={value === undefined || value === null ? '' : String(value)} aria-invalid={!!error} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}>
        {!field.required || value === undefined ? <option value="">{field.default !== undefined ? `Default (${String(field.default)})` : '—'}</option> : null}
        {field.enum.map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (type === 'boolean' || type === 'bool') {
    control = (
      <label className="check">
        <input id={id} type="checkbox" checked={value === true || (value === undefined && field.default === true)} onChange={(e) => onChange(e.target.checked)} />
        <span>{title}</span>
      </label>
    );
  } else if (field.secret) {
    const isMask = value === SECRET_MASK;
    control = (
      <div className="row gap-s">
        <input
          id={id}
          type={reveal && !isMask ? 'text' : 'password'}
          autoComplete="new-password"
          value={value === undefined || value === null ? '' : String(value)}
          aria-invalid={!!error}
          placeholder={field.default !== undefined ? String(field.default) : ''}
          onFocus={(e) => isMask && e.target.select()}
          onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
          className="grow"
        />
        {!isMask ? (
          <button type="button" className="btn btn-small" aria-label={reveal ? `Hide ${title}` : `Show ${title}`} onClick={() => setReveal(!reveal)}>
            {reveal ? 'Hide' : 'Show'}
          </button>
        ) : null}
      </div>
    );
  } else if (expressions && type === 'expression') {
    control = (
      <ExprInput
        id={id}
        bare
        value={value === undefined || value === null ? '' : String(value)}
        ctx={ctx}
        invalid={!!error}
        placeholder="JSONata, without {{ }}"
        onChange={(v) => onChange(v === '' ? undefined : v)}
      />
    );
  } else if (expressions && (type === 'any' || type === 'json')) {
    control = <AnyInput id={id} value={value} onChange={onChange} ctx={ctx} invalid={!!error} />;
  } else if (['object', 'array', 'any', 'json', 'map'].includes(type)) {
    control = <JsonArea id={id} label={title} value={value} onChange={onChange} allowExpression={expressions} invalid={!!error} />;
  } else if ((type === 'number' || type === 'integer') && !expressions) {
    control = (
      <input
        id={id}
        type="number"
        step={type === 'integer' ? 1 : 'any'}
        value={value === undefined || value === null ? '' : String(value)}
        placeholder={field.default !== undefined ? String(field.default) : ''}
        aria-invalid={!!error}
        onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
      />
    );
  } else if (expressions) {
    const numeric = type === 'number' || type === 'integer';
    control = (
      <ExprInput
        id={id}
        value={value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value)}
        multiline={type === 'text'}
        ctx={ctx}
        invalid={!!error}
        placeholder={field.default !== undefined ? `Default: ${typeof field.default === 'string' ? field.default : JSON.stringify(field.default)}` : type === 'duration' ? 'e.g. 30s' : ''}
        onChange={(v) => {
          if (v === '') onChange(undefined);
          else if (numeric && /^-?\d+(\.\d+)?$/.test(v.trim())) onChange(Number(v));
          else onChange(v);
        }}
      />
    );
  } else if (type === 'text') {
    control = (
      <textarea id={id} rows={3} value={value === undefined || value === null ? '' : String(value)} aria-invalid={!!error} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)} />
    );
  } else {
    control = (
      <input
        id={id}
        type="text"
        value={value === undefined || value === null ? '' : String(value)}
        placeholder={field.default !== undefined ? String(field.default) : type === 'duration' ? 'e.g. 30s' : ''}
        aria-invalid={!!error}
        onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
      />
    );
  }

  return (
    <Field label={type === 'boolean' || type === 'bool' ? <span className="sr-only">{title}</span> : title} htmlFor={type === 'boolean' || type === 'bool' ? undefined : id} help={help} error={error} required={field.required} testId={`field-${field.name}`}>
      {control}
    </Field>
  );
}
