import { type HoldInfo, unavailability } from '../domain/availability';
import type { CalloutTarget } from '../domain/callout';
import type { SystemInterface } from '../domain/catalog';
import { leaseExpired } from '../domain/item-lifecycle';
import type { ItemRecord } from '../domain/orchestration';
import type { HandedSlot, SlotLease, SlotWaiter } from '../ports/callout-limits';
import type { SystemRecord } from '../ports/configuration-store';
import type { StartItemMessage } from '../ports/work-queue';
import type { RunItemDeps } from './run-item-deps';

/**
 * Whether a callout may go now: its system's connection slots (with a waiting list) and its turn under
 * the system's rate.
 */

/** The longest a callout waits in the worker for its turn under a system's rate; longer waits go back to the queue. */
export const MAX_RATE_WAIT_MS = 10_000;

/**
 * How long a callout on a system's waiting list waits before it asks again by itself. Callouts that end
 * wake it much sooner; this is for a slot no one hands on (its holder died, and its lease ran out).
 */
export const WAIT_RECHECK_SECONDS = 120;

/** How long a slot kept for a woken callout waits for it; then anyone may take it. */
const HAND_OFF_SECONDS = 30;

export interface Admission {
  kind: 'admitted';
  target: CalloutTarget;
  lease?: SlotLease;
  /** The start its system's rate gave it (when it has one): the request goes no sooner. */
  startAt?: Date;
}

/**
 * Lets a callout go only when its system can take it: a free connection slot (held until the callout
 * ends) and its turn under the rate. When every slot is taken the item stays Pending on its system's
 * waiting list; when its turn is far off it asks again when it comes near.
 */
export async function admit(
  deps: RunItemDeps,
  item: ItemRecord,
  deliveryId: string,
  wake: Wake | undefined,
): Promise<
  | Admission
  | { kind: 'waiting' }
  | { kind: 'later'; delaySeconds: number }
  | { kind: 'unconfigured'; error: string }
  | { kind: 'hold'; target: CalloutTarget; reason: string }
> {
  const interfaceId = item.interfaceId ?? '';
  const target = await deps.config.calloutTarget(interfaceId, deps.catalog.interfaces[interfaceId]?.system);
  if (!target) {
    return {
      kind: 'unconfigured',
      error: `system interface "${item.interfaceId}" or its system is not configured (is the catalog seeded?)`,
    };
  }
  // Before any slot or turn is taken: a held callout uses none of its system's capacity.
  const unavailable = unavailability(target);
  if (unavailable) return { kind: 'hold', target, reason: unavailable };
  const { system } = target;
  const now = deps.now();
  const lease = await takeSlot(deps, target, deliveryId, item, wake);
  if (lease === 'waiting') return { kind: 'waiting' };
  // Its turn under the rate is taken here, in one write, and waited for just before the send; a system
  // booked further ahead than a worker should wait sends the item back to the queue instead.
  const perSecond = system.limits.maxCalloutsPerSecond;
  if (perSecond === undefined) return { kind: 'admitted', target, lease };
  const turn = await deps.limits.reserveStart(system.id, perSecond, now, MAX_RATE_WAIT_MS);
  if ('askAgainAt' in turn) {
    if (lease) await giveBack(deps, lease);
    const ahead = turn.askAgainAt.getTime() - now.getTime();
    return { kind: 'later', delaySeconds: Math.max(1, Math.ceil(ahead / 1000)) };
  }
  return { kind: 'admitted', target, lease, startAt: turn.startAt };
}

/**
 * A connection slot on the target's system when it limits its concurrent callouts: the lease, held until
 * the callout ends; undefined when it has no limit. When every slot is taken the callout goes on the
 * system's waiting list and costs nothing while it waits ('waiting'): the next callout to end keeps its
 * slot for the oldest waiter and wakes it (giveBack). It joins the list before it asks once more, so a
 * slot freed meanwhile is taken here or handed to it. A message it sends itself much later asks again,
 * should no wake come (a worker that died holding a slot hands nothing on; its lease runs out).
 */
