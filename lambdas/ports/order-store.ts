import type { HoldInfo } from '../domain/availability';
import type { OrderChangeEvent } from '../domain/item-lifecycle';
import type {
  AttemptRecord,
  Awaiting,
  ItemDetail,
  ItemRecord,
  KeptAnswer,
  OrderAggregateView,
  OrderContext,
  OrderRecord,
  OrderState,
  Revision,
} from '../domain/orchestration';
import type { ProcedureProgress } from '../domain/procedure';
import type { Actor } from '../domain/roles';

export interface OrderListQuery {
  state?: OrderState;
  externalId?: string;
  submittedBy?: string;
  after?: string;
  limit: number;
}

/** An order with everything the worker needs to decide about one of its items, read at once. */
export interface OrderAggregate extends OrderAggregateView {
  items: Map<string, ItemRecord>;
}

/** An order with each item's state and log together, as operators see it. */
export interface OrderDetail {
  order: OrderRecord;
  context: OrderContext;
  done: readonly string[];
  items: Map<string, ItemDetail>;
}

/** A held item as the on-hold lists show it. */
export interface HeldItem {
  orderId: string;
  key: string;
  hold: HoldInfo;
  /** The on-hold lists' sort key: oldest first. */
  holdSort: string;
  /** The release that sent it back to work, while it has not started yet. */
  release?: { id: string; at: string };
}

import type { CallbackChange, ItemOutcome } from '../domain/item-decisions';

export type { CallbackChange, ItemOutcome };

/** An item in fallout, as GET /admin/fallout lists it. */
export interface FalloutItem {
  orderId: string;
  key: string;
  error?: string;
  since: string;
  /** The list's sort key: oldest first. */
  falloutSort: string;
}

/**
 * Where orders, their items and their context are kept. An item's state is one small record, changed by
 * one conditional write per transition; its log (history, attempts, callbacks, a procedure's trace) is
 * appended in records of its own that are never rewritten.
 */
