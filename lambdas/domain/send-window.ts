/**
 * The window a system's rate limit is checked against at the moment of each send: the last `size` sends
 * admitted, which must all fall within `ms` of each other at most. Up to 100 a second that is "at most
 * ceil(rate) sends in any one second"; above, "at most 100 in any 100/rate of a second", so the record
 * that keeps the window stays under 1 KB (one write unit).
 */
export interface SendWindow {
  size: number;
  ms: number;
}

const MAX_WINDOW = 100;

export function sendWindow(perSecond: number): SendWindow {
  const size = Math.min(MAX_WINDOW, Math.ceil(perSecond));
  return { size, ms: perSecond <= MAX_WINDOW ? 1000 : Math.floor((1000 * size) / perSecond) };
}

/** The sends admitted last, oldest first (at most `size`), as kept by the window's record. */
export type RecentSends = readonly number[];

/**
 * Whether a send may go at `now` after `recent` were admitted: yes when fewer than `size` fall within the
 * window; otherwise the time the oldest of them leaves it.
 */
export function roomAt(
  window: SendWindow,
  recent: RecentSends,
  now: number,
): { admit: true } | { retryAt: number } {
  const within = recent.filter((at) => at > now - window.ms);
  if (within.length < window.size) return { admit: true };
  return { retryAt: Math.min(...within) + window.ms };
}

/** The record's sends after admitting one at `now`: the newest `size`, oldest first. */
export function admitted(window: SendWindow, recent: RecentSends, now: number): number[] {
  return [...recent, now].slice(-window.size);
}
