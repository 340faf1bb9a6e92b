import { randomUUID } from 'node:crypto';
import { callbackUrlOf } from './activation';
import { type CallbackSenderOptions, createCallbackSender, type SentCallback } from './callback-sender';
import {
  type SimulatedAnswer,
  type SimulatedRequest,
  type SimulatedSystem,
  type SimulatorOptions,
  startSimulatedSystem,
} from './simulated-system';

/** A number port the system was asked for. */
export interface PortIn {
  portRef: string;
  orderId: string;
  number: string;
  donorOperator: string;
}

export interface NumberPortingOptions extends SimulatorOptions {
  /** From the 202 to the callback that schedules the port. Default 50. */
  scheduleDelayMs?: number;
  /** From that to the callback that says how the port ended. Default 100. */
  finishDelayMs?: number;
  /** How failed callbacks are re-sent. */
  callbacks?: CallbackSenderOptions;
}

export interface NumberPortingSystem extends SimulatedSystem {
  ports: PortIn[];
  /** Every callback sent, re-sends included, in the order sent. */
  callbacks: SentCallback[];
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** The donor operators' refusal code the system passes on: the number is not theirs to release. */
export const NOT_HELD_BY_DONOR = 42;

/**
 * A number-porting gateway, which speaks its own vocabulary and nothing else — the kind of system a
 * callback mapping is for. `POST /port-ins` `{ orderId, number, donorOperator }` (with `callback-url`)
 * → 202 `{ portRef }`; later it calls back, in its own words:
 *
 *   { "portRef": "PRT-000001", "state": "SCHEDULED", "portDate": "2026-12-09" }   (header x-porting-event: port.scheduled)
 *   { "portRef": "PRT-000001", "state": "PORTED", "number": "+441632960001" }    (port.completed)
 *   { "portRef": "PRT-000001", "state": "REJECTED", "reasonCode": 42, "reasonText": "…" } (port.rejected)
 *
 * A donor operator holds no number that ends in 99: those are rejected with reason code 42, after being
 * scheduled. A number that is not in E.164 form is refused at once with 400 naming `number`.
 */
export async function startNumberPorting(options: NumberPortingOptions): Promise<NumberPortingSystem> {
  const { scheduleDelayMs = 50, finishDelayMs = 100, callbacks, ...systemOptions } = options;
  const sender = createCallbackSender(callbacks ?? {});
  const ports: PortIn[] = [];

  const portIn = (request: SimulatedRequest): SimulatedAnswer => {
    const callbackUrl = callbackUrlOf(request);
    if (typeof callbackUrl !== 'string') return { status: 400, body: callbackUrl };
    const body = (request.body ?? {}) as Record<string, unknown>;
    for (const field of ['orderId', 'number', 'donorOperator'] as const) {
      if (typeof body[field] !== 'string' || body[field] === '')
        return { status: 400, body: { error: `${field} is required`, field } };
    }
    const number = body.number as string;
    if (!/^\+[1-9][0-9]{6,14}$/.test(number))
      return { status: 400, body: { error: 'number must be in E.164 form (+ and digits)', field: 'number' } };
    const orderId = body.orderId as string;
    const known = ports.find((p) => p.orderId === orderId && p.number === number);
    if (known) return { status: 202, body: { portRef: known.portRef } };
    const port: PortIn = {
      portRef: `PRT-${String(ports.length + 1).padStart(6, '0')}`,
      orderId,
      number,
      donorOperator: body.donorOperator as string,
    };
    ports.push(port);
    sender.background(async () => {
      if (!(await sender.pause(scheduleDelayMs))) return;
      const portDate = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
      await sender.deliver(
        callbackUrl,
        randomUUID(),
        { portRef: port.portRef, state: 'SCHEDULED', portDate },
        { 'x-porting-event': 'port.scheduled' },
      ).done;
      if (!(await sender.pause(finishDelayMs))) return;
      const rejected = number.endsWith('99');
      await sender.deliver(
        callbackUrl,
        randomUUID(),
        rejected
          ? {
              portRef: port.portRef,
              state: 'REJECTED',
              reasonCode: NOT_HELD_BY_DONOR,
              reasonText: `${port.donorOperator} does not hold ${number}`,
            }
          : { portRef: port.portRef, state: 'PORTED', number },
        { 'x-porting-event': rejected ? 'port.rejected' : 'port.completed' },
      ).done;
    });
    return { status: 202, body: { portRef: port.portRef } };
  };

  const system = await startSimulatedSystem(
    { name: 'number-porting', ...systemOptions },
    { 'POST /port-ins': portIn },
  );
  const stopServer = system.stop;
  return Object.assign(system, {
    ports,
    callbacks: sender.sent,
    settled: sender.settled,
    stop: async () => {
      await sender.stop();
      await stopServer();
    },
  });
}
