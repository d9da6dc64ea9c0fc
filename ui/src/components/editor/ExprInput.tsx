// A text field for values that may hold `{{ expr }}`: highlights the
// expressions, suggests data paths (trigger, earlier steps, loop item),
// validates each expression as the user types and previews its value
// against the last run (POST /expressions/evaluate).
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { ApiError, expressions, type Json, type JsonObject } from '../../api';
import { useDebounced } from '../../lib/hooks';
import { FUNCTIONS, describeFunction } from '../../lib/sample';

interface Suggestion {
  /** What is inserted in place of the word being typed. */
  insert: string;
  label: string;
  /** A function's signature. */
  detail?: string;
}

const FUNCTION_SUGGESTIONS: Suggestion[] = FUNCTIONS.map((f) => ({ insert: `$${f.name}(`, label: `$${f.name}`, detail: describeFunction(f) }));

export interface ExprContext {
  /** The run context to evaluate against: {trigger, steps, run, item?, index?}. */
  input: JsonObject;
  /** Data paths offered as suggestions (`trigger.body.id`, `steps.fetch.output`). */
  paths: string[];
}

interface Segment {
  text: string;
  expr: boolean;
  start: number;
  /** For expressions: where the bare expression starts in the whole string. */
  exprStart?: number;
  exprText?: string;
}

export function splitTemplate(s: string): Segment[] {
  const out: Segment[] = [];
  const re = /\{\{([\s\S]*?)\}\}/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    if (m.index > last) out.push({ text: s.slice(last, m.index), expr: false, start: last });
    out.push({ text: m[0], expr: true, start: m.index, exprStart: m.index + 2, exprText: m[1] });
    last = m.index + m[0].length;
  }
  if (last < s.length) out.push({ text: s.slice(last), expr: false, start: last });
  return out;
}

export function hasExpression(s: unknown): boolean {
  return typeof s === 'string' && s.includes('{{');
}

interface Check {
  ok: boolean;
  message?: string;
  code?: string;
  /** Character offset of the error in the whole field value. */
  at?: number;
  /** The position the server reported, inside the expression. */
  pos?: number;
  result?: Json;
  hasResult?: boolean;
}

function errorPosition(e: ApiError): number | undefined {
  const b = (e.body ?? {}) as Record<string, unknown>;
  const cand = [b.position, b.pos, (b.details as { position?: number }[] | undefined)?.[0]?.position];
  for (const c of cand) if (typeof c === 'number') return c;
  const m = /position (\d+)|at (?:char(?:acter)? )?(\d+)/i.exec(e.message);
  if (m) return Number(m[1] ?? m[2]);
  return undefined;
}

function preview(v: Json | undefined): string {
  if (v === undefined) return 'undefined';
  const s = JSON.stringify(v);
  return s.length > 160 ? s.slice(0, 157) + '…' : s;
}

/** Validates every {{ }} in `value` and previews the whole value rendered against ctx. */
function useExpressionCheck(value: string, ctx: ExprContext | undefined, bare?: boolean): Check | null {
  const debounced = useDebounced(value, 350);
  const inputKey = useMemo(() => JSON.stringify(ctx?.input ?? {}), [ctx]);
  const [check, setCheck] = useState<Check | null>(null);
  useEffect(() => {
    const all = bare
      ? debounced.trim()
        ? [{ text: debounced, expr: true, start: 0, exprStart: 0, exprText: debounced }]
        : []
      : splitTemplate(debounced);
    const segs = all.filter((s) => s.expr);
    // As the server renders a template: one {{ }} alone keeps its type; otherwise every
    // part becomes text (strings as they are, undefined as nothing, the rest as JSON).
    const single = segs.length === 1 && all.every((s) => s.expr || !s.text.trim());
    const unclosed = !bare && debounced.lastIndexOf('{{') > debounced.lastIndexOf('}}');
    if (unclosed) {
      setCheck({ ok: false, message: 'Missing closing }}', at: debounced.lastIndexOf('{{') });
      return;
    }
    if (!segs.length) {
      setCheck(null);
      return;
    }
    const ctl = new AbortController();
    (async () => {
      let last: Check = { ok: true };
      let rendered = '';
      let complete = true;
      for (const seg of all) {
        if (!seg.expr) {
          rendered += seg.text;
          continue;
        }
        const expr = (seg.exprText ?? '').trim();
        if (!expr) {
          last = { ok: false, message: 'Empty expression', at: seg.start };
          break;
        }
        const lead = (seg.exprText ?? '').length - (seg.exprText ?? '').trimStart().length;
        try {
          const r = await expressions.evaluate(expr, JSON.parse(inputKey) as JsonObject, {}, ctl.signal);
          last = { ok: true, result: r?.result, hasResult: r !== undefined && r !== null && 'result' in r };
          const v = last.hasResult ? last.result : undefined;
          rendered += v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
        } catch (e) {
          if ((e as Error)?.name === 'AbortError') return;
          if (e instanceof ApiError && e.status === 400) {
            const pos = errorPosition(e);
            last = {
              ok: false,
              message: e.message,
              code: e.code,
              // JSONata positions count to the end of the offending token.
              at: pos !== undefined ? (seg.exprStart ?? 0) + lead + Math.max(0, pos - 1) : undefined,
              pos,
            };
          } else {
            // The server is unreachable or refused: do not claim the expression is wrong.
            last = { ok: true, message: e instanceof Error ? `Preview unavailable: ${e.message}` : undefined };
            complete = false;
          }
          if (!last.ok) break;
        }
      }
      if (last.ok && complete && !single) last = { ...last, result: rendered, hasResult: true };
      if (!ctl.signal.aborted) setCheck(last);
    })();
    return () => ctl.abort();
  }, [debounced, inputKey, bare]);
  return check;
}

