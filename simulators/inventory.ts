import { type SimulatedSystem, type SimulatorOptions, startSimulatedSystem } from './simulated-system';

/**
 * A network inventory: reserves a free DSLAM port for a DSL line.
 * `POST /ports/reservations` `{ orderId, bandwidthMbps?, serviceAddress? }` → 201 `{ reservationId, portId }`.
 */
export function startInventory(options: SimulatorOptions): Promise<SimulatedSystem> {
  let next = 1;
  return startSimulatedSystem(
    { name: 'inventory', ...options },
    {
      'POST /ports/reservations': ({ body }) => {
        const request = body as { orderId?: unknown } | undefined;
        if (!request || typeof request.orderId !== 'string') {
          return { status: 400, body: { error: 'orderId is required' } };
        }
        const n = next++;
        return {
          status: 201,
          body: {
            reservationId: `RES-${String(n).padStart(6, '0')}`,
            portId: portOf(n),
            orderId: request.orderId,
          },
        };
      },
    },
  );
}

/** The 69,120 ports of DSLAMs 10–99 (16 cards of 48 ports each), handed out in turn: never one twice. */
function portOf(n: number): string {
  const slot = (n - 1) % (90 * 16 * 48);
  return `DSLAM-${10 + Math.floor(slot / (16 * 48))}/${1 + (Math.floor(slot / 48) % 16)}/${1 + (slot % 48)}`;
}
