import type { ItemType } from '../../statemachines/plan-definition';
import type { HoldInfo } from './availability';
import type { ProcedureProgress, ProcedureState } from './procedure';
import type { Actor } from './roles';

/**
 * The orchestration model: orders, their orchestration items and the states they move through.
 * Pure data and rules; storage and transport live behind the ports.
 */

export const ITEM_STATES = [
  'Pending',
  'Running',
  'OnHold',
  'Failed',
  'FatallyFailed',
  'Completed',
  'Skipped',
  'Discarded',
  'Frozen',
  'Compensating',
  'Compensated',
] as const;
export type ItemState = (typeof ITEM_STATES)[number];

/**
 * The states a cancellation leaves an order's items in (cancellation.ts): never started (Discarded),
 * in flight on their system when it came (Frozen), or done and undone by their compensation
 * (Compensating, then Compensated).
 */
export const CANCELLED_ITEM_STATES: ReadonlySet<ItemState> = new Set([
  'Discarded',
  'Frozen',
  'Compensating',
  'Compensated',
]);

/** TMF622 order states Switchboard moves through. */
export const ORDER_STATES = [
  'acknowledged',
  'inProgress',
  'held',
  'completed',
  'failed',
  'assessingCancellation',
  'pendingCancellation',
  'cancelled',
] as const;
export type OrderState = (typeof ORDER_STATES)[number];

/** Order states a cancellation may start from: the order is under way. */
export const CANCELLABLE_ORDER_STATES: readonly OrderState[] = ['acknowledged', 'inProgress', 'held'];

/** One amendment of an order, as the order keeps it. */
export interface Revision {
  /** 2 for the first amendment: revision 1 is the order as submitted. */
  revision: number;
  at: string;
  by: Actor;
  /** What changed, line by line. */
  changes: LineChange[];
  /** Items compensated and run again in this revision: `<key>` → `<key>.r<revision>`. */
  redone: string[];
  /** Items of removed lines: discarded (not started) or compensated (started). */
  discarded: string[];
  compensated: string[];
}

export type LineChange =
  | { lineId: string; change: 'changed'; fields: string[] }
  | { lineId: string; change: 'removed' }
  | { lineId: string; change: 'added' };

/** The cancellation an order is going through (absent when none is). */
export interface OrderCancellation {
  /** The CancelProductOrder's id. */
  id: string;
  /** The state the order goes back to if the cancellation is refused. */
  previousState: OrderState;
  /** Keys of the compensation items it runs, once assessed: the order is cancelled when all are done. */
  compensations?: string[];
}

export interface HistoryEntry {
  at: string;
  state: ItemState;
  reason: string;
  /** The operator who caused the change, when one did. */
  by?: Actor;
}

/** An order's jeopardy as kept on it (jeopardy.ts): since when, why, and what it is expected to come to. */
export interface Jeopardy {
  since: string;
  /** What puts it in jeopardy: `late` (its expected completion), `overrun:<item key>` (an item). */
  kinds: string[];
  /** The same, for people. */
  reasons: string[];
  expectedCompletionDate: string;
  dueDate: string;
}

export interface OrderRecord {
  id: string;
  state: OrderState;
  /** The TMF622 ProductOrder as accepted, without server-set fields. */
  submitted: Record<string, unknown>;
  /** Every orchestration item's key; the order completes when all are done (`OrderAggregateView.done`). */
  itemKeys: string[];
  /** Who submitted the order. */
  submittedBy?: Actor;
  /** Keys of the items that hold the order (On Hold, or in fallout); it shows `held` while there are any. */
  holds?: string[];
  /** Plan executions started for this order: one per plan, covering the lines (ids) it fulfils. */
  planRuns: { planId: string; executionName: string; lineIds: string[] }[];
  /** The cancellation under way, or the one that cancelled the order. */
  cancellation?: OrderCancellation;
  /** The order's revision: 1 as submitted, one more with each amendment (amendment.ts). */
  revision?: number;
  /** Each amendment: who, when, what changed, and what it redid. */
  revisions?: Revision[];
  /** An amendment under way: no item of the order starts until it is written, or `until` has passed. */
  amending?: { revision: number; until: string };
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
  /** When the order is due (jeopardy.ts: dueDateOf); absent: it is never in jeopardy. */
  dueDate?: string;
  /** When it is expected to complete, as last assessed (jeopardy.ts). */
  expectedCompletionDate?: string;
  /** Set while it is expected to miss its due date, or an item overruns (jeopardy.ts). */
  jeopardy?: Jeopardy;
  /** While it has a due date to keep: when it is next looked at for jeopardy. */
  nextCheckAt?: string;
}

