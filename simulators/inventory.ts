import { randomInt } from 'node:crypto';
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
            portId: `DSLAM-${randomInt(10, 99)}/${randomInt(1, 16)}/${randomInt(1, 48)}`,
            orderId: request.orderId,
          },
        };
      },
    },
  );
}
