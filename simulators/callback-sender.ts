import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How a simulated system that answers later calls its caller back: `POST <callback-url>` with a JSON body
 * and an Idempotency-Key, re-sent with the same key after a network error, a timeout, a 429 or a 5xx
 * (as at-least-once systems do), never after another 4xx. Every send is recorded, and every background task is
 * tracked, so a test can wait for them all and stop() leaves no timer or socket behind.
 */
export interface CallbackSenderOptions {
  /** Re-sends after the first attempt. Default 3. */
  retries?: number;
  /** Wait before the first re-send, doubled for each next one. Default 20. */
  retryDelayMs?: number;
  /** An attempt unanswered for this long counts as a network error. Default 5000. */
  attemptTimeoutMs?: number;
  /**
   * Signs every send the Standard Webhooks way with this secret (`whsec_<base64>`): `webhook-id` is the
   * callback's key (the same on every re-send), `webhook-timestamp` and `webhook-signature` are made
   * afresh for each send. Unsigned without one.
   */
  signingSecret?: string;
}

/** One HTTP request sent to a callback URL; a re-send is a further record with the same key. */
export interface SentCallback {
  url: string;
  idempotencyKey: string;
  body: unknown;
  /** 1 for the first send, 2 for the first re-send, … */
  attempt: number;
  sentAt: Date;
  /** Filled in when the answer arrives. */
  status?: number;
  /** The answer's body: parsed JSON, or the text when it is not JSON. */
  answer?: unknown;
  /** Filled in instead of `status` when no answer came: a network error, a timeout, or stop(). */
  error?: string;
}

export interface CallbackDelivery {
  /** Settles when the first attempt is answered or fails, re-sends aside. */
  firstAttempt: Promise<void>;
  /** Settles when the callback is delivered, refused, given up on or stopped; never rejects. */
  done: Promise<void>;
}

export interface CallbackSender {
  /** Every send, in the order sent. */
  sent: SentCallback[];
  /** Sends one callback (with any headers of the system's own), re-sending as needed, tracked until done. */
  deliver(
    url: string,
    idempotencyKey: string,
    body: unknown,
    headers?: Record<string, string>,
  ): CallbackDelivery;
  /** Runs work in the background, tracked until it finishes; skipped once stopped. */
  background(work: () => Promise<void>): void;
  /** Waits, unless stopped first: true when the time passed, false when stopped. */
  pause(ms: number): Promise<boolean>;
  /** Resolves when every background task and delivery has finished, those started meanwhile included. */
  settled(): Promise<void>;
  /** Cancels pending waits and sends, then waits for every task to finish. */
  stop(): Promise<void>;
}

/**
 * The three Standard Webhooks headers for one send, written here the way a system would, from the
 * specification rather than from Switchboard's own code, so that the two meet only on the wire.
 */
export function webhookHeaders(
  secret: string,
  id: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}

export function createCallbackSender(options: CallbackSenderOptions = {}): CallbackSender {
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 20;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
  const stopping = new AbortController();
  const pending = new Set<Promise<void>>();
  const sent: SentCallback[] = [];

  const track = (task: Promise<void>) => {
    const tracked = task.catch(() => undefined).finally(() => pending.delete(tracked));
    pending.add(tracked);
    return tracked;
  };

  const pause = async (ms: number) => {
    if (stopping.signal.aborted) return false;
    try {
      await sleep(ms, undefined, { signal: stopping.signal });
      return true;
    } catch {
      return false;
    }
  };

  /** Sends once; true when the answer calls for a re-send. */
  const attempt = async (
    url: string,
    idempotencyKey: string,
    body: unknown,
    n: number,
    headers: Record<string, string>,
  ) => {
    const record: SentCallback = { url, idempotencyKey, body, attempt: n, sentAt: new Date() };
    sent.push(record);
    try {
      const text = JSON.stringify(body);
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
          ...headers,
          ...(options.signingSecret ? webhookHeaders(options.signingSecret, idempotencyKey, text) : {}),
        },
        body: text,
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(attemptTimeoutMs)]),
      });
      const answer = await response.text();
      record.status = response.status;
      record.answer = parseOrText(answer);
      // A 5xx, and a 429 (the receiver's throttling), call for a re-send; any other 4xx is final.
      return response.status >= 500 || response.status === 429;
    } catch (error) {
      record.error = stopping.signal.aborted ? 'stopped before an answer came' : describe(error);
      return !stopping.signal.aborted;
    }
  };

  const deliver = (
    url: string,
    idempotencyKey: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): CallbackDelivery => {
    if (stopping.signal.aborted) return { firstAttempt: Promise.resolve(), done: Promise.resolve() };
    const first = attempt(url, idempotencyKey, body, 1, headers);
    const done = track(
      (async () => {
        let again = await first;
        for (let n = 2; again && n <= retries + 1; n++) {
          if (!(await pause(retryDelayMs * 2 ** (n - 2)))) return;
          again = await attempt(url, idempotencyKey, body, n, headers);
        }
      })(),
    );
    return { firstAttempt: first.then(() => undefined), done };
  };

  const settled = async () => {
    while (pending.size > 0) await Promise.all(pending);
  };

  return {
    sent,
    deliver,
    background: (work) => {
      if (!stopping.signal.aborted) track(work());
    },
    pause,
    settled,
    stop: async () => {
      stopping.abort();
      await settled();
    },
  };
}

function parseOrText(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** fetch hides the reason for a failed connection in `cause`. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return error.message;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
