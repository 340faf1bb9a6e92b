import { randomUUID } from 'node:crypto';
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
 */
export async function changeSystemState(
  deps: AvailabilityDeps,
  systemId: string,
  state: SystemState,
  request: Omit<ChangeRequest, 'at'>,
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
    if (state === 'Down') await deps.events.unavailable({ systemId, change });
  }
  if (state === 'Up' && system.state === 'Up' && (changed || request.cause === 'operator')) {
    await deps.events.available({ systemId, ...(change ? { change } : {}), releaseId: randomUUID() });
  }
  return result;
}

/** Takes an interface Offline or brings it Online, as changeSystemState does for systems. */
export async function changeInterfaceStatus(
  deps: AvailabilityDeps,
  interfaceId: string,
  status: InterfaceStatus,
  request: Omit<ChangeRequest, 'at'>,
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
    if (status === 'Offline') await deps.events.unavailable({ systemId: iface.system, interfaceId, change });
  }
  if (status === 'Online' && iface.status === 'Online' && (changed || request.cause === 'operator')) {
    await deps.events.available({
      systemId: iface.system,
      interfaceId,
      ...(change ? { change } : {}),
      releaseId: randomUUID(),
    });
  }
  return result;
}
