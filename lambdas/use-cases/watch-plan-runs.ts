import { randomUUID } from 'node:crypto';
import { runInput } from '../domain/decompose';
import type { EndedRun } from '../domain/item-decisions';
import type { OrderRecord } from '../domain/orchestration';
import type { AvailabilityEvents } from '../ports/availability-events';
import type { ConfigurationStore } from '../ports/configuration-store';
import type { OrderStore } from '../ports/order-store';
import type { PlanRunner } from '../ports/plan-runner';
import { logger } from '../shared/logger';
import { type DriverDeps, drive } from './item-driver';
import { STALE_STAMP_MS } from './release-held-items';

/**
 * Watches plan runs from outside them: a run that ends abnormally puts the items it left under way in
 * fallout, and a sweep starts the runs of orders whose plans never started and lets go of holds that
 * nothing holds any more (a worker that died between two writes).
 */

export type WatchDeps = DriverDeps & {
  plans: PlanRunner;
  /** The sweep: which systems are available, and whether a held item's interface is. */
  config: Pick<ConfigurationStore, 'listSystems' | 'getInterface'>;
  /** The sweep asks for the release of held items no release is sending. */
  events: Pick<AvailabilityEvents, 'requestRelease'>;
};

/** What a plan run's abnormal end did: the items it put in fallout, or why nothing. */
export interface RunEndedSummary {
  fallout: string[];
  because?: string;
}

/**
 * A plan run (Step Functions execution) of `orderId` failed, timed out or was stopped. Of an order that
 * still runs, every item of that run that was under way or never dispatched goes to fallout, naming the
 * run and how it ended; the order is held where operators see it. A run of an order that has ended (an
 * operator failed it, which stops its runs) changes nothing; so does the same announcement twice.
 */
export async function planRunEnded(
  deps: WatchDeps,
  orderId: string,
  run: EndedRun,
): Promise<RunEndedSummary> {
  const aggregate = await deps.store.getAggregate(orderId);
  if (!aggregate) return { fallout: [], because: `no order "${orderId}"` };
  const { order, done } = aggregate;
  const planRun = order.planRuns.find((r) => r.executionName === run.executionName);
  if (!planRun) return { fallout: [], because: `order "${orderId}" has no plan run ${run.executionName}` };
  // A cancellation stops its order's runs and ends their items itself.
  if (['failed', 'completed', 'pendingCancellation', 'cancelled'].includes(order.state))
    return { fallout: [], because: `the order is ${order.state}` };
  const fallout: string[] = [];
  for (const item of aggregate.items.values()) {
    if (item.planId !== planRun.planId || (item.lineId && !planRun.lineIds.includes(item.lineId))) continue;
    const { decision, refused } = await drive(
      deps,
      { item, order: { state: order.state, done, holds: order.holds ?? [] }, now: deps.now() },
      { kind: 'runEnded', run },
    );
    if (decision.write && !refused) fallout.push(item.key);
  }
  return { fallout };
}

/** An order still `acknowledged` this long after it was created has had its plans started again. */
export const UNSTARTED_AFTER_MS = 2 * 60_000;
/** The most orders of each kind one sweep looks at; the next sweep goes on. */
const SWEEP_LIMIT = 1000;
const PAGE = 100;

export interface SweepSummary {
  /** Orders whose plan runs were started (again). */
  started: string[];
  /** `<orderId>.<itemKey>` of holds let go: the item is neither On Hold nor in fallout. */
  released: string[];
  /** `<orderId>.<itemKey>` of Running items whose worker's lease ran out, sent back to work. */
  resumed: string[];
  /** Available systems whose held items no live release was sending: a release was asked for. */
  releasesAsked: string[];
}

