import { createHash, randomUUID } from 'node:crypto';
import type { Catalog } from '../domain/catalog';
import { decompose } from '../domain/decompose';
import { ConflictError } from '../domain/errors';
import type { OrderRecord } from '../domain/orchestration';
import type { ProductOrderCreate } from '../domain/product-order';
import type { Actor } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import type { PlanRunner } from '../ports/plan-runner';
import type { Telemetry } from '../ports/telemetry';

export interface SubmitOrderDeps {
  store: OrderStore;
  plans: PlanRunner;
  catalog: Catalog;
  now: () => Date;
  /** The metrics operators watch. */
  telemetry: Telemetry;
  newId?: () => string;
}

/**
 * Accepts a validated TMF622 order.
 *
 * 1. With an Idempotency-Key, the order id is derived from the submitter and the key and claimed for
 *    this request; a retry of the same request finds the order (or finishes creating it) and gets the
 *    same answer, a different request with the same key is refused (409).
 * 2. Decompose it (the submitter is recorded on the order): each line to its plan, each plan item to an
 *    orchestration item (rejects unknown offerings).
 * 3. Store the items, then the order, so a reader never sees an order without its items.
 * 4. Start one plan execution per plan, named after the order, so a retry starts nothing twice — which
 *    is also how a retry recovers an order whose plans did not all start.
 */
export async function submitOrder(
  deps: SubmitOrderDeps,
  submitted: ProductOrderCreate,
  submittedBy: Actor,
  idempotencyKey?: string,
): Promise<OrderRecord> {
  const at = deps.now().toISOString();
  const orderId = idempotencyKey ? orderIdFor(submittedBy, idempotencyKey) : (deps.newId ?? randomUUID)();
  const decomposition = decompose(deps.catalog, orderId, submitted, at);
  let order = decomposition.order;
  order.submittedBy = submittedBy;
  const existing = idempotencyKey ? await claim(deps, orderId, submitted, at) : undefined;
  if (existing) order = existing;
  else await deps.store.createOrder(order, decomposition.items);
  for (const run of decomposition.runs) await deps.plans.start(run.planId, run.executionName, run.input);
  // Once, by the request that created it: a retry that finds it (and starts what did not start) is not a new order.
  if (!existing) deps.telemetry.record('OrdersAccepted', {});
  return order;
}

/** How long after a claim a retry may finish creating an order its first request never wrote. */
const SUBMISSION_TAKEOVER_MS = 60_000;

/** A UUID-shaped id that only this submitter and this key give. */
function orderIdFor(submitter: Actor, key: string): string {
  const hex = createHash('sha256').update(`${submitter.id}\n${key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Claims the order id for this request. Undefined: this request creates the order. Otherwise the order
 * an earlier identical request created — waited for briefly if that request is still writing it; if it
 * never appears, that request died before writing the order and this one creates it.
 */
async function claim(
  deps: SubmitOrderDeps,
  orderId: string,
  submitted: ProductOrderCreate,
  at: string,
): Promise<OrderRecord | undefined> {
  const fingerprint = createHash('sha256').update(JSON.stringify(submitted)).digest('hex');
  const claimed = await deps.store.claimSubmission(orderId, fingerprint, at);
  if (claimed.claimed) return undefined;
  if (claimed.fingerprint !== fingerprint) {
    throw new ConflictError(
      'this Idempotency-Key was used for a different order; use a new key for a new order',
    );
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const order = await deps.store.getOrder(orderId);
    if (order) return order;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Only a request that has surely died is taken over: writing the items while the first request still
  // runs its plans would reset them.
  if (deps.now().getTime() - Date.parse(claimed.at) < SUBMISSION_TAKEOVER_MS) {
    throw new ConflictError(
      'an earlier request with this Idempotency-Key is still creating the order; retry in a minute',
    );
  }
  return undefined;
}