export interface OrderStore {
  /** Writes the items, then the order and its context; the order is visible only once all its items are. */
  createOrder(order: OrderRecord, items: ItemRecord[]): Promise<void>;
  getOrder(orderId: string): Promise<OrderRecord | undefined>;
  /**
   * Claims an order id for one submission (an Idempotency-Key's), recording the request's fingerprint:
   * the first claim wins; later ones learn the fingerprint the id was claimed with.
   */
  claimSubmission(
    orderId: string,
    fingerprint: string,
    at: string,
  ): Promise<{ claimed: true } | { claimed: false; fingerprint: string; at: string }>;
  /**
   * Orders newest first, optionally in one state, with one external id (any of an order's
   * `externalId[].id`), or submitted by one caller (`submittedBy`, the caller's id): at most `limit`
   * orders older than the position `after` (listPosition of the last order of the page before), and
   * `next`, the position to go on from, while there may be more. Reads one page, never the whole
   * listing; a page may hold fewer than `limit` orders and still have a `next`.
   */
  listOrders(query: OrderListQuery): Promise<{ orders: OrderRecord[]; next?: string }>;
  /** The order, its context and its items' states (not their logs), read consistently. */
  getAggregate(orderId: string): Promise<OrderAggregate | undefined>;
  /** The order with every item's state and log: what the orchestration views show. */
  getOrderDetail(orderId: string): Promise<OrderDetail | undefined>;
  /** One item's state, read consistently. */
  getItem(orderId: string, key: string): Promise<ItemRecord | undefined>;
  /** One item's state and log. */
  getItemDetail(orderId: string, key: string): Promise<ItemDetail | undefined>;
  /**
   * The item a callback is about, and whether the callback with this id, sent on the URL of the attempt
   * with this nonce, is kept already: what the callback door decides with, read consistently at once.
   */
  getItemForCallback(
    orderId: string,
    key: string,
    nonce: string,
    callbackId: string,
  ): Promise<{ item: ItemRecord | undefined; keptBefore: boolean }>;
  /**
   * The order's done set (undefined if there is no such order) and the named items (those that exist),
   * read consistently in one round trip: what the worker reads when it needs a few items, not the whole
   * order.
   */
  getProgressWith(
    orderId: string,
    keys: string[],
  ): Promise<{ done: string[] | undefined; items: Map<string, ItemRecord> }>;
  /**
   * Keeps a running procedure's progress on its item, for the attempt that runs it (false otherwise):
   * a procedure resumed after a hold, a retry or a lost worker starts at the step after the last kept.
   * The trace's steps (those that ran last, up to the one before `next`) go to the item's log, each
   * kept once.
   */
  saveProcedureProgress(
    orderId: string,
    key: string,
    attemptId: string,
    progress: ProcedureProgress,
    at: string,
    /**
     * The nonce of the callback URL of the asynchronous step at `next`, about to be sent: the item's
     * callbacks answer that step. Absent: the item waits on no URL (an answer to an earlier step's is
     * refused).
     */
    nonce?: string,
  ): Promise<boolean>;
  /** Adds a plan execution's task token to the item, whatever its state; false if there is no such item. */
  attachTaskToken(orderId: string, key: string, taskToken: string, at: string): Promise<boolean>;
  /**
   * Moves a Pending, OnHold or Failed item to Running for this attempt (a held one leaves the on-hold
   * lists), held until `leaseUntil` (none for a manual task); also true when this attempt already holds
   * it, or when another attempt held it and its lease has run out by `at` (its worker is gone).
   */
  claimItem(
    orderId: string,
    key: string,
    attemptId: string,
    at: string,
    reason: string,
    leaseUntil?: string,
    /** The nonce of the attempt's callback URL: a new attempt's, or the one a takeover goes on with. */
    nonce?: string,
    /**
     * Claimed only while its order is in one of these states, in one transaction with the claim: a point
     * of no return starts only while no cancellation is being assessed (cancellation.ts).
     */
    guardOrder?: readonly OrderState[],
  ): Promise<boolean>;
  /**
   * Extends the lease of a Running item this attempt holds (its callout runs on); false when it no
   * longer holds it (another delivery took it over, or it moved on). Not a transition.
   */
  renewLease(orderId: string, key: string, attemptId: string, leaseUntil: string): Promise<boolean>;
  /**
   * Running items whose worker's lease ran out before `now` (the worker is gone), longest expired first,
   * at most `limit`. Read from an index, so an item may already have moved on: the takeover's claim is
   * conditional and decides.
   */
  expiredLeases(now: string, limit: number): Promise<{ orderId: string; key: string }[]>;
  /**
   * Puts a callout that cannot go now On Hold: from Pending, or from Running under this attempt (a
   * redelivery that had claimed it). False if it is in another state or held already.
   */
  holdItem(orderId: string, key: string, attemptId: string, hold: HoldInfo, at: string): Promise<boolean>;
  /**
   * Stamps a held item as sent back to work by this release, unless another release stamped it less
   * than `staleBefore` ago; false when it is not On Hold (any more) or another release has it.
   */
  stampRelease(
    orderId: string,
    key: string,
    releaseId: string,
    at: string,
    staleBefore: string,
  ): Promise<boolean>;
  /** Takes a release's stamp off an item that stays held (its system went away again). */
  clearReleaseStamp(orderId: string, key: string, releaseId: string): Promise<void>;
  /** Held items of a system or of one interface, oldest first, a page from `after` (a hold sort key). */
  listHeldItems(query: {
    systemId: string;
    interfaceId?: string;
    after?: string;
    limit: number;
  }): Promise<{ items: HeldItem[]; next?: string }>;
  /** Adds the item to the order's holds and shows the order `held` (unless it is done or failed). */
  holdOrder(orderId: string, key: string, at: string): Promise<void>;
  /** Takes the item off the order's holds; the order goes back `inProgress` when none is left. */
  releaseOrderHold(orderId: string, key: string, at: string): Promise<void>;
  /** Pending (or Running under this attempt) → Skipped, as its condition is false; false otherwise. */
  skipItem(orderId: string, key: string, attemptId: string, reason: string, at: string): Promise<boolean>;
  /**
   * Running → Completed for a manual task an operator finished, with the attributes they gave; false if
   * the item is not a manual task waiting for an operator.
   */
  completeManualTask(
    orderId: string,
    key: string,
    by: Actor,
    attributes: Record<string, unknown>,
    note: string | undefined,
    at: string,
  ): Promise<boolean>;
  /** Running → Completed for the attempt that holds it; false if it no longer does. */
  completeItem(
    orderId: string,
    key: string,
    attemptId: string,
    outcome: ItemOutcome,
    at: string,
  ): Promise<boolean>;
  /**
   * Running under this attempt → Failed: the attempt failed, and the next is due at `next.at` (the item
   * leaves any callback wait). False if the attempt no longer holds it.
   */
  retryLater(
    orderId: string,
    key: string,
    attemptId: string,
    outcome: ItemOutcome & { attempt: AttemptRecord },
    next: { at: string; retries: number; error: string },
    at: string,
    /** The system refused the request itself: the next attempt is a new request (renewsRequest). */
    newRequest?: boolean,
  ): Promise<boolean>;
  /** Items in fallout (FatallyFailed) across orders, oldest first, a page from `after`. */
  listFallout(query: { after?: string; limit: number }): Promise<{ items: FalloutItem[]; next?: string }>;
  /**
   * An operator's retry: a FatallyFailed or Failed item → Pending, its retries reset, out of the fallout
   * list, with who and why in its history. False if it is in another state.
   */
  retryByOperator(orderId: string, key: string, by: Actor, reason: string, at: string): Promise<boolean>;
  /** An operator's skip: a FatallyFailed, Failed or OnHold item → Skipped, with who and the note. */
  skipByOperator(orderId: string, key: string, by: Actor, note: string, at: string): Promise<boolean>;
  /** Notes on a FatallyFailed or Failed item that an operator failed its order, and takes it off the fallout list. */
  failByOperator(orderId: string, key: string, by: Actor, reason: string, at: string): Promise<boolean>;
  /**
   * An operator's abort of a Running item, whatever attempt holds it: Failed until `retry.at`, or
   * FatallyFailed (fallout) without a retry; the attempt it ends is kept in its log. False if the item
   * is not Running.
   */
  abortByOperator(
    orderId: string,
    key: string,
    by: Actor,
    abort: { error: string; attempt: AttemptRecord; retry?: { at: string; retries: number } },
    at: string,
  ): Promise<boolean>;
  /**
   * Pending, OnHold, Failed or Running (whatever attempt holds it) → FatallyFailed, as the plan run that
   * waited for it ended (`error` says which and how): on the fallout list, off the on-hold lists, no
   * longer waiting for a callback. False if it is in another state.
   */
  failForEndedRun(orderId: string, key: string, error: string, at: string): Promise<boolean>;
  /** Running → FatallyFailed for the attempt that holds it. */
  failItem(
    orderId: string,
    key: string,
    attemptId: string,
    error: string,
    outcome: ItemOutcome,
    at: string,
    /** The system refused the request itself: the next attempt is a new request (renewsRequest). */
    newRequest?: boolean,
  ): Promise<boolean>;
  /**
   * Running under this attempt and accepted by its system: keeps the request and the acceptance and
   * marks the item as waiting for its callback until `deadline`; false if the attempt no longer holds it.
   */
  awaitCallback(
    orderId: string,
    key: string,
    attemptId: string,
    outcome: ItemOutcome,
    awaiting: Awaiting,
    at: string,
  ): Promise<boolean>;
  /**
   * Applies one callback to the item its attempt waits on, once: an interim update is kept in its log
   * (false if it was kept before); a final answer is kept there and completes or fails the item (false if
   * the attempt no longer holds the item). A `deadline:<nonce>` id is the wait's deadline, with no body.
   */
  applyCallback(
    orderId: string,
    key: string,
    attemptId: string,
    callbackId: string,
    change: CallbackChange,
    at: string,
    /** Of the URL it came on (default: the one the attempt's own delivery made). */
    nonce?: string,
  ): Promise<boolean>;
  /**
   * Keeps a final answer on the URL of the item's current request, which came while no attempt waited
   * (ItemRecord.keptAnswer): its body whole beside the item, the callback in the item's log, and the
   * answer on the item — only while the item is between attempts of that request with no answer kept
   * (false otherwise: it moved meanwhile).
   */
  keepAnswer(orderId: string, key: string, answer: KeptAnswer, body: unknown, at: string): Promise<boolean>;
  /** The body of an answer kept for the item; undefined when it is not there. */
  keptAnswerBody(orderId: string, key: string, answer: KeptAnswer): Promise<{ body: unknown } | undefined>;
  /**
   * Adds the item to the order's done set and, in the same write, its attributes (if any) to the order
   * context; returns the done set after the change. Adding an item twice counts it once.
   */
  markItemDone(
    orderId: string,
    key: string,
    attributes: Record<string, unknown> | undefined,
  ): Promise<string[]>;
  /** Changes the order's state if it is in one of `from`; false otherwise. */
  setOrderState(orderId: string, from: OrderState[], to: OrderState, at: string): Promise<boolean>;
  /**
   * Ends an item where it stands for its order's cancellation (item-lifecycle.ts: discard, freeze,
   * compensate, compensated, compensationSkipped, settle, settleActed), with `reason` in its history;
   * false when its state is not one the event moves out of (it moved meanwhile).
   */
  cancelItem(
    orderId: string,
    key: string,
    event: OrderChangeEvent,
    reason: string,
    at: string,
    /** For a freeze: until when its late answer is waited for. */
    frozenUntil?: string,
  ): Promise<boolean>;
  /**
   * Keeps a frozen item's late answer (ItemRecord.lateAnswer), once: from the attempt that was frozen —
   * its delivery, or the callback URL's nonce — with the callback's body in its log when one brought it.
   * False when the item is not frozen under that attempt, or took its late answer already.
   */
  recordLateAnswer(
    orderId: string,
    key: string,
    from: { attemptId: string } | { nonce: string; callbackId: string; body: unknown },
    acted: boolean,
    reason: string,
    at: string,
    /** What its answer's mapping gave, kept on the item for its compensation (not on the order). */
    attributes?: Record<string, unknown>,
  ): Promise<boolean>;
  /**
   * Writes a cancellation's compensation items, each once (one there already is kept as it is), and
   * keeps their keys on the order's cancellation, if it is still `cancellationId`.
   */
  addCompensations(orderId: string, cancellationId: string, items: ItemRecord[]): Promise<void>;
  /**
   * Locks the order for its amendment to `revision` until `until`: only while it is in one of `from`,
   * under no cancellation, at revision `revision - 1`, and no other amendment holds it (or its lock ran
   * out). False otherwise.
   */
  beginAmendment(
    orderId: string,
    revision: number,
    from: readonly OrderState[],
    until: string,
    now: string,
  ): Promise<boolean>;
  /** Keeps a Pending item from starting until `until` (ItemRecord.amendFreeze); false if it is not Pending. */
  freezeForAmendment(orderId: string, key: string, revision: number, until: string): Promise<boolean>;
  /** Lets a frozen item start again. */
  thaw(orderId: string, key: string): Promise<void>;
  /** Writes items (each once: one there already is kept as it is). */
  addItems(orderId: string, items: ItemRecord[]): Promise<void>;
  /** Gives a Pending item other prerequisites (an amendment's redone ones); false if it is not Pending. */
  rewire(orderId: string, key: string, dependsOn: string[]): Promise<boolean>;
  /**
   * Ends the amendment to `revision`: the order as amended, the revision kept with what it changed, the
   * new items among the order's, and the lock taken off. False if the lock is not this amendment's.
   */
  saveAmendment(
    orderId: string,
    revision: Revision,
    submitted: Record<string, unknown>,
    newItemKeys: string[],
    /** The plan runs of the lines it adds, started once it is saved. */
    newRuns?: OrderRecord['planRuns'],
  ): Promise<boolean>;
  /** Takes an amendment's lock off without changing the order (it was refused). */
  endAmendment(orderId: string, revision: number): Promise<void>;
  /**
   * Moves an order under cancellation `cancellationId` from `from` to `to`: with `endCancellation` the
   * cancellation is taken off the order (refused: it goes back to where it was), with `clearHolds` what
   * held it is let go (accepted: nothing of it waits for an operator but its compensations). False when
   * the order is not there and so.
   */
  moveCancellingOrder(
    orderId: string,
    cancellationId: string,
    from: OrderState,
    to: OrderState,
    at: string,
    options?: { endCancellation?: boolean; clearHolds?: boolean },
  ): Promise<boolean>;
}
