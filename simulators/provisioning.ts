import {
  type SimulatedSystem,
  type SimulatedSystemOptions,
  type SimulatorOptions,
  startSimulatedSystem,
} from './simulated-system';

/** A static IP address the provisioning system assigned to an order line. */
export interface StaticIpAssignment {
  assignmentId: string;
  orderId: string;
  orderItemId: string;
  ipVersion: 'v4' | 'v6';
  /** From the documentation ranges (RFC 5737, RFC 3849): never a real customer's. */
  address: string;
}

export type ProvisioningOptions = Omit<SimulatorOptions, 'tls' | 'auth'> & {
  /** Its server certificate and the CA whose client certificates it takes: it speaks only mutual TLS. */
  tls: NonNullable<SimulatedSystemOptions['tls']>;
};

/**
 * A network provisioning system behind mutual TLS, as carriers' often are: it has no API key or token,
 * and takes only connections that present a client certificate from the CA it trusts.
 * `POST /static-ips` `{ orderId, orderItemId, ipVersion }` → 201 `{ assignmentId, address, … }`; the same
 * line gets the same address again (200); a request without orderId or orderItemId, or with an ipVersion
 * other than `v4`/`v6`, is refused with 400 naming the field. `GET /health` answers 200.
 */
export async function startProvisioning(
  options: ProvisioningOptions,
): Promise<SimulatedSystem & { assignments: StaticIpAssignment[] }> {
  const assignments: StaticIpAssignment[] = [];
  const system = await startSimulatedSystem(
    { name: 'provisioning', ...options },
    {
      'GET /health': () => ({ status: 200, body: { status: 'ok' } }),
      'POST /static-ips': ({ body }) => {
        const request = (body ?? {}) as { orderId?: unknown; orderItemId?: unknown; ipVersion?: unknown };
        for (const field of ['orderId', 'orderItemId'] as const) {
          if (typeof request[field] !== 'string' || request[field] === '')
            return { status: 400, body: { error: `${field} is required`, field } };
        }
        const ipVersion = request.ipVersion ?? 'v4';
        if (ipVersion !== 'v4' && ipVersion !== 'v6')
          return { status: 400, body: { error: 'ipVersion must be "v4" or "v6"', field: 'ipVersion' } };
        const orderId = request.orderId as string;
        const orderItemId = request.orderItemId as string;
        const assigned = assignments.find((a) => a.orderId === orderId && a.orderItemId === orderItemId);
        if (assigned) return { status: 200, body: assigned };
        const n = assignments.length + 1;
        const assignment: StaticIpAssignment = {
          assignmentId: `IP-${String(n).padStart(6, '0')}`,
          orderId,
          orderItemId,
          ipVersion,
          address: ipVersion === 'v4' ? `203.0.113.${((n - 1) % 254) + 1}` : `2001:db8::${n.toString(16)}`,
        };
        assignments.push(assignment);
        return { status: 201, body: assignment };
      },
    },
  );
  return Object.assign(system, { assignments });
}
