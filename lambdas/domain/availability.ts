import { z } from 'zod';
import { INTERFACE_STATUSES, type InterfaceStatus, SYSTEM_STATES, type SystemState } from './catalog';
import type { Actor } from './roles';

/**
 * Whether a system can be called: a system instance is Up or Down, each of its interfaces Online or
 * Offline. A callout to a Down system or an Offline interface waits On Hold until both are available.
 */

/** What made the last change: an operator, a maintenance window, or the circuit breaker. */
export type ChangeCause = 'operator' | 'maintenance' | 'circuit-breaker';

/** One change of a system's state or an interface's status: who, when, why. */
export interface AvailabilityChange {
  /** Unique; history is keyed by it, so writing a change twice keeps it once. */
  id: string;
  at: string;
  by: Actor;
  reason: string;
  cause: ChangeCause;
  /** The maintenance window behind the change, when one is. */
  windowId?: string;
  from: SystemState | InterfaceStatus;
  to: SystemState | InterfaceStatus;
  /** The id of the change this one ended, when there was one. */
  follows?: string;
}

/** Switchboard itself, when it changes a state on its own. */
export const AUTOMATIC_ACTORS = {
  maintenance: { id: 'switchboard:maintenance', name: 'maintenance window' },
  'circuit-breaker': { id: 'switchboard:circuit-breaker', name: 'circuit breaker' },
} as const satisfies Record<Exclude<ChangeCause, 'operator'>, Actor>;

/** Why an operator changes something: required, kept with their name in the history. */
export const reasonSchema = z.string().trim().min(1, 'is required: say why').max(500);
const reason = reasonSchema;

/**
 * With `false`, a system brought Up (an interface Online) keeps what it holds until an operator releases
 * it: new callouts go, and the held ones can be let through a few at a time to try the system first.
 */
const releaseHeld = z.boolean().optional();

/** PUT /admin/systems/{systemId}/state */
export const systemStateRequestSchema = z
  .object({ state: z.enum(SYSTEM_STATES), reason, releaseHeld })
  .strict()
  .refine((body) => body.releaseHeld === undefined || body.state === 'Up', {
    path: ['releaseHeld'],
    message: 'goes only with state "Up"',
  });

/** PATCH /admin/system-interfaces/{interfaceId} */
export const interfaceStatusRequestSchema = z
  .object({ status: z.enum(INTERFACE_STATUSES), reason, releaseHeld })
  .strict()
  .refine((body) => body.releaseHeld === undefined || body.status === 'Online', {
    path: ['releaseHeld'],
    message: 'goes only with status "Online"',
  });

/** Why an item waits On Hold, and for what. */
export interface HoldInfo {
  systemId: string;
  /** Absent for a procedure step sent to a path of its system: only the system's state holds it. */
  interfaceId?: string;
  since: string;
  reason: string;
}

/** Why a callout to this interface cannot go now, or undefined when it can. */
export function unavailability(target: {
  system: { id: string; state: SystemState; stateChange?: Pick<AvailabilityChange, 'reason'> };
  iface: { id: string; status: InterfaceStatus; statusChange?: Pick<AvailabilityChange, 'reason'> };
}): string | undefined {
  const { system, iface } = target;
  if (system.state === 'Down') {
    return `system "${system.id}" is Down${system.stateChange ? `: ${system.stateChange.reason}` : ''}`;
  }
  if (iface.status === 'Offline') {
    return `interface "${iface.id}" is Offline${iface.statusChange ? `: ${iface.statusChange.reason}` : ''}`;
  }
  return undefined;
}

/** The EventBridge source and detail types Switchboard puts on its bus about availability. */
export const AVAILABILITY_SOURCE = 'switchboard.availability';
export const DETAIL_TYPES = {
  /** A system came Up or an interface Online: its held items go back to work. */
  available: 'System Available',
  /** A system went Down or an interface Offline (for operators' own rules; nothing in Switchboard listens). */
  unavailable: 'System Unavailable',
  /** An operator asked to release held items by hand, or a release ran out of time and goes on. */
  releaseRequested: 'Held Items Release Requested',
} as const;

/** What a release works through: a system's held items, or one interface's. */
export interface ReleaseScope {
  systemId: string;
  interfaceId?: string;
}

/** The detail of the events that start (or continue) a release. */
export interface ReleaseRequest extends ReleaseScope {
  /** One release, across its continuations; stamps the items it sends so no other release sends them too. */
  releaseId: string;
  /** Where a continued release resumes: the hold sort key of the last item it handled. */
  after?: string;
  reason: string;
}