export async function takeSlot(
  deps: RunItemDeps,
  { system, iface }: CalloutTarget,
  deliveryId: string,
  item: ItemRecord,
  wake: Wake | undefined,
): Promise<SlotLease | undefined | 'waiting'> {
  const maxConcurrent = system.limits.maxConcurrentCallouts;
  if (maxConcurrent === undefined) return undefined;
  const now = deps.now();
  // The lease outlives the longest this callout can take (a 401 renewal sends it twice), so a worker
  // that dies mid-call frees its slot by itself and one that lives never loses it.
  const expiresAt = new Date(now.getTime() + MAX_RATE_WAIT_MS + 2 * iface.timeoutSeconds * 1000 + 60_000);
  // Taking over from a worker that died mid-callout, it goes on with the slot that worker held for it,
  // rather than wait for that slot's lease (sized for the longest callout) to run out.
  const inheritFrom =
    item.state === 'Running' && item.attemptId !== deliveryId && leaseExpired(item, now)
      ? item.attemptId
      : undefined;
  const acquire = (handed?: HandedSlot) =>
    deps.limits.acquireSlot(system.id, maxConcurrent, deliveryId, now, expiresAt, handed, inheritFrom);
  const handed =
    wake?.slot === undefined ? undefined : { item: `${item.orderId}.${item.key}`, slot: wake.slot };
  const waiter: SlotWaiter = {
    orderId: item.orderId,
    itemKey: item.key,
    since: wake?.since ?? now.toISOString(),
    ...(item.priority === undefined ? {} : { priority: item.priority }),
    // A delivery that holds the item (a procedure's step, a redelivery) hands its attempt on.
    ...(item.state === 'Running' ? { attemptId: deliveryId } : {}),
  };
  const lease = await acquire(handed);
  if (lease && wake && handed && lease.slot === handed.slot) wake.taken = true;
  if (lease) {
    // Handed its slot, it was taken off the list by the callout that woke it; otherwise it leaves by itself.
    if (wake && !handed) await deps.limits.stopWaiting(system.id, waiter);
    return lease;
  }
  await deps.limits.waitForSlot(system.id, waiter);
  const late = await acquire();
  if (late) {
    await deps.limits.stopWaiting(system.id, waiter);
    return late;
  }
  await deps.queue.send([wakeMessage(waiter)], { delaySeconds: WAIT_RECHECK_SECONDS });
  return 'waiting';
}

/** Gives a slot back; when callouts wait for one, it is kept for the oldest of them, which is woken. */
export async function giveBack(deps: RunItemDeps, lease: SlotLease): Promise<void> {
  const now = deps.now();
  const handed = await deps.limits.releaseSlot(lease, now, new Date(now.getTime() + HAND_OFF_SECONDS * 1000));
  if (handed)
    await deps.queue.send([wakeMessage(handed.waiter, { slot: handed.slot, systemId: lease.systemId })]);
}

/** A callout waiting for a slot of its system: since when (its place), and the slot it was handed, if one was. */
export interface Wake {
  since: string;
  slot?: number;
  /** The system whose slot it was handed. */
  system?: string;
  /** Set once the callout took the slot it was handed. */
  taken?: true;
}

export function wakeOf(message: StartItemMessage): Wake | undefined {
  if (message.waitingSince === undefined) return undefined;
  return {
    since: message.waitingSince,
    ...(message.handedSlot === undefined ? {} : { slot: message.handedSlot }),
    ...(message.handedSystem === undefined ? {} : { system: message.handedSystem }),
  };
}

function wakeMessage(waiter: SlotWaiter, handed?: { slot: number; systemId: string }): StartItemMessage {
  return {
    kind: 'start',
    orderId: waiter.orderId,
    itemKey: waiter.itemKey,
    waitingSince: waiter.since,
    ...(waiter.attemptId ? { attemptId: waiter.attemptId } : {}),
    ...(handed ? { handedSlot: handed.slot, handedSystem: handed.systemId } : {}),
  };
}

/**
 * A woken callout that did not take the slot kept for it — it is done, runs under another delivery, or
 * was on the list twice — passes the slot on to the next waiter at once, instead of leaving it kept for
 * nobody until the hand-off runs out and the waiters ask again minutes later.
 */
