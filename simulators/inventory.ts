import { type SimulatedSystem, type SimulatorOptions, startSimulatedSystem } from './simulated-system';

/** A network inventory, with the ports it holds reserved and those it was asked to release. */
export interface Inventory extends SimulatedSystem {
  /** Reserved ports, by port, with the order each is reserved for. */
  reserved: Map<string, { reservationId: string; orderId: string }>;
  /** Ports released, in the order they were released. */
  released: string[];
}

/**
 * A network inventory: reserves a free DSLAM port for a DSL line, and releases it again.
 *
 * - `POST /ports/reservations` `{ orderId, bandwidthMbps?, serviceAddress? }` → 201
 *   `{ reservationId, portId, orderId }`.
 * - `DELETE /ports/reservations/{portId}` → 204 when the port was reserved (it is free again), 404
 *   `{ error }` when it is not. The same request again (its Idempotency-Key) gets the same 204.
 */
export async function startInventory(options: SimulatorOptions): Promise<Inventory> {
  let next = 1;
  const reserved: Inventory['reserved'] = new Map();
  const released: string[] = [];
  const system = await startSimulatedSystem(
    { name: 'inventory', ...options },
    {
      'POST /ports/reservations': ({ body }) => {
        const request = body as { orderId?: unknown } | undefined;
        if (!request || typeof request.orderId !== 'string') {
          return { status: 400, body: { error: 'orderId is required' } };
        }
        const n = next++;
        const reservation = { reservationId: `RES-${String(n).padStart(6, '0')}`, orderId: request.orderId };
        reserved.set(portOf(n), reservation);
        return { status: 201, body: { ...reservation, portId: portOf(n) } };
      },
      'DELETE /ports/reservations/{portId}': ({ params }) => {
        const portId = params.portId ?? '';
        if (!reserved.delete(portId))
          return { status: 404, body: { error: `port ${portId} is not reserved` } };
        released.push(portId);
        return { status: 204 };
      },
    },
  );
  return Object.assign(system, { reserved, released });
}

/** The 69,120 ports of DSLAMs 10–99 (16 cards of 48 ports each), handed out in turn: never one twice. */
function portOf(n: number): string {
  const slot = (n - 1) % (90 * 16 * 48);
  return `DSLAM-${10 + Math.floor(slot / (16 * 48))}/${1 + (Math.floor(slot / 48) % 16)}/${1 + (slot % 48)}`;
}
