// The Schedule card's form: Predefined / One-Time / Custom / Advanced (cron),
// start, end, time zone, misfire and overlap; below it the next 5 fire times
// and the description from POST /schedules/preview, refreshed as the user types.
import { useEffect, useMemo, useState } from 'react';
import { ApiError, schedules, type ApiErrorDetail, type Schedule, type SchedulePreview } from '../../api';
import { useDebounced } from '../../lib/hooks';
import { fmtScheduleTime, userZone } from '../../lib/time';
import { Field, Spinner } from '../ui';
import { TimeZonePicker } from '../TimeZonePicker';

const EVERY = ['1m', '5m', '10m', '15m', '30m', '1h', '2h', '3h', '4h', '6h', '8h', '12h', '1d', '1w'];
const EVERY_LABEL: Record<string, string> = {
  '1m': 'Every minute',
  '5m': 'Every 5 minutes',
  '10m': 'Every 10 minutes',
  '15m': 'Every 15 minutes',
  '30m': 'Every 30 minutes',
  '1h': 'Every hour',
  '2h': 'Every 2 hours',
  '3h': 'Every 3 hours',
  '4h': 'Every 4 hours',
  '6h': 'Every 6 hours',
  '8h': 'Every 8 hours',
  '12h': 'Every 12 hours',
  '1d': 'Every day',
  '1w': 'Every week',
};
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DAY_LABEL: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** datetime-local gives "YYYY-MM-DDTHH:MM"; the contract's wall times carry seconds. */
function toWall(v: string): string | null {
  if (!v) return null;
  return v.length === 16 ? `${v}:00` : v;
}
function fromWall(v?: string | null): string {
  if (!v) return '';
  return v.replace(/([+-]\d{2}:\d{2}|Z)$/, '').slice(0, 19);
}

/** Expands "mon-fri" style ranges the contract allows into single days for the checkboxes. */
function expandDays(days: string[] = []): string[] {
  const out = new Set<string>();
  for (const d of days) {
    const m = /^(\w{3})-(\w{3})$/.exec(d.toLowerCase());
    if (m) {
      const a = DAYS.indexOf(m[1]);
      const b = DAYS.indexOf(m[2]);
      if (a >= 0 && b >= 0) for (let i = a; i <= b; i++) out.add(DAYS[i]);
    } else out.add(d.toLowerCase());
  }
  return DAYS.filter((d) => out.has(d));
}

export function defaultSchedule(): Schedule {
  return { kind: 'predefined', every: '15m', timezone: userZone };
}

function errorFor(errors: ApiErrorDetail[], ...keys: string[]): string | null {
  for (const e of errors) {
    const p = e.path ?? '';
    if (keys.some((k) => p === k || p.endsWith(`.${k}`) || p.startsWith(`${k}[`) || p.includes(`.${k}[`))) return e.message;
  }
  return null;
}