export async function passOnHandedSlot(deps: RunItemDeps, item: string, wake: Wake): Promise<void> {
  if (wake.slot === undefined || wake.system === undefined || wake.taken) return;
  const system = await deps.config.getSystem(wake.system);
  const max = system?.limits.maxConcurrentCallouts;
  if (max === undefined) return;
  const now = deps.now();
  const lease = await deps.limits.acquireSlot(
    wake.system,
    max,
    `pass-on:${item}`,
    now,
    new Date(now.getTime() + HAND_OFF_SECONDS * 1000),
    { item, slot: wake.slot },
  );
  if (lease) await giveBack(deps, lease);
}

/**
 * How late past its turn a request may still go: half the system's interval, and at least 50 ms, which a
 * busy event loop overruns often. A worker that falls behind (a busy event loop, a paused process) would
 * otherwise send a late request together with the ones on time after it, and the system would see more
 * than its rate in that second; a request this late takes a new turn instead. With it, any second at
 * the system sees at most the rate plus one (up to 20 a second; above that, plus a twentieth).
 */
export function turnTolerance(perSecond: number): number {
  return Math.max(50, Math.floor(500 / perSecond));
}

/**
 * How many new turns a request that keeps waking late takes before it goes on the next one however late:
 * a turn taken and not used is lost to the system's rate, so on a machine too starved to keep time,
 * progress wins over spacing.
 */
export const MAX_LATE_TURNS = 2;

/**
 * Waits for the request's turn under its system's rate: the one admission took (`startAt`), or for a
 * procedure's step, one taken now, right before the send. A turn further away than a worker should wait
 * is waited for in steps; a turn missed by more than its tolerance is given up for a new one.
 */
export async function waitForTurn(
  deps: RunItemDeps,
  system: CalloutTarget['system'],
  startAt?: Date,
): Promise<void> {
  const perSecond = system.limits.maxCalloutsPerSecond;
  if (perSecond === undefined) {
    // The rate was lifted after admission took the turn: there is nothing to keep to.
    return;
  }
  const tolerance = turnTolerance(perSecond);
  const giveUpAt = deps.now().getTime() + 2 * MAX_RATE_WAIT_MS;
  let turn = startAt;
  let lateTurns = 0;
  for (;;) {
    if (turn) {
      const wait = turn.getTime() - deps.now().getTime();
      if (wait > 0) await deps.sleep(wait);
      if (deps.now().getTime() - turn.getTime() <= tolerance || lateTurns === MAX_LATE_TURNS) return;
      lateTurns++;
    }
    const now = deps.now();
    // The worker's timeout allows this much waiting; beyond it the message is redelivered and resumes.
    if (now.getTime() > giveUpAt) throw new Error(`no turn under the rate of system "${system.id}" in time`);
    const reserved = await deps.limits.reserveStart(system.id, perSecond, now, MAX_RATE_WAIT_MS);
    if ('startAt' in reserved) {
      turn = reserved.startAt;
    } else {
      turn = undefined;
      const wait = reserved.askAgainAt.getTime() - now.getTime();
      if (wait > 0) await deps.sleep(wait);
    }
  }
}

/**
 * Where a callout or a procedure's HTTP step goes. `pathOnly` marks a step sent to a path of its system:
 * its interface is made from the step, so only the system's state can hold it.
 */
export type StepTarget = CalloutTarget & { pathOnly?: true };

/** A procedure step sent to a path of its system, as the system is now. */
export async function stepTarget(
  deps: Pick<RunItemDeps, 'config'>,
  systemId: string,
  iface: SystemInterface,
): Promise<{ system: SystemRecord; iface: SystemInterface; pathOnly: true } | undefined> {
  const system = await deps.config.getSystem(systemId);
  return system ? { system, iface, pathOnly: true } : undefined;
}

/** Why and where a callout waits On Hold. */
export function holdOf(target: StepTarget, reason: string): Omit<HoldInfo, 'since'> {
  return {
    systemId: target.system.id,
    ...(target.pathOnly ? {} : { interfaceId: target.iface.id }),
    reason,
  };
}
