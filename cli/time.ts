// Times are shown in UTC: ops in several time zones read the same output and the same SSM history.

export function toDate(value: string | Date | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** `2026-11-26 01:29 UTC` */
export function formatTime(value: string | Date | undefined): string {
  const date = toDate(value);
  if (!date) return '-';
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** How long ago, coarsely: `just now`, `12m ago`, `5h ago`, `3d ago`. */
export function formatAge(value: string | Date | undefined, now: Date): string {
  const date = toDate(value);
  if (!date) return '';
  const minutes = Math.floor((now.getTime() - date.getTime()) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ago`;
  return `${Math.floor(hours / 24)}d ago`;
}

/** `2026-11-26 01:29 UTC (3d ago)` */
export function formatTimeWithAge(value: string | Date | undefined, now: Date): string {
  const age = formatAge(value, now);
  return age ? `${formatTime(value)} (${age})` : formatTime(value);
}
