import { startSimulatedSystem } from '../simulators/simulated-system';

/**
 * The scaling part's systems: `echo` answers every callout at once; `flaky` answers 503 to the first
 * `failFirst` attempts of each callout (by its Idempotency-Key, which stays the same across attempts),
 * then 200. A 503 is never remembered for a key, so a retry reaches the route again.
 */
export async function startScalingSystems() {
  const echo = await startSimulatedSystem(
    { name: 'echo', port: 0 },
    { 'POST /work': () => ({ status: 200, body: { done: true } }) },
  );
  const attempts = new Map<string, number>();
  const settings = { failFirst: 0 };
  const flaky = await startSimulatedSystem(
    { name: 'flaky', port: 0 },
    {
      'POST /work': ({ headers }) => {
        const key = String(headers['idempotency-key'] ?? '');
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        return attempt <= settings.failFirst
          ? { status: 503, body: { error: `unavailable (attempt ${attempt})` } }
          : { status: 200, body: { done: true, attempts: attempt } };
      },
    },
  );
  return {
    echo,
    flaky,
    /** How many attempts of each new callout flaky refuses. */
    failFirst(n: number) {
      settings.failFirst = n;
    },
    async stop() {
      await Promise.all([echo.stop(), flaky.stop()]);
    },
  };
}
