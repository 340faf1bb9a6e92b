import { randomUUID } from 'node:crypto';
import type { AvailabilityChange } from '../domain/availability';
import type { InterfaceStatus, SystemState } from '../domain/catalog';
import type { AvailabilityEvents } from '../ports/availability-events';
import type {
  ChangeGuard,
  ChangeRequest,
  ConfigurationStore,
  InterfaceRecord,
  SystemRecord,
} from '../ports/configuration-store';
import { logger } from '../shared/logger';

/** A change as asked for; `releaseHeld: false` brings a system back without releasing what it holds. */
export type ChangeAsked = Omit<ChangeRequest, 'at'> & { releaseHeld?: boolean };

export interface AvailabilityDeps {
  config: ConfigurationStore;
  events: AvailabilityEvents;
  now: () => Date;
}

/**
 * Takes a system Down or brings it Up (an operator, a maintenance window, the circuit breaker), keeps the
 * change in its history and announces it on the bus; coming Up starts the release of its held items.
 *
 * An operator's Up for a system that is Up already announces again without a new history entry: a
 * release whose event was lost can always be asked for once more, and releases never send an item twice.
 * So does a retried automatic Up whose change is already made (a window's end delivered again after
 * its announcement failed). An operator's Up with `releaseHeld: false` is announced without a release:
 * the held items wait for the operator's own (`POST /admin/systems/{id}/release`).
 */
export async function changeSystemState(
  deps: AvailabilityDeps,
  systemId: string,
  state: SystemState,
  { releaseHeld = true, ...request }: ChangeAsked,
  guard?: ChangeGuard,
): Promise<{ system: SystemRecord; changed: boolean } | undefined> {
  const result = await deps.config.setSystemState(
    systemId,
    state,
    { ...request, at: deps.now().toISOString() },
    guard,
  );
  if (!result) return undefined;
  const { system, changed } = result;
  const change = system.stateChange;
  if (changed && change) {
    logger.info('system state changed', { systemId, state, cause: change.cause, reason: change.reason });
    // Back Up, by whoever: the circuit breaker counts failures from here.
    if (state === 'Up') await deps.config.resetConnectionFailures(systemId);
    if (state === 'Down') await deps.events.unavailable({ systemId, reason: request.reason, change });
  }
  if (state === 'Up' && system.state === 'Up' && (changed || asksAgain(request, change))) {
    await deps.events.available({
      systemId,
      reason: request.reason,
      ...(changed && change ? { change } : {}),
      ...(releaseHeld ? { releaseId: randomUUID() } : {}),
    });
  }
  return result;
}

/** Takes an interface Offline or brings it Online, as changeSystemState does for systems. */
export async function changeInterfaceStatus(
  deps: AvailabilityDeps,
  interfaceId: string,
  status: InterfaceStatus,
  { releaseHeld = true, ...request }: ChangeAsked,
): Promise<{ iface: InterfaceRecord; changed: boolean } | undefined> {
  const result = await deps.config.setInterfaceStatus(interfaceId, status, {
    ...request,
    at: deps.now().toISOString(),
  });
  if (!result) return undefined;
  const { iface, changed } = result;
  const change = iface.statusChange;
  if (changed && change) {
    logger.info('interface status changed', { interfaceId, status, reason: change.reason });
    if (status === 'Offline')
      await deps.events.unavailable({ systemId: iface.system, interfaceId, reason: request.reason, change });
  }
  if (status === 'Online' && iface.status === 'Online' && (changed || asksAgain(request, change))) {
    await deps.events.available({
      systemId: iface.system,
      interfaceId,
      reason: request.reason,
      ...(changed && change ? { change } : {}),
      ...(releaseHeld ? { releaseId: randomUUID() } : {}),
    });
  }
  return result;
}

/** An Up that finds the system Up already is announced again for an operator, or for a retry of the same automatic change. */
function asksAgain(request: Omit<ChangeRequest, 'at'>, last: AvailabilityChange | undefined): boolean {
  if (request.cause === 'operator') return true;
  return (
    last !== undefined &&
    (last.to === 'Up' || last.to === 'Online') &&
    last.cause === request.cause &&
    last.windowId === request.windowId
  );
}
