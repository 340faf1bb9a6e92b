import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from './api';

/** How often pages read again; a page hidden in a background tab does not. */
export const POLL_MS = 2_000;

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  /** Reads again now (after an action), without waiting for the next tick. */
  refresh: () => Promise<void>;
  loading: boolean;
}

/**
 * Reads `load` now and every POLL_MS while the page is visible, keeping the last answer while the next
 * one is on its way, so what is on screen (and the operator's selection and scroll) stays put.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], intervalMs = POLL_MS): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  // Every read is numbered; an answer is shown only if no later read has been shown already, so a poll
  // sent before an action cannot land after the read that follows the action and show the old state.
  const sent = useRef(0);
  const shown = useRef(0);
  /** Reads before this number belong to the page's previous subject (another order, another system). */
  const since = useRef(0);
  const refresh = useCallback(async () => {
    const mine = ++sent.current;
    const current = () => mine > shown.current && mine > since.current;
    try {
      const next = await load();
      if (!current()) return;
      shown.current = mine;
      setData(next);
      setError(undefined);
    } catch (caught) {
      if (!current()) return;
      shown.current = mine;
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      if (mine > since.current) setLoading(false);
    }
  }, deps);
  useEffect(() => {
    since.current = sent.current;
    setData(undefined);
    setLoading(true);
    void refresh();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, intervalMs);
    return () => clearInterval(timer);
  }, [refresh, intervalMs]);
  return { data, error, refresh, loading };
}
