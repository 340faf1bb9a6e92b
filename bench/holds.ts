import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Call } from './local-api';

/**
 * The hold-release benchmark: `held` callouts wait On Hold on a Down system whose rate limit is `rate`
 * callouts a second; the system is brought Up and the benchmark measures how long the release takes
 * until every callout has reached the system, against the `held / rate` seconds the limit allows
 * (1.0 is the limit), and counts callouts lost (never sent) or sent twice (by their idempotency keys).
 */

/** Lines per order: the most one order may send to one plan. */
const LINES_PER_ORDER = 40;

export interface HoldReleaseFigures {
  held: number;
  ratePerSecond: number;
  /** Submitting the orders until every callout was On Hold. */
  holdSeconds: number;
  /** From the operator's Up to the last callout received by the system. */
  releaseSeconds: number;
  /** What the rate allows: held / rate. */
  floorSeconds: number;
  /** releaseSeconds / floorSeconds; 1.0 is the rate limit itself. */
  ratio: number;
  /** The most callouts the system received within any one second (a sliding window). */
  mostInOneSecond: number;
  lost: number;
  sentTwice: number;
}

/** The bulk system, its interface and a one-callout plan, added to a copy of the demo catalog. */
export function writeBulkCatalog(dir: string, ratePerSecond: number): void {
  writeFileSync(
    join(dir, 'systems', 'bulk.yaml'),
    `id: bulk\nname: A rate-limited bulk system\nbaseUrl: http://127.0.0.1:1\nlimits:\n  maxCalloutsPerSecond: ${ratePerSecond}\n`,
  );
  writeFileSync(
    join(dir, 'interfaces', 'bulk-work.yaml'),
    'id: bulk-work\nsystem: bulk\nmethod: POST\npath: /work\ntimeoutSeconds: 10\n',
  );
  writeFileSync(
    join(dir, 'plans', 'bulk.yaml'),
    'id: bulk\nfulfils:\n  - offering: bulk\nitems:\n  - id: work\n    type: callout\n    interface: bulk-work\n',
  );
  writeFileSync(join(dir, 'offerings', 'bulk.yaml'), 'id: bulk\nname: Bulk work\n');
}

/** The bulk system: answers at once and counts every callout by its idempotency key, with when. */
export async function startBulkSystem() {
  const seen = new Map<string, number>();
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    req.resume();
    const key = String(req.headers['idempotency-key'] ?? '');
    seen.set(key, (seen.get(key) ?? 0) + 1);
    arrivals.push(Date.now());
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    arrivals,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Holds `held` callouts, releases them, and measures the release. */
export async function measureHoldRelease(
  call: Call,
  bulk: Awaited<ReturnType<typeof startBulkSystem>>,
  held: number,
  ratePerSecond: number,
  progress: (line: string) => void,
): Promise<HoldReleaseFigures> {
  const down = await call('PUT', '/admin/systems/bulk/state', 'operator', {
    state: 'Down',
    reason: 'benchmark',
  });
  if (down.status !== 200) throw new Error(`bulk could not be taken Down: ${JSON.stringify(down.body)}`);

  const holdStarted = Date.now();
  const orders = Math.ceil(held / LINES_PER_ORDER);
  let submitted = 0;
  // A few submissions at a time: the order API answers once the plan is started.
  const submitOne = async (n: number) => {
    const lines = Math.min(LINES_PER_ORDER, held - n * LINES_PER_ORDER);
    const created = await call('POST', '/tmf-api/productOrderingManagement/v5/productOrder', 'submitter', {
      externalId: [{ id: `bench-hold-${n}` }],
      productOrderItem: Array.from({ length: lines }, (_, i) => ({
        id: String(i + 1),
        action: 'add',
        productOffering: { id: 'bulk' },
      })),
    });
    if (created.status !== 201) throw new Error(`order ${n} refused: ${JSON.stringify(created.body)}`);
    submitted += lines;
  };
  for (let n = 0; n < orders; n += 4) {
    await Promise.all([n, n + 1, n + 2, n + 3].filter((i) => i < orders).map(submitOne));
  }
  progress(`submitted ${submitted} callouts in ${orders} orders; waiting for all to be On Hold`);
  for (;;) {
    const count = await countHeld(call);
    if (count >= held) break;
    if (Date.now() - holdStarted > 30 * 60_000) throw new Error(`only ${count} of ${held} callouts held`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const holdSeconds = (Date.now() - holdStarted) / 1000;
  if (bulk.seen.size > 0) throw new Error(`${bulk.seen.size} callouts reached a Down system`);
  progress(`${held} callouts On Hold after ${holdSeconds.toFixed(1)} s; bringing bulk Up`);

  const releaseStarted = Date.now();
  await call('PUT', '/admin/systems/bulk/state', 'operator', { state: 'Up', reason: 'benchmark release' });
  const floorSeconds = held / ratePerSecond;
  // Waits for all, or until four times the floor: what has not come by then is counted lost.
  while (bulk.seen.size < held && Date.now() - releaseStarted < Math.max(60_000, 4 * floorSeconds * 1000)) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const last = Math.max(...bulk.arrivals);
  // A duplicate would arrive later still: give stragglers a moment before counting.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const releaseSeconds = (last - releaseStarted) / 1000;
  // The most callouts in any one second: a window [t, t + 1 s) opening at each arrival.
  const sorted = [...bulk.arrivals].sort((a, b) => a - b);
  let mostInOneSecond = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && (sorted[j] ?? 0) < (sorted[i] ?? 0) + 1000) j++;
    mostInOneSecond = Math.max(mostInOneSecond, j - i);
  }
  return {
    held,
    ratePerSecond,
    holdSeconds: round(holdSeconds),
    releaseSeconds: round(releaseSeconds),
    floorSeconds: round(floorSeconds),
    ratio: round(releaseSeconds / floorSeconds),
    mostInOneSecond,
    lost: held - bulk.seen.size,
    sentTwice: [...bulk.seen.values()].filter((n) => n > 1).length,
  };
}

/** Held items of the bulk system, counted through the on-hold view (200 a page). */
async function countHeld(call: Call): Promise<number> {
  let count = 0;
  let after: string | undefined;
  for (;;) {
    const page = await call(
      'GET',
      `/admin/systems/bulk/on-hold-items?limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      'operator',
    );
    const body = page.body as { items: unknown[]; next?: string };
    count += body.items.length;
    if (!body.next) return count;
    after = body.next;
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;
