import {
  type SimulatedAnswer,
  type SimulatedSystem,
  type SimulatorOptions,
  startSimulatedSystem,
} from './simulated-system';

/**
 * A service activation system: brings up the DSL service on a reserved DSLAM port.
 * `POST /services/activations` `{ orderId, orderItemId?, portId, bandwidthMbps? }`
 * → 201 `{ activationId, serviceId, portId, status: 'active' }` for a new activation, 200 with the same
 * activation when the port is already active for this order, 400 `{ error }` naming a missing or mistyped
 * field, 409 when the port is active for another order.
 */
export interface Activation {
  activationId: string;
  serviceId: string;
  orderId: string;
  orderItemId?: string;
  portId: string;
  bandwidthMbps?: number;
  status: 'active';
}

export type ActivationOutcome =
  | { outcome: 'activated'; activation: Activation }
  | { outcome: 'already-active'; activation: Activation }
  | { outcome: 'invalid'; field: string; problem: string }
  | { outcome: 'port-taken'; portId: string; activeOrderId: string };

/** The activation rules apart from HTTP, so a later asynchronous activation can run the same ones. */
export interface ActivationRegister {
  activate(request: unknown): ActivationOutcome;
  /** Every activation made, oldest first. */
  activations: Activation[];
}

export function createActivationRegister(): ActivationRegister {
  const activations: Activation[] = [];
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
    const n = String(activations.length + 1).padStart(6, '0');
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

  return { activate, activations };
}

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

export async function startActivation(
  options: SimulatorOptions,
): Promise<SimulatedSystem & { activations: Activation[] }> {
  const register = createActivationRegister();
  const system = await startSimulatedSystem(
    { name: 'activation', ...options },
    { 'POST /services/activations': ({ body }) => activationAnswer(register.activate(body)) },
  );
  return Object.assign(system, { activations: register.activations });
}
