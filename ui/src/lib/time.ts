// Time formatting. Run and delivery times are shown in the user's zone with
// the zone named; schedule times in the schedule's own zone.

export const userZone: string = (() => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
})();

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "28 Nov 2026, 18:13:05 CET" in `zone` (default the user's). */
export function fmtDateTime(iso: string | null | undefined, zone?: string, withSeconds = true): string {
  const d = parse(iso);
  if (!d) return iso ? String(iso) : '—';
  try {
    return new Intl.DateTimeFormat(undefined, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: withSeconds ? '2-digit' : undefined,
      timeZone: zone || userZone,
      timeZoneName: 'short',
    }).format(d);
  } catch {
    return d.toISOString();
  }
}

/** Weekday + date + time in `zone`, for schedule previews. */
export function fmtScheduleTime(iso: string, zone?: string): string {
  const d = parse(iso);
  if (!d) return iso;
  try {
    return new Intl.DateTimeFormat(undefined, {
      weekday: 'short',
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: d.getUTCSeconds() ? '2-digit' : undefined,
      timeZone: zone || userZone,
      timeZoneName: 'short',
    }).format(d);
  } catch {
    return iso;
  }
}

/** The zone named by the offset of an ISO string is unknown; show the local part verbatim. */
export function wallTimeOf(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  const rs = Math.round(s % 60);
  if (m < 60) return `${m} min ${rs} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

export function durationBetween(a?: string | null, b?: string | null): number | null {
  const da = parse(a);
  const db = parse(b);
  if (!da || !db) return null;
  return db.getTime() - da.getTime();
}

export function fmtRelative(iso: string | null | undefined): string {
  const d = parse(iso);
  if (!d) return '';
  const diff = (Date.now() - d.getTime()) / 1000;
  const abs = Math.abs(diff);
  const fmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (abs < 45) return fmt.format(-Math.round(diff), 'second');
  if (abs < 2700) return fmt.format(-Math.round(diff / 60), 'minute');
  if (abs < 79200) return fmt.format(-Math.round(diff / 3600), 'hour');
  return fmt.format(-Math.round(diff / 86400), 'day');
}

export function allTimeZones(): string[] {
  try {
    const fn = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
    if (fn) {
      const zones = fn('timeZone');
      return zones.includes('UTC') ? zones : ['UTC', ...zones];
    }
  } catch {
    /* fall through */
  }
  return ['UTC', userZone];
}