export function ScheduleEditor({
  value,
  onChange,
  errors = [],
  noOnce = false,
}: {
  value: Schedule;
  onChange: (s: Schedule) => void;
  /** Server validation errors for trigger.schedule.* */
  errors?: ApiErrorDetail[];
  /** Leave out One-Time (a poll trigger's `every` repeats). */
  noOnce?: boolean;
}) {
  const s = value;
  const set = (patch: Partial<Schedule>) => onChange({ ...s, ...patch });
  const customMode = s.every ? 'interval' : 'times';
  const useDom = !!s.days_of_month?.length;

  const setKind = (kind: Schedule['kind']) => {
    // One-Time has no Start/End fields: a start kept from the kind before would hide its fire time.
    const range = kind === 'once' ? {} : { start: s.start, end: s.end };
    const base: Schedule = { kind, ...range, timezone: s.timezone, misfire: s.misfire, overlap: s.overlap };
    if (kind === 'predefined') base.every = '15m';
    if (kind === 'once') base.at = '';
    if (kind === 'custom') {
      base.days = ['mon', 'tue', 'wed', 'thu', 'fri'];
      base.times = ['09:00'];
    }
    if (kind === 'cron') base.cron = '0 9 * * MON-FRI';
    onChange(base);
  };

  // Live preview.
  const debounced = useDebounced(JSON.stringify(s), 400);
  const [preview, setPreview] = useState<SchedulePreview | null>(null);
  const [previewErr, setPreviewErr] = useState<ApiError | Error | null>(null);
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    const sched = JSON.parse(debounced) as Schedule;
    if (sched.kind === 'once' && !sched.at) {
      setPreview(null);
      setPreviewErr(null);
      return;
    }
    const ctl = new AbortController();
    setLoading(true);
    schedules
      .preview(sched, 5, undefined, ctl.signal)
      .then((p) => {
        setPreview(p);
        setPreviewErr(null);
      })
      .catch((e) => {
        if ((e as Error)?.name === 'AbortError') return;
        setPreview(null);
        setPreviewErr(e as Error);
      })
      .finally(() => !ctl.signal.aborted && setLoading(false));
    return () => ctl.abort();
  }, [debounced]);

  const allErrors = useMemo(() => {
    const list = [...errors];
    if (previewErr instanceof ApiError && previewErr.status === 400) {
      if (previewErr.details.length) list.push(...previewErr.details);
      else list.push({ path: value.kind === 'cron' ? 'cron' : '', message: previewErr.message });
    }
    return list;
  }, [errors, previewErr, value.kind]);
  const err = (...k: string[]) => errorFor(allErrors, ...k);
  const unplaced = allErrors.filter(
    (e) => !['every', 'at', 'days', 'times', 'between', 'days_of_month', 'cron', 'start', 'end', 'timezone'].some((k) => (e.path ?? '').endsWith(k) || (e.path ?? '').includes(`.${k}[`) || (e.path ?? '').includes(`${k}[`)),
  );
  const zone = s.timezone || userZone;

  return (
    <div className="schedule-editor" data-testid="schedule-editor">
      <Field label="Schedule type" htmlFor="schedule-kind">
        <select id="schedule-kind" value={s.kind} onChange={(e) => setKind(e.target.value as Schedule['kind'])}>
          <option value="predefined">Predefined</option>
          {noOnce ? null : <option value="once">One-Time</option>}
          <option value="custom">Custom</option>
          <option value="cron">Advanced (cron)</option>
        </select>
      </Field>

      {s.kind === 'predefined' ? (
        <Field label="Repeat" htmlFor="schedule-every" error={err('every')}>
          <select id="schedule-every" value={s.every ?? '15m'} onChange={(e) => set({ every: e.target.value })}>
            {EVERY.map((v) => (
              <option key={v} value={v}>
                {EVERY_LABEL[v]}
              </option>
            ))}
          </select>
        </Field>
      ) : null}

      {s.kind === 'once' ? (
        <Field label="Run at" htmlFor="schedule-at" error={err('at')} help={`Wall-clock time in ${zone}`} required>
          <input id="schedule-at" type="datetime-local" step={1} value={fromWall(s.at)} onChange={(e) => set({ at: toWall(e.target.value) ?? '' })} />
        </Field>
      ) : null}

      {s.kind === 'custom' ? (
        <>
          <fieldset className="radio-row">
            <legend className="field-label">Runs</legend>
            <label>
              <input
                type="radio"
                name="custom-mode"
                checked={customMode === 'times'}
                onChange={() => onChange({ ...s, every: undefined, between: undefined, times: s.times?.length ? s.times : ['09:00'] })}
              />{' '}
              At set times
            </label>
            <label>
              <input
                type="radio"
                name="custom-mode"
                checked={customMode === 'interval'}
                onChange={() => onChange({ ...s, times: undefined, every: '30m', between: ['08:00', '18:00'] })}
              />{' '}
              Every interval, between two times
            </label>
          </fieldset>
          {customMode === 'times' ? (
            <Field label="Times" error={err('times')} help="Wall-clock times, HH:MM">
              <div className="times-list">
                {(s.times ?? []).map((t, i) => (
                  <span key={i} className="time-chip">
                    <input
                      type="time"
                      aria-label={`Time ${i + 1}`}
                      value={t}
                      onChange={(e) => set({ times: (s.times ?? []).map((x, j) => (j === i ? e.target.value : x)) })}
                    />
                    <button
                      type="button"
                      className="icon-btn icon-btn-small"
                      aria-label={`Remove time ${t}`}
                      onClick={() => set({ times: (s.times ?? []).filter((_, j) => j !== i) })}
                    >
                      ×
                    </button>
                  </span>
                ))}
                <button type="button" className="btn btn-small" onClick={() => set({ times: [...(s.times ?? []), '12:00'] })}>
                  Add time
                </button>
              </div>
            </Field>
          ) : (
            <div className="row gap-m wrap">
              <Field label="Every" htmlFor="custom-every" error={err('every')}>
                <select id="custom-every" value={s.every ?? '30m'} onChange={(e) => set({ every: e.target.value })}>
                  {['1m', '5m', '10m', '15m', '20m', '30m', '1h', '2h', '3h', '4h', '6h'].map((v) => (
                    <option key={v} value={v}>
                      {v}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label="From" htmlFor="custom-from" error={err('between')}>
                <input id="custom-from" type="time" value={s.between?.[0] ?? '08:00'} onChange={(e) => set({ between: [e.target.value, s.between?.[1] ?? '18:00'] })} />
              </Field>
              <Field label="Until" htmlFor="custom-until">
                <input id="custom-until" type="time" value={s.between?.[1] ?? '18:00'} onChange={(e) => set({ between: [s.between?.[0] ?? '08:00', e.target.value] })} />
              </Field>
            </div>
          )}
          <fieldset className="radio-row">
            <legend className="field-label">On</legend>
            <label>
              <input type="radio" name="custom-days" checked={!useDom} onChange={() => onChange({ ...s, days_of_month: undefined, days: s.days?.length ? s.days : ['mon', 'tue', 'wed', 'thu', 'fri'] })} /> Days
              of the week
            </label>
            <label>
              <input type="radio" name="custom-days" checked={useDom} onChange={() => onChange({ ...s, days: undefined, days_of_month: [1] })} /> Days of the month
            </label>
          </fieldset>
          {!useDom ? (
            <Field label="Days of the week" error={err('days')}>
              <div className="day-picker" role="group" aria-label="Days of the week">
                {DAYS.map((d) => {
                  const on = expandDays(s.days).includes(d);
                  return (
                    <label key={d} className={`day${on ? ' on' : ''}`}>
                      <input
                        type="checkbox"
                        checked={on}
                        onChange={(e) => {
                          const cur = new Set(expandDays(s.days));
                          if (e.target.checked) cur.add(d);
                          else cur.delete(d);
                          set({ days: DAYS.filter((x) => cur.has(x)) });
                        }}
                      />
                      {DAY_LABEL[d]}
                    </label>
                  );
                })}
              </div>
            </Field>
          ) : (
            <Field label="Days of the month" htmlFor="custom-dom" error={err('days_of_month')} help="Comma-separated: 1, 15, last">
              <input
                id="custom-dom"
                value={(s.days_of_month ?? []).join(', ')}
                onChange={(e) =>
                  set({
                    days_of_month: e.target.value
                      .split(/[,\s]+/)
                      .filter(Boolean)
                      .map((x) => (/^\d+$/.test(x) ? Number(x) : x)),
                  })
                }
              />
            </Field>
          )}
        </>
      ) : null}

      {s.kind === 'cron' ? (
        <Field
          label="Cron expression"
          htmlFor="schedule-cron"
          error={err('cron')}
          help={
            <>
              5 fields (minute hour day month weekday), or 6 with seconds first. <code>L</code>, <code>W</code>, <code>#</code> and <code>@daily</code>{' '}
              work.
            </>
          }
          required
        >
          <input id="schedule-cron" className="mono" spellCheck={false} value={s.cron ?? ''} onChange={(e) => set({ cron: e.target.value })} placeholder="0 9 * * MON-FRI" />
        </Field>
      ) : null}

      <div className="grid-2">
        {s.kind !== 'once' ? (
          <>
            <Field label="Start" htmlFor="schedule-start" error={err('start')} help="Optional; no fire before it">
              <input id="schedule-start" type="datetime-local" step={1} value={fromWall(s.start)} onChange={(e) => set({ start: toWall(e.target.value) })} />
            </Field>
            <Field label="End" htmlFor="schedule-end" error={err('end')} help="Optional; no fire after it">
              <input id="schedule-end" type="datetime-local" step={1} value={fromWall(s.end)} onChange={(e) => set({ end: toWall(e.target.value) })} />
            </Field>
          </>
        ) : null}
      </div>
      <Field label="Time zone" htmlFor="schedule-timezone" error={err('timezone')}>
        <TimeZonePicker id="schedule-timezone" value={s.timezone ?? ''} onChange={(tz) => set({ timezone: tz || undefined })} />
      </Field>
      <details className="more">
        <summary>Missed and overlapping runs</summary>
        <div className="grid-2">
          <Field label="When weft was down" htmlFor="schedule-misfire">
            <select id="schedule-misfire" value={s.misfire ?? 'run_once'} onChange={(e) => set({ misfire: e.target.value as Schedule['misfire'] })}>
              <option value="run_once">Run once to catch up</option>
              <option value="skip">Skip missed times</option>
            </select>
          </Field>
          <Field label="If the previous run is unfinished" htmlFor="schedule-overlap">
            <select id="schedule-overlap" value={s.overlap ?? 'allow'} onChange={(e) => set({ overlap: e.target.value as Schedule['overlap'] })}>
              <option value="allow">Run anyway</option>
              <option value="skip">Skip this time</option>
              <option value="queue">Queue it</option>
            </select>
          </Field>
        </div>
      </details>

      <div className="schedule-preview" aria-live="polite" data-testid="schedule-preview">
        <div className="row gap-s">
          <strong>Next runs</strong>
          <span className="small muted">in {zone}</span>
          {loading ? <Spinner label="Updating preview" /> : null}
        </div>
        {preview ? (
          <>
            {preview.description ? (
              <p className="sched-desc" data-testid="schedule-description">
                {preview.description}
              </p>
            ) : null}
            {preview.next.length ? (
              <ol className="next-times" data-testid="schedule-next">
                {preview.next.map((t) => (
                  <li key={t}>
                    <time dateTime={t}>{fmtScheduleTime(t, zone)}</time>
                  </li>
                ))}
              </ol>
            ) : (
              <p className="muted small">No future fire time.</p>
            )}
          </>
        ) : previewErr && !(previewErr instanceof ApiError && previewErr.status === 400) ? (
          <p className="muted small">Preview unavailable: {previewErr.message}</p>
        ) : s.kind === 'once' && !s.at ? (
          <p className="muted small">Pick a date and time.</p>
        ) : null}
        {unplaced.length ? (
          <div className="field-error" role="alert" data-testid="schedule-error">
            {unplaced.map((e, i) => (
              <div key={i}>{e.message}</div>
            ))}
          </div>
        ) : null}
      </div>
    </div>
  );
}
