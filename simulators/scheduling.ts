import { type SimulatedSystem, type SimulatorOptions, startSimulatedSystem } from './simulated-system';

/** An installation slot the scheduling system booked. */
export interface BookedSlot {
  slotId: string;
  orderId: string;
  address: string;
  /** The visit's start: 08:00 UTC on the next working day after the booking. */
  start: string;
  technician: string;
}

const TECHNICIANS = ['Ada', 'Grace', 'Linus', 'Margaret'];

/**
 * A field-service scheduling system: books a technician's installation slot at a service address.
 * `POST /slots` `{ orderId, address }` → 201 `{ slotId, start, technician }`; the same order books the
 * same slot again (200), a request without orderId or address is refused with 400 naming the field.
 */
export async function startScheduling(
  options: SimulatorOptions & { now?: () => Date },
): Promise<SimulatedSystem & { slots: BookedSlot[] }> {
  const { now = () => new Date(), ...systemOptions } = options;
  const slots: BookedSlot[] = [];
  const system = await startSimulatedSystem(
    { name: 'scheduling', ...systemOptions },
    {
      'POST /slots': ({ body }) => {
        const request = (body ?? {}) as { orderId?: unknown; address?: unknown };
        for (const field of ['orderId', 'address'] as const) {
          if (typeof request[field] !== 'string' || request[field] === '')
            return { status: 400, body: { error: `${field} is required`, field } };
        }
        const orderId = request.orderId as string;
        const booked = slots.find((s) => s.orderId === orderId);
        if (booked) return { status: 200, body: booked };
        const slot: BookedSlot = {
          slotId: `SLOT-${String(slots.length + 1).padStart(6, '0')}`,
          orderId,
          address: request.address as string,
          start: nextWorkingMorning(now()).toISOString(),
          technician: TECHNICIANS[slots.length % TECHNICIANS.length] ?? 'Ada',
        };
        slots.push(slot);
        return { status: 201, body: slot };
      },
    },
  );
  return Object.assign(system, { slots });
}

/** 08:00 UTC on the first day after `from` that is neither a Saturday nor a Sunday. */
export function nextWorkingMorning(from: Date): Date {
  const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate() + 1, 8));
  while (day.getUTCDay() === 0 || day.getUTCDay() === 6) day.setUTCDate(day.getUTCDate() + 1);
  return day;
}