/**
 * The reconciler's sweep, every few minutes:
 *
 * - an order `acknowledged` for longer than UNSTARTED_AFTER_MS has its plan runs started, under the
 *   names it was given, so a run that exists already is not started twice (Step Functions refuses the
 *   name) and one that never started (its submitter died between writing the order and starting it)
 *   starts once;
 * - an order `held` by an item that is neither On Hold nor in fallout is let go of that hold;
 * - a Running item whose worker's lease ran out is sent back to work, to be taken over: the workers
 *   take such items over as they go, but none may be running (its message went to the dead-letter queue);
 * - a system that is available with held items that no live release has stamped (the release died with
 *   its function or runtime after stamping them, or its event was lost) gets a release of its own: the
 *   release's stamps keep it from sending an item another one is sending.
 */
export async function sweep(deps: WatchDeps): Promise<SweepSummary> {
  const now = deps.now();
  const started: string[] = [];
  for (const order of await ordersIn(deps.store, 'acknowledged')) {
    if (now.getTime() - Date.parse(order.createdAt) < UNSTARTED_AFTER_MS) continue;
    for (const run of order.planRuns)
      await deps.plans.start(run.planId, run.executionName, runInput(order, run));
    started.push(order.id);
  }
  const released: string[] = [];
  for (const order of await ordersIn(deps.store, 'held')) {
    const aggregate = await deps.store.getAggregate(order.id);
    for (const key of aggregate?.order.holds ?? []) {
      const state = aggregate?.items.get(key)?.state;
      if (state === 'OnHold' || state === 'FatallyFailed') continue;
      await deps.store.releaseOrderHold(order.id, key, now.toISOString());
      released.push(`${order.id}.${key}`);
    }
  }
  // Each message a delivery of its own, whose claim decides (take-over-items.ts).
  const expired = await deps.store.expiredLeases(now.toISOString(), SWEEP_LIMIT);
  if (expired.length > 0)
    await deps.queue.send(expired.map(({ orderId, key }) => ({ kind: 'start', orderId, itemKey: key })));
  const resumed = expired.map(({ orderId, key }) => `${orderId}.${key}`);
  const releasesAsked = await askForLostReleases(deps, now);
  if (started.length + released.length + resumed.length + releasesAsked.length > 0)
    logger.warn('the sweep mended orders', { started, released, resumed, releasesAsked });
  return { started, released, resumed, releasesAsked };
}

/** How many held items of a system the sweep looks at, oldest first: one page of the on-hold index. */
const HELD_PAGE = 100;

/**
 * Asks for a release of each available system with a held item that no live release is sending: no
 * stamp, or one older than STALE_STAMP_MS, on an interface that is Online. Returns the systems.
 */
async function askForLostReleases(deps: WatchDeps, now: Date): Promise<string[]> {
  const staleBefore = new Date(now.getTime() - STALE_STAMP_MS).toISOString();
  const online = new Map<string, boolean>();
  const isOnline = async (interfaceId: string | undefined) => {
    if (interfaceId === undefined) return true;
    if (!online.has(interfaceId))
      online.set(interfaceId, (await deps.config.getInterface(interfaceId))?.status !== 'Offline');
    return online.get(interfaceId) === true;
  };
  const asked: string[] = [];
  for (const system of await deps.config.listSystems()) {
    if (system.state === 'Down') continue;
    const { items } = await deps.store.listHeldItems({ systemId: system.id, limit: HELD_PAGE });
    let lost = false;
    for (const held of items) {
      if (held.release && held.release.at >= staleBefore) continue;
      if (await isOnline(held.hold.interfaceId)) {
        lost = true;
        break;
      }
    }
    if (!lost) continue;
    await deps.events.requestRelease({
      systemId: system.id,
      releaseId: randomUUID(),
      reason: 'the sweep: held items of an available system that no release was sending',
    });
    asked.push(system.id);
  }
  return asked;
}

async function ordersIn(store: OrderStore, state: 'acknowledged' | 'held'): Promise<OrderRecord[]> {
  const found: OrderRecord[] = [];
  let after: string | undefined;
  while (found.length < SWEEP_LIMIT) {
    const page = await store.listOrders({ state, limit: PAGE, ...(after !== undefined ? { after } : {}) });
    found.push(...page.orders);
    if (page.next === undefined) break;
    after = page.next;
  }
  return found;
}