/**
 * An orchestration item's state: what decides its next transition, and nothing that grows with what
 * happens to it. What it did (history, attempts with their requests and answers, callbacks, a
 * procedure's trace) is its log, kept in records of their own (item-log.ts); `ItemDetail` is the two
 * together, as operators see the item.
 */
/** The wait of an asynchronous callout its system accepted. */
export interface Awaiting {
  since: string;
  deadline: string;
  /** Polled: the status path (under the system's base URL) its polls ask. */
  poll?: { path: string };
  /** The step of its procedure that waits (its id), when it is not the item's own callout. */
  step?: string;
}

export interface ItemRecord {
  orderId: string;
  /** Unique in the order: `<planId>.<planItemId>[.<lineSeq>]` (see itemKey). */
  key: string;
  planId: string;
  planItemId: string;
  /** The order line (productOrderItem id) a line-scoped item fulfils; absent for order-scoped items. */
  lineId?: string;
  type: ItemType;
  interfaceId?: string;
  /** Keys of the items this one waits for. */
  dependsOn: string[];
  /**
   * A compensation item: the key of the completed item it undoes, for a cancellation. It runs its plan
   * item's `compensation` (a callout or a procedure), started by the cancellation rather than by a plan
   * run, and waits (`dependsOn`) for the compensations of the items that depended on the one it undoes.
   */
  compensates?: string;
  /**
   * An item of an amendment's supplemental run: the key of the item it runs again with the amended order
   * (amendment.ts), after that one's compensation. Like a compensation, no plan run dispatches it.
   */
  supersedes?: string;
  /** The order's revision that made the item (absent: the order as submitted, revision 1). */
  revision?: number;
  /** Its order has a due date: its changes are looked at for jeopardy (jeopardy.ts). */
  watched?: true;
  /**
   * Its order's TMF622 `priority`, 0 (highest) to 3; absent for 4, the lowest, and for an order that asks
   * none: where its system makes callouts wait for a slot, a higher priority is handed one first.
   */
  priority?: number;
  state: ItemState;
  /** How many transitions the item has made: its history entries are numbered 1 to `version`. */
  version?: number;
  /**
   * Its latest history entries, oldest first, not yet in its log (the newest is number `version`): a
   * transition appends its entry here, and they go to the log a few at a time (item-log.ts:
   * RECENT_HISTORY).
   */
  recent?: HistoryEntry[];
  /**
   * The nonce of the callback URL its latest attempt sent (see callback.ts: nonceOf): set by each new
   * attempt, kept by a delivery that takes the attempt over.
   */
  callbackNonce?: string;
  /**
   * How many times the item's request was made new (callout.ts: idempotencyKey): after its system
   * refused an attempt (a 4xx, a `failed` callback), the next attempt sends a new Idempotency-Key and a
   * new callback URL. Absent for 0.
   */
  requestGeneration?: number;
  /**
   * A final answer its system sent on the callback URL of its current request while no attempt waited
   * for it (On Hold, or between retries): the next attempt with the same key takes it instead of asking
   * again (the system would only replay its acceptance). Its body is kept beside the item.
   */
  keptAnswer?: KeptAnswer;
  /**
   * Every task token a plan execution gave this item (a re-run execution brings a new one). All are
   * answered when the item is done; those no execution waits for any more answer "gone".
   */
  taskTokens?: string[];
  /** The delivery that runs the item now; a redelivery of the same message may take over. */
  attemptId?: string;
  /**
   * While a worker runs it: until when its hold lasts (it renews it while its callout runs). Once past,
   * another delivery may take the item over (item-lifecycle.ts: LEASE_SECONDS). Absent while the item
   * waits for a callback or an operator: no worker holds it then.
   */
  leaseUntil?: string;
  /** How many attempts its callouts have made (each is in its log). */
  attemptCount?: number;
  /** Retries made since the first attempt (or since an operator's retry). */
  retries?: number;
  /** While Failed: when the next attempt is due. */
  nextAttemptAt?: string;
  /** Why and since when the callout waits On Hold (kept after release, as what the last hold was). */
  hold?: HoldInfo;
  /** The operator who completed a manual task. */
  completedBy?: Actor;
  /**
   * While Frozen (its order cancelled while its system worked on it): until when its late answer is
   * waited for — its callback's deadline, or its synchronous call's longest — and what that answer said,
   * once it came: its system acted, or did not (cancellation.ts: settling).
   */
  frozenUntil?: string;
  lateAnswer?: 'acted' | 'notActed';
  /**
   * While an amendment of its order is assessed (amendment.ts): the item does not start (its claim is
   * conditional on this being absent or past `until`), so nothing runs with values about to change.
   */
  amendFreeze?: { revision: number; until: string };
  /**
   * An asynchronous callout its system accepted: since when it waits, and until when; for an interface
   * that polls, the status path its polls ask (filled from the accepting answer).
   */
  awaiting?: Awaiting;
  /**
   * What interim updates of its current request said they learnt so far (a callback or status mapping's
   * `attributes`): shown while it waits, and written with the final answer's attributes when it completes.
   */
  interimAttributes?: Record<string, unknown>;
  /** The callback (or `deadline:<nonce>`) that ended the latest attempt's wait, so it is not applied twice. */
  finishedBy?: string;
  /** Attributes this item wrote to the order context (kept so a replay writes the same). */
  outputAttributes?: Record<string, unknown>;
  /** An auto task's integration procedure: the step it runs next and what each step gave. */
  procedure?: ProcedureState;
  error?: string;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  updatedAt: string;
}

