import type { InterfaceRecord, SystemRecord } from '../ports/configuration-store';
import type { AuthProfile } from './auth-profile';
import type { AvailabilityChange } from './availability';
import { DEFAULT_ASYNC_TIMEOUT_SECONDS } from './catalog';
import { isAsyncAdapter } from './integration-adapters';
import type { ConfigurationChange } from './runtime-configuration';

/**
 * How the admin API shows systems and interfaces. An auth profile shows its id and type (and an OAuth2
 * token URL and scope): the credentials are in a secret and never leave it through the API.
 */
export function toSystemView(system: SystemRecord, profile: AuthProfile | undefined) {
  return {
    id: system.id,
    name: system.name,
    baseUrl: system.baseUrl,
    state: system.state,
    ...(system.stateChange ? { stateChange: changeView(system.stateChange) } : {}),
    authProfile: profile
      ? authProfileView(profile)
      : system.authProfile
        ? { id: system.authProfile }
        : { type: 'none' as const },
    limits: system.limits,
    ...(system.circuitBreaker
      ? {
          circuitBreaker: {
            ...system.circuitBreaker,
            consecutiveFailures: system.consecutiveFailures ?? 0,
          },
        }
      : {}),
    revision: system.revision,
    overrides: system.overrides,
    seededAt: system.seededAt,
    updatedAt: system.updatedAt,
    href: `/admin/systems/${system.id}`,
  };
}

/** A system as its own page shows it: the list's view and each of its interfaces, in short. */
export function toSystemDetailView(
  system: SystemRecord,
  interfaces: InterfaceRecord[],
  profile: AuthProfile | undefined,
) {
  return {
    ...toSystemView(system, profile),
    interfaces: interfaces.map((i) => ({
      id: i.id,
      method: i.method,
      path: i.path,
      adapter: i.adapter,
      status: i.status,
      ...(i.statusChange ? { statusChange: changeView(i.statusChange) } : {}),
      href: `/admin/system-interfaces/${i.id}`,
    })),
  };
}

/**
 * An interface as operators read it: every field of its definition (a field the catalog gains later
 * shows without a change here), an asynchronous one's callback settings with their defaults filled in,
 * its mappings by role, its status and its configuration's revision and overrides. `asynchronous`: its
 * system answers on a callback (an asynchronous custom adapter's too: catalog.ts, isAsynchronousInterface).
 */
export function toInterfaceView(iface: InterfaceRecord, asynchronous = isAsyncAdapter(iface.adapter)) {
  const {
    id,
    system,
    status,
    statusChange,
    requestMapping,
    responseMapping,
    asyncResponseMapping,
    revision,
    overrides,
    seededAt,
    updatedAt,
    ...fields
  } = iface;
  return {
    id,
    system: { id: system, href: `/admin/systems/${system}` },
    ...fields,
    status,
    ...(statusChange ? { statusChange: changeView(statusChange) } : {}),
    ...(asynchronous
      ? {
          acceptedStatuses: iface.acceptedStatuses ?? [202],
          asyncTimeoutSeconds: iface.asyncTimeoutSeconds ?? DEFAULT_ASYNC_TIMEOUT_SECONDS,
          callbackAuth: iface.callbackAuth ?? 'url-proof',
        }
      : {}),
    mappings: {
      ...(requestMapping ? { request: requestMapping } : {}),
      ...(responseMapping ? { response: responseMapping } : {}),
      ...(asyncResponseMapping ? { asyncResponse: asyncResponseMapping } : {}),
    },
    revision,
    overrides,
    seededAt,
    updatedAt,
    href: `/admin/system-interfaces/${id}`,
  };
}

/** A change without what is internal to it: each kind of change keeps its own fields (Omit of a union would not). */
type Shown<T> = T extends unknown ? Omit<T, 'id' | 'follows'> : never;

/** A change as operators read it (its id, and the id of the change it ended, are internal). */
export function changeView<T extends AvailabilityChange | ConfigurationChange>(change: T): Shown<T> {
  const { id: _id, follows: _follows, ...rest } = change as T & { follows?: string };
  return rest as Shown<T>;
}

function authProfileView(profile: AuthProfile) {
  switch (profile.type) {
    case 'api-key':
      return { id: profile.id, type: profile.type, header: profile.header };
    case 'oauth2-client-credentials':
      return {
        id: profile.id,
        type: profile.type,
        tokenUrl: profile.tokenUrl,
        ...(profile.scope ? { scope: profile.scope } : {}),
      };
    default:
      return { id: profile.id, type: profile.type };
  }
}
