import { type ReleaseRequest, unavailability } from '../domain/availability';
import type { AvailabilityEvents } from '../ports/availability-events';
import type { ConfigurationStore, InterfaceRecord, SystemRecord } from '../ports/configuration-store';
import type { HeldItem, OrderStore } from '../ports/order-store';
import type { Telemetry } from '../ports/telemetry';
import type { StartItemMessage, WorkQueue } from '../ports/work-queue';
import { logger } from '../shared/logger';

export interface ReleaseDeps {
  store: OrderStore;
  config: ConfigurationStore;
  queue: WorkQueue;
  events: AvailabilityEvents;
  now: () => Date;
  /** The metrics operators watch. */
  telemetry: Telemetry;
  sleep: (ms: number) => Promise<void>;
  /** How long the release may still run (the Lambda's remaining time). */
  remainingMs: () => number;
}

/** Held items read per query. */
const PAGE_SIZE = 100;
/** Another release's stamp older than this is taken over: that release died before sending the item. */
export const STALE_STAMP_MS = 5 * 60_000;
/** Time left at which a release hands the rest to a continuation of itself. */
const CONTINUE_BELOW_MS = 60_000;
/** How long after the last page the release looks again, for holds the on-hold index had not shown yet. */
const SWEEP_AFTER_MS = 2_000;
/** With a concurrency limit only: how often the release looks whether the items it sent have started. */
const POLL_MS = 100;

export interface ReleaseSummary {
  releaseId: string;
  /** Items this release sent back to work. */
  sent: number;
  /** Items left held because their interface is Offline. */
  skippedOffline: number;
  /** Held items another live release had stamped already. */
  takenByOthers: number;
  /** Why it stopped: done, the system went away again, or time (a continuation goes on). */
  outcome: 'done' | 'unavailable' | 'continued';
  unavailableReason?: string;
}

/**
 * Sends a system's (or an interface's) held items back to work, oldest first, no faster than the
 * system's limits allow, while it stays available.
 *
 * Exactly once: each item is stamped with the release (a conditional write) before its message is sent,
 * so two releases racing never both send it; the worker's own claim (OnHold → Running, conditional too)
 * runs it once even if a message is sent twice. A system that goes Down again stops the release before
 * its next item, and the worker holds again any item it had already sent. An item whose interface is
 * Offline stays held for that interface's own release.
 */
export async function releaseHeldItems(deps: ReleaseDeps, request: ReleaseRequest): Promise<ReleaseSummary> {
  const summary: ReleaseSummary = {
    releaseId: request.releaseId,
    sent: 0,
    skippedOffline: 0,
    takenByOthers: 0,
    outcome: 'done',
  };
  const pacer = new Pacer(deps);
  // What this run has seen, so a second look (the sweep) neither sends nor counts an item twice.
  const sent = new Set<string>();
  const skipped = new Set<string>();
  const taken = new Set<string>();
  let after = request.after;
  let sweeping = false;
  /** True when the release must stop here: its system went away, or its time is nearly up. */
  const stop = async (now: Awaited<ReturnType<typeof availableScope>>): Promise<boolean> => {
    if ('unavailable' in now) {
      summary.outcome = 'unavailable';
      summary.unavailableReason = now.unavailable;
      return true;
    }
    if (deps.remainingMs() < CONTINUE_BELOW_MS) {
      await deps.events.requestRelease({ ...request, ...(after ? { after } : {}) });
      summary.outcome = 'continued';
      return true;
    }
    return false;
  };
  release: for (;;) {
    if (await stop(await availableScope(deps.config, request))) break;
    const page = await deps.store.listHeldItems({
      systemId: request.systemId,
      ...(request.interfaceId ? { interfaceId: request.interfaceId } : {}),
      ...(after ? { after } : {}),
      limit: PAGE_SIZE,
    });
    let sentThisLook = 0;
    for (const held of page.items) {
      const id = `${held.orderId}.${held.key}`;
      if (sent.has(id)) continue;
      const ready = await availableScope(deps.config, request);
      if (
        'offline' in ready &&
        held.hold.interfaceId !== undefined &&
        ready.offline.has(held.hold.interfaceId)
      ) {
        skipped.add(id);
        after = held.holdSort;
        continue;
      }
      const at = deps.now();
      const stamped = await deps.store.stampRelease(
        held.orderId,
        held.key,
        request.releaseId,
        at.toISOString(),
        new Date(at.getTime() - STALE_STAMP_MS).toISOString(),
      );
      if (!stamped) {
        taken.add(id);
        after = held.holdSort;
        continue;
      }
      const waited = 'system' in ready ? await pacer.turn(ready.system, held) : 0;
      // After a wait for its turn, read again right before the send: a Down (or the end of the
      // function's time) stops the release here, and the item, unsent, is left free for the next one.
      if (await stop(waited > 0 ? await availableScope(deps.config, request) : ready)) {
        await deps.store.clearReleaseStamp(held.orderId, held.key, request.releaseId);
        break release;
      }
      await deps.queue.send([startMessage(held, request.releaseId)]);
      deps.telemetry.record('ItemsReleased', { system: request.systemId });
      sent.add(id);
      taken.delete(id);
      after = held.holdSort;
      sentThisLook++;
    }
    if (page.next) continue;
    // The on-hold index is eventually consistent: a hold written just before the system came back may
    // show a moment later. One more look from the start after a pause, until a look sends nothing.
    if (sweeping && sentThisLook === 0) break;
    sweeping = true;
    after = undefined;
    await deps.sleep(SWEEP_AFTER_MS);
  }
  summary.sent = sent.size;
  summary.skippedOffline = skipped.size;
  summary.takenByOthers = taken.size;
  logger.info('release of held items', {
    ...summary,
    systemId: request.systemId,
    interfaceId: request.interfaceId,
  });
  return summary;
}

