import { keepsFailing, type ListenerRecord, matchesFilter, mayReceive } from '../domain/listener';
import { signWebhook, webhookKey } from '../domain/webhook-signature';
import type { HttpClient } from '../ports/http-client';
import type { ListenerStore } from '../ports/listener-store';
import type { Delivery, DeliveryQueue, PublishedEvent } from '../ports/order-event-bus';
import type { Telemetry } from '../ports/telemetry';
import { logger } from '../shared/logger';

export interface DeliverDeps {
  listeners: ListenerStore;
  queue: DeliveryQueue;
  http: HttpClient;
  now: () => Date;
  telemetry: Telemetry;
}

/** How long a listener has to answer a delivery. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Fans an event from the bus out: one delivery for each listener that may receive it (its owner may read
 * the order) and whose filter it passes. Each delivery then goes and is retried on its own, so a listener
 * that is down delays no other. A paused listener gets its deliveries too: they wait for it in the
 * dead-letter queue (deliver).
 */
export async function fanOut(
  deps: Pick<DeliverDeps, 'queue'>,
  published: PublishedEvent,
  listeners: readonly ListenerRecord[],
): Promise<number> {
  const deliveries = listeners
    .filter((l) => mayReceive(l, published.submittedBy) && matchesFilter(l.filter, published.event))
    .map((l): Delivery => ({ ...published, listenerId: l.id }));
  if (deliveries.length > 0) await deps.queue.send(deliveries);
  return deliveries.length;
}

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number }
  /** Not taken (an answer other than 2xx, or none): tried again after its backoff. */
  | { kind: 'failed'; reason: string }
  /** Its listener is gone: nothing to do. */
  | { kind: 'dropped' }
  /** Its listener is paused: it waits in the dead-letter queue for an operator. */
  | { kind: 'parked' };

/**
 * Posts one event to one listener, signed as Standard Webhooks has it with the listener's secret: the
 * event id as `webhook-id` (the same on every attempt, so the listener can tell a repeat), the time of
 * this attempt, and the signature. A 2xx answer is taken; anything else, or none within
 * DELIVERY_TIMEOUT_MS, is a failure, counted on the listener, which is paused once it keeps failing.
 */
export async function deliver(deps: DeliverDeps, delivery: Delivery): Promise<DeliveryOutcome> {
  const listener = await deps.listeners.get(delivery.listenerId);
  if (!listener) return { kind: 'dropped' };
  if (listener.state === 'paused') {
    await deps.queue.deadLetter(delivery);
    return { kind: 'parked' };
  }
  const body = JSON.stringify(delivery.event);
  const timestamp = Math.floor(deps.now().getTime() / 1000);
  const id = delivery.event.eventId;
  let reason: string;
  try {
    const answer = await deps.http.send({
      method: 'POST',
      url: listener.callback,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(webhookKey(listener.secret), id, timestamp, body),
      },
      body,
      timeoutMs: DELIVERY_TIMEOUT_MS,
    });
    if (answer.status >= 200 && answer.status < 300) {
      if (listener.failures !== undefined)
        await deps.listeners.recordSuccess(listener.id, deps.now().toISOString());
      deps.telemetry.record('EventDeliveries', { outcome: 'delivered' });
      return { kind: 'delivered', status: answer.status };
    }
    reason = `the listener answered ${answer.status}`;
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  deps.telemetry.record('EventDeliveries', { outcome: 'failed' });
  const now = deps.now();
  const after = await deps.listeners.recordFailure(listener.id, { at: now.toISOString(), reason }, (l) =>
    keepsFailing(l, now),
  );
  if (after?.state === 'paused')
    logger.warn('listener paused: its deliveries keep failing', {
      listenerId: listener.id,
      failures: after.failures,
      reason,
    });
  return { kind: 'failed', reason };
}