export function ExprInput({
  id,
  value,
  onChange,
  ctx,
  bare,
  multiline,
  rows = 3,
  placeholder,
  ariaLabel,
  invalid,
  testId,
  describedBy,
}: {
  id?: string;
  value: string;
  onChange: (v: string) => void;
  ctx?: ExprContext;
  /** The whole value is one JSONata expression, without {{ }}. */
  bare?: boolean;
  multiline?: boolean;
  /** Rows of a multiline field (default 3). */
  rows?: number;
  placeholder?: string;
  ariaLabel?: string;
  invalid?: boolean;
  testId?: string;
  describedBy?: string;
}) {
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const backdrop = useRef<HTMLDivElement>(null);
  const [caret, setCaret] = useState(0);
  const [focused, setFocused] = useState(false);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);
  const check = useExpressionCheck(value, ctx, bare);

  // The partial path being typed inside an open {{ before the caret.
  const partial = useMemo(() => {
    const before = value.slice(0, caret);
    const open = bare ? -2 : before.lastIndexOf('{{');
    if (!bare && (open < 0 || before.lastIndexOf('}}') > open)) return null;
    const m = /([A-Za-z_$][\w$]*(?:\.[\w$]*)*)$/.exec(before.slice(open + 2));
    const word = m ? m[1] : '';
    return { word, from: caret - word.length };
  }, [value, caret, bare]);

  const suggestions = useMemo((): Suggestion[] => {
    if (!partial || !ctx) return [];
    const w = partial.word.toLowerCase();
    const paths = ctx.paths.filter((p) => p.toLowerCase().startsWith(w) && p.toLowerCase() !== w).map((p) => ({ insert: p, label: p }));
    // Functions once a `$` or two letters of a name (no path) are typed.
    const fn = w.startsWith('$') ? w : w.length >= 2 && !w.includes('.') ? `$${w}` : null;
    const fns = fn ? FUNCTION_SUGGESTIONS.filter((f) => f.label.toLowerCase().startsWith(fn) && f.label.toLowerCase() !== w) : [];
    return [...paths.slice(0, 8), ...fns.slice(0, 8)].slice(0, 12);
  }, [partial, ctx]);
  const showSug = focused && !dismissed && suggestions.length > 0;

  useEffect(() => setActive(0), [suggestions.length, partial?.word]);

  const accept = (sug: Suggestion) => {
    if (!partial) return;
    const p = sug.insert;
    const next = value.slice(0, partial.from) + p + value.slice(caret);
    onChange(next);
    const pos = partial.from + p.length;
    requestAnimationFrame(() => {
      ref.current?.setSelectionRange(pos, pos);
      setCaret(pos);
    });
  };

  const onKey = (e: KeyboardEvent) => {
    if (!showSug) {
      if (e.key === 'Escape') setDismissed(true);
      return;
    }
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setActive((a) => (a + 1) % suggestions.length);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => (a - 1 + suggestions.length) % suggestions.length);
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      accept(suggestions[active]);
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      setDismissed(true);
    }
  };

  const segs: Segment[] = bare ? [{ text: value, expr: true, start: 0, exprStart: 0, exprText: value }] : splitTemplate(value);
  const errAt = check && !check.ok ? check.at : undefined;
  const highlighted = (
    <>
      {segs.map((s, i) => {
        if (errAt !== undefined && errAt >= s.start && errAt < s.start + s.text.length) {
          const k = errAt - s.start;
          return (
            <span key={i} className={s.expr ? 'hl-expr' : undefined}>
              {s.text.slice(0, k)}
              <span className="hl-error">{s.text.slice(k, k + 1) || ' '}</span>
              {s.text.slice(k + 1)}
            </span>
          );
        }
        return (
          <span key={i} className={s.expr ? 'hl-expr' : undefined}>
            {s.text}
          </span>
        );
      })}
      {errAt !== undefined && errAt >= value.length ? <span className="hl-error"> </span> : null}
      {'\u200b'}
    </>
  );

  const listId = id ? `${id}-suggestions` : undefined;
  const msgId = id ? `${id}-expr-msg` : undefined;
  const common = {
    id,
    ref,
    value,
    spellCheck: false,
    placeholder,
    'aria-label': ariaLabel,
    'aria-invalid': invalid || (check ? !check.ok : false),
    'aria-describedby': [describedBy, check?.message || check?.hasResult ? msgId : undefined].filter(Boolean).join(' ') || undefined,
    'aria-autocomplete': 'list' as const,
    'aria-controls': showSug ? listId : undefined,
    'aria-expanded': showSug,
    'data-testid': testId,
    // What a click in the data panel inserts here (FlowEditorPage).
    'data-expr': bare ? 'bare' : 'template',
    className: 'expr-field',
    onChange: (e: { target: { value: string; selectionStart: number | null } }) => {
      onChange(e.target.value);
      setCaret(e.target.selectionStart ?? e.target.value.length);
      setDismissed(false);
    },
    onSelect: (e: { currentTarget: { selectionStart: number | null } }) => setCaret(e.currentTarget.selectionStart ?? 0),
    onKeyDown: onKey,
    onFocus: () => setFocused(true),
    onBlur: () => setTimeout(() => setFocused(false), 150),
    onScroll: (e: { currentTarget: { scrollTop: number; scrollLeft: number } }) => {
      if (backdrop.current) {
        backdrop.current.scrollTop = e.currentTarget.scrollTop;
        backdrop.current.scrollLeft = e.currentTarget.scrollLeft;
      }
    },
  };

  return (
    <div className={`expr${multiline ? ' expr-multi' : ''}${check && !check.ok ? ' expr-invalid' : ''}`}>
      <div className="expr-box">
        <div className="expr-backdrop" ref={backdrop} aria-hidden>
          {highlighted}
        </div>
        {multiline ? <textarea rows={rows} {...common} /> : <input type="text" {...common} role="combobox" />}
      </div>
      {showSug ? (
        <ul className="expr-suggest" role="listbox" id={listId} aria-label="Suggestions">
          {suggestions.map((p, i) => (
            <li
              key={p.label}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'active' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(p);
              }}
            >
              <code>{p.label}</code>
              {p.detail ? <span className="small muted mono sug-detail">{p.detail}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {check ? (
        <div id={msgId} className={`expr-msg ${check.ok ? 'expr-ok' : 'expr-err'}`} role={check.ok ? undefined : 'alert'} data-testid="expr-message">
          {check.ok ? (
            check.message ? (
              <span className="muted">{check.message}</span>
            ) : (
              <>
                <span className="muted">Preview: </span>
                <code data-testid="expr-preview">{check.hasResult ? preview(check.result) : 'undefined (no value with the last run)'}</code>
              </>
            )
          ) : (
            <>
              {check.code && !/^http_|validation_failed|bad_request|invalid/.test(check.code) ? <code>{check.code}</code> : null}{' '}
              {check.pos !== undefined ? <span data-testid="expr-error-position">At position {check.pos}: </span> : check.at !== undefined ? <span data-testid="expr-error-position">At character {check.at + 1}: </span> : null}
              {check.message}
            </>
          )}
        </div>
      ) : null}
    </div>
  );
}

/** Data paths in a value, for suggestions: `prefix`, `prefix.a`, `prefix.a.b`, … */
export function pathsOf(prefix: string, v: unknown, depth = 0, out: string[] = []): string[] {
  out.push(prefix);
  if (depth >= 4 || v === null || typeof v !== 'object') return out;
  if (Array.isArray(v)) {
    if (v.length) pathsOf(`${prefix}[0]`, v[0], depth + 1, out);
    return out;
  }
  for (const [k, x] of Object.entries(v as Record<string, unknown>).slice(0, 40)) {
    const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `\`${k}\``;
    pathsOf(`${prefix}.${key}`, x, depth + 1, out);
  }
  return out;
}