/** Sends chosen held items back to work by hand: each is stamped and sent as a release does. */
export async function releaseChosenItems(
  deps: Pick<ReleaseDeps, 'store' | 'config' | 'queue' | 'now' | 'telemetry'>,
  request: ReleaseRequest,
  items: { orderId: string; key: string }[],
): Promise<
  { orderId: string; key: string; result: 'released' | 'not held' | 'interface offline' | 'being released' }[]
> {
  const scope = await availableScope(deps.config, request);
  const results = [];
  for (const { orderId, key } of items) {
    const item = await deps.store.getItem(orderId, key);
    if (item?.state !== 'OnHold' || item.hold?.systemId !== request.systemId) {
      results.push({ orderId, key, result: 'not held' as const });
      continue;
    }
    if (
      'offline' in scope &&
      item.hold?.interfaceId !== undefined &&
      scope.offline.has(item.hold.interfaceId)
    ) {
      results.push({ orderId, key, result: 'interface offline' as const });
      continue;
    }
    const at = deps.now();
    const stamped = await deps.store.stampRelease(
      orderId,
      key,
      request.releaseId,
      at.toISOString(),
      new Date(at.getTime() - STALE_STAMP_MS).toISOString(),
    );
    if (!stamped) {
      results.push({ orderId, key, result: 'being released' as const });
      continue;
    }
    await deps.queue.send([{ kind: 'start', orderId, itemKey: key, releaseId: request.releaseId }]);
    deps.telemetry.record('ItemsReleased', { system: request.systemId });
    results.push({ orderId, key, result: 'released' as const });
  }
  return results;
}

const startMessage = (held: HeldItem, releaseId: string): StartItemMessage => ({
  kind: 'start',
  orderId: held.orderId,
  itemKey: held.key,
  releaseId,
});

/** The system as it is now and its Offline interfaces, or why the release cannot go on. */
async function availableScope(
  config: ConfigurationStore,
  request: ReleaseRequest,
): Promise<{ system: SystemRecord; offline: Set<string> } | { unavailable: string }> {
  const system = await config.getSystem(request.systemId);
  if (!system) return { unavailable: `system "${request.systemId}" is not configured` };
  const interfaces: InterfaceRecord[] = await config.interfacesOf(request.systemId);
  if (request.interfaceId && !interfaces.some((i) => i.id === request.interfaceId)) {
    return { unavailable: `interface "${request.interfaceId}" is not configured` };
  }
  const scoped = request.interfaceId ? interfaces.find((i) => i.id === request.interfaceId) : undefined;
  const why = unavailability({
    system,
    iface: scoped ?? { id: '', status: 'Online' },
  });
  if (why) return { unavailable: why };
  return { system, offline: new Set(interfaces.filter((i) => i.status === 'Offline').map((i) => i.id)) };
}

/**
 * Spaces the sends to the system's limits, so the queue never runs far ahead of what the system may
 * take: at its rate when it has one (the workers space the callouts exactly; this keeps them from
 * queueing up), else no more items waiting to start than it has connections.
 */
class Pacer {
  private started = 0;
  private sentCount = 0;
  private readonly waiting: HeldItem[] = [];

  constructor(private readonly deps: Pick<ReleaseDeps, 'now' | 'sleep' | 'store'>) {}

  /** Waits for the item's turn; returns how long it waited (ms). */
  async turn(system: SystemRecord, held: HeldItem): Promise<number> {
    const { maxCalloutsPerSecond: perSecond, maxConcurrentCallouts: concurrent } = system.limits;
    const before = this.deps.now().getTime();
    if (this.started === 0) this.started = before;
    if (perSecond !== undefined) {
      const due = this.started + (this.sentCount * 1000) / perSecond;
      const wait = due - before;
      if (wait > 0) await this.deps.sleep(wait);
    } else if (concurrent !== undefined) {
      for (;;) {
        await this.forgetStarted();
        if (this.waiting.length < concurrent) break;
        await this.deps.sleep(POLL_MS);
      }
      this.waiting.push(held);
    }
    this.sentCount++;
    return this.deps.now().getTime() - before;
  }

  /** Drops from the waiting list the items a worker has taken (no longer On Hold). */
  private async forgetStarted(): Promise<void> {
    const states = await Promise.all(
      this.waiting.map((held) => this.deps.store.getItem(held.orderId, held.key)),
    );
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (states[i]?.state !== 'OnHold') this.waiting.splice(i, 1);
    }
  }
}
