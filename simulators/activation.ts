import { randomUUID } from 'node:crypto';
import {
  type CallbackDelivery,
  type CallbackSenderOptions,
  createCallbackSender,
  type SentCallback,
} from './callback-sender';
import {
  type SimulatedAnswer,
  type SimulatedRequest,
  type SimulatedSystem,
  type SimulatorOptions,
  startSimulatedSystem,
} from './simulated-system';

export type { SentCallback } from './callback-sender';

/**
 * A service activation system: brings up the DSL service on a reserved DSLAM port.
 * `POST /services/activations` `{ orderId, orderItemId?, portId, bandwidthMbps? }`.
 *
 * `DELETE /services/activations/{activationId}` switches an active line off (its port is free again): 204,
 * or 404 when no line with that id is active; at once in either mode.
 *
 * Synchronously (mode 'sync') it answers 201 `{ activationId, serviceId, portId, status: 'active' }` for a
 * new activation, 200 with the same activation when the port is already active for this order, 400
 * `{ error, field }` naming a missing or mistyped field, 409 when the port is active for another order.
 *
 * Asynchronously (mode 'async'), as real activation systems do, it needs the URL to call back, in the
 * `callback-url` header or else `callbackUrl` in the body (400 naming `callback-url` without one), still
 * answers 400 at once for an invalid request, and otherwise answers 202 `{ activationId, status: 'accepted' }`
 * and later POSTs to that URL, as given: `{ status: 'inProgress', note: 'line test passed', activationId }`,
 * then `{ status: 'completed', activationId, serviceId, portId }` or, when the port is active for another
 * order, `{ status: 'failed', activationId, error: { code: 'PORT_TAKEN', message } }`.
 */
export interface Activation {
  activationId: string;
  serviceId: string;
  orderId: string;
  orderItemId?: string;
  portId: string;
  bandwidthMbps?: number;
  /** `deactivated` once a DELETE switched it off again (its port is free). */
  status: 'active' | 'deactivated';
}

export type ActivationOutcome =
  | { outcome: 'activated'; activation: Activation }
  | { outcome: 'already-active'; activation: Activation }
  | { outcome: 'invalid'; field: string; problem: string }
  | { outcome: 'port-taken'; portId: string; activeOrderId: string };

/** The activation rules apart from HTTP, so the synchronous and the asynchronous answers run the same ones. */
export interface ActivationRegister {
  activate(request: unknown): ActivationOutcome;
  /**
   * An activation id for an attempt that made no activation: an asynchronous request the system accepted
   * and will report as failed. Drawn from the activations' own numbering, so no two ids meet.
   */
  issueActivationId(): string;
  /** Every activation made, oldest first. */
  activations: Activation[];
  /** Switches an active line off and frees its port: false when no active activation has that id. */
  deactivate(activationId: string): boolean;
}

export function createActivationRegister(): ActivationRegister {
  const activations: Activation[] = [];
  let issued = 0;
  const activeByPort = new Map<string, Activation>();

  const activate = (request: unknown): ActivationOutcome => {
    const fields = (typeof request === 'object' && request !== null ? request : {}) as Record<
      string,
      unknown
    >;
    for (const field of ['orderId', 'portId'] as const) {
      const value = fields[field];
      if (value === undefined) return { outcome: 'invalid', field, problem: `${field} is required` };
      if (typeof value !== 'string' || value === '') {
        return { outcome: 'invalid', field, problem: `${field} must be a non-empty string` };
      }
    }
    const { orderId, portId, orderItemId, bandwidthMbps } = fields as {
      orderId: string;
      portId: string;
      orderItemId?: unknown;
      bandwidthMbps?: unknown;
    };
    if (orderItemId !== undefined && typeof orderItemId !== 'string') {
      return { outcome: 'invalid', field: 'orderItemId', problem: 'orderItemId must be a string' };
    }
    if (
      bandwidthMbps !== undefined &&
      (typeof bandwidthMbps !== 'number' || !Number.isFinite(bandwidthMbps) || bandwidthMbps <= 0)
    ) {
      return {
        outcome: 'invalid',
        field: 'bandwidthMbps',
        problem: 'bandwidthMbps must be a positive number',
      };
    }

    const active = activeByPort.get(portId);
    if (active) {
      // Activating the same port again for the same order is a retry, not a conflict.
      return active.orderId === orderId
        ? { outcome: 'already-active', activation: active }
        : { outcome: 'port-taken', portId, activeOrderId: active.orderId };
    }
    const n = padded(++issued);
    const activation: Activation = {
      activationId: `ACT-${n}`,
      serviceId: `SVC-${n}`,
      orderId,
      ...(orderItemId === undefined ? {} : { orderItemId }),
      portId,
      ...(bandwidthMbps === undefined ? {} : { bandwidthMbps }),
      status: 'active',
    };
    activations.push(activation);
    activeByPort.set(portId, activation);
    return { outcome: 'activated', activation };
  };

  const deactivate = (activationId: string): boolean => {
    const activation = activations.find((a) => a.activationId === activationId && a.status === 'active');
    if (!activation) return false;
    activation.status = 'deactivated';
    activeByPort.delete(activation.portId);
    return true;
  };

  return { activate, deactivate, issueActivationId: () => `ACT-${padded(++issued)}`, activations };
}

const padded = (n: number) => String(n).padStart(6, '0');