/** An item's state with its log put back together (item-log.ts: itemDetail). */
export interface ItemDetail extends Omit<ItemRecord, 'procedure' | 'version' | 'recent'> {
  history: HistoryEntry[];
  /** Every attempt of a callout: when, what was sent, what came back, and what was decided. */
  attempts?: AttemptRecord[];
  /** The latest request sent and the latest answer received. */
  request?: CalloutRequestRecord;
  response?: CalloutResponseRecord;
  /** The final answer that came on the callback. */
  asyncResponse?: { body: unknown; receivedAt: string };
  procedure?: ProcedureProgress;
}

/** What was decided after an attempt. */
export type AttemptDecision =
  | { kind: 'completed' }
  | { kind: 'accepted'; until: string }
  | { kind: 'retry'; at: string; ruleId: string; retry: number }
  | { kind: 'fallout'; reason: string; ruleId?: string }
  | { kind: 'hold'; reason: string };

/** A final answer kept for the item's next attempt (ItemRecord.keptAnswer). */
export interface KeptAnswer {
  /** The callback URL's nonce: the request it answers. */
  nonce: string;
  callbackId: string;
  receivedAt: string;
}

/** One attempt of a callout, as the item keeps it (the request without credentials). */
export interface AttemptRecord {
  /** 1 for the first attempt. */
  number: number;
  at: string;
  request?: CalloutRequestRecord;
  status?: number;
  error?: string;
  durationMs?: number;
  decision: AttemptDecision;
}

/** A request as an item keeps it: never with credentials (they are added at send time only). */
export interface CalloutRequestRecord {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The request mapping's result. */
  body?: unknown;
  /** The body as a custom adapter put it on the wire (XML, a form), when it is not the JSON above. */
  encodedBody?: string;
  sentAt: string;
}

export interface CalloutResponseRecord {
  status: number;
  body?: unknown;
  receivedAt: string;
  durationMs: number;
}

/** The order's shared attributes, written by items (the reserved port) and read by later ones. */
export type OrderContext = Record<string, unknown>;

export const DONE_STATES: ReadonlySet<ItemState> = new Set(['Completed', 'Skipped']);

/** States of an item that waits to start: not yet, On Hold (its system away), or for its retry. */
export const WAITING_TO_START = ['Pending', 'OnHold', 'Failed'] as const satisfies readonly ItemState[];
export const waitsToStart = (item: Pick<ItemRecord, 'state'>): boolean =>
  (WAITING_TO_START as readonly ItemState[]).includes(item.state);

export const isDone = (item: Pick<ItemRecord, 'state'>): boolean => DONE_STATES.has(item.state);

/**
 * True when every prerequisite of the item is done, judged by the order's done set: an item enters it
 * in the same write that puts its attributes in the order context, so a dependent never starts without
 * them.
 */
export function prerequisitesDone(item: ItemRecord, done: readonly string[]): boolean {
  return item.dependsOn.every((key) => done.includes(key));
}

/** An order with its items, as read together. */
export interface OrderAggregateView {
  order: OrderRecord;
  context: OrderContext;
  /** Keys of the items done (Completed or Skipped), counted as each finishes. */
  done: readonly string[];
  items: ReadonlyMap<string, ItemRecord>;
}

/** The ids an order was submitted with (`externalId[].id`), by which operators find it again. */
export function externalIdsOf(order: Pick<OrderRecord, 'submitted'>): string[] {
  const ids = order.submitted.externalId;
  if (!Array.isArray(ids)) return [];
  return [
    ...new Set(
      ids.map((e) => (e as { id?: unknown }).id).filter((id): id is string => typeof id === 'string'),
    ),
  ];
}
