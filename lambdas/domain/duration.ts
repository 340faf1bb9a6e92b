/**
 * ISO 8601 durations as plans write them (`PT30M`, `PT4H`, `P2D`, `P1DT12H`, `P1W`): days are 24 hours
 * (fulfilment promises are kept in elapsed time, not calendar days); years and months are refused, their
 * length depends on when they start.
 */
const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** The duration in milliseconds; undefined when it is not one of the forms above, or is zero. */
export function durationMs(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [, weeks, days, hours, minutes, seconds] = match.map((part) =>
    part === undefined ? 0 : Number(part),
  );
  const ms =
    ((((weeks ?? 0) * 7 + (days ?? 0)) * 24 + (hours ?? 0)) * 60 + (minutes ?? 0)) * 60_000 +
    (seconds ?? 0) * 1000;
  return ms > 0 ? ms : undefined;
}

/** A duration in words for people: `2 h 5 min`, `40 s`. */
export function inWords(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const parts: string[] = [];
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days) parts.push(`${days} d`);
  if (hours) parts.push(`${hours} h`);
  if (minutes) parts.push(`${minutes} min`);
  if (parts.length === 0 || (days === 0 && hours === 0 && seconds % 60 && minutes < 5))
    parts.push(`${seconds % 60} s`);
  return parts.join(' ');
}