export function activationAnswer(result: ActivationOutcome): SimulatedAnswer {
  switch (result.outcome) {
    case 'activated':
    case 'already-active': {
      const { activationId, serviceId, portId, status } = result.activation;
      return {
        status: result.outcome === 'activated' ? 201 : 200,
        body: { activationId, serviceId, portId, status },
      };
    }
    case 'invalid':
      return { status: 400, body: { error: result.problem, field: result.field } };
    case 'port-taken':
      return {
        status: 409,
        body: { error: `port ${result.portId} is already active for another order` },
      };
  }
}

export interface ActivationOptions extends SimulatorOptions {
  /** 'sync' answers with the outcome; 'async' answers 202 and calls back later. Default 'sync'. */
  mode?: 'sync' | 'async';
  /** From the 202 to the interim callback. Default 50. */
  interimDelayMs?: number;
  /** From the interim callback to the final one. Default 100. */
  finalDelayMs?: number;
  /** Sends the final callback a second time, with the same Idempotency-Key, as at-least-once systems do. */
  duplicateFinal?: boolean;
  /**
   * The early-callback race: the work is done at once (no interim callback, no delays) and the final
   * callback's first attempt is answered before the 202 leaves; any re-sends follow in the background.
   */
  callbackFirst?: boolean;
  /** How failed callbacks are re-sent. */
  callbacks?: CallbackSenderOptions;
  /** Signs its callbacks with this Standard Webhooks secret (`whsec_…`), as the demo's activation does. */
  callbackSecret?: string;
}

export interface ActivationSystem extends SimulatedSystem {
  activations: Activation[];
  /** Every callback sent, re-sends included, in the order sent; empty in sync mode. */
  callbacks: SentCallback[];
  /** Resolves when every callback under way has been delivered, refused or given up on. */
  settled(): Promise<void>;
  /** Cancels the callbacks still to come, then stops the server. */
  stop(): Promise<void>;
}

export async function startActivation(options: ActivationOptions): Promise<ActivationSystem> {
  const {
    mode = 'sync',
    interimDelayMs = 50,
    finalDelayMs = 100,
    duplicateFinal = false,
    callbackFirst = false,
    callbacks: callbackOptions,
    callbackSecret,
    ...systemOptions
  } = options;
  const register = createActivationRegister();
  const sender = createCallbackSender({
    ...callbackOptions,
    ...(callbackSecret ? { signingSecret: callbackSecret } : {}),
  });

  const activateLater = async (request: SimulatedRequest): Promise<SimulatedAnswer> => {
    const callbackUrl = callbackUrlOf(request);
    if (typeof callbackUrl !== 'string') return { status: 400, body: callbackUrl };
    const result = register.activate(request.body);
    if (result.outcome === 'invalid') return activationAnswer(result);
    const activationId =
      result.outcome === 'port-taken' ? register.issueActivationId() : result.activation.activationId;
    const final = finalCallback(result, activationId);
    // One key per callback; a re-send of the same callback keeps it.
    const finalKey = randomUUID();
    const finish = async (delivery: CallbackDelivery) => {
      await delivery.done;
      if (duplicateFinal) await sender.deliver(callbackUrl, finalKey, final).done;
    };
    if (callbackFirst) {
      const delivery = sender.deliver(callbackUrl, finalKey, final);
      sender.background(() => finish(delivery));
      await delivery.firstAttempt;
    } else {
      sender.background(async () => {
        if (!(await sender.pause(interimDelayMs))) return;
        const interim = { status: 'inProgress', note: 'line test passed', activationId };
        await sender.deliver(callbackUrl, randomUUID(), interim).done;
        if (!(await sender.pause(finalDelayMs))) return;
        await finish(sender.deliver(callbackUrl, finalKey, final));
      });
    }
    return { status: 202, body: { activationId, status: 'accepted' } };
  };

  const system = await startSimulatedSystem(
    { name: 'activation', ...systemOptions },
    {
      'POST /services/activations':
        mode === 'async' ? activateLater : ({ body }) => activationAnswer(register.activate(body)),
      // Deactivation answers at once, whatever the mode: 204, or 404 when no such line is active.
      'DELETE /services/activations/{activationId}': ({ params }) =>
        register.deactivate(params.activationId ?? '')
          ? { status: 204 }
          : { status: 404, body: { error: `no active activation ${params.activationId}` } },
    },
  );
  const stopServer = system.stop;
  return Object.assign(system, {
    activations: register.activations,
    callbacks: sender.sent,
    settled: sender.settled,
    stop: async () => {
      // Cancelled first, so no callback timer or socket outlives the server.
      await sender.stop();
      await stopServer();
    },
  });
}

/** The callback URL from the header, else from the body; or the 400 body saying what is wrong with it. */
export function callbackUrlOf(request: SimulatedRequest): string | { error: string; field: 'callback-url' } {
  const header = request.headers['callback-url'];
  const body = request.body as { callbackUrl?: unknown } | undefined;
  const value = typeof header === 'string' ? header : body?.callbackUrl;
  if (value === undefined || value === '') {
    return {
      error: 'callback-url is required: this system answers later, at the URL in the callback-url header',
      field: 'callback-url',
    };
  }
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return { error: 'callback-url must be an absolute http(s) URL', field: 'callback-url' };
  }
  return value as string;
}

function finalCallback(
  result: Exclude<ActivationOutcome, { outcome: 'invalid' }>,
  activationId: string,
): Record<string, unknown> {
  if (result.outcome === 'port-taken') {
    return {
      status: 'failed',
      activationId,
      error: {
        code: 'PORT_TAKEN',
        message: `port ${result.portId} is already active for another order`,
      },
    };
  }
  const { serviceId, portId } = result.activation;
  return { status: 'completed', activationId, serviceId, portId };
}
