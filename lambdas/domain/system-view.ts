import type { InterfaceRecord, SystemRecord } from '../ports/configuration-store';
import type { AuthProfile } from './auth-profile';
import type { AvailabilityChange } from './availability';

/**
 * How the admin API shows systems and interfaces. An auth profile shows its id and type (and an OAuth2
 * token URL and scope): the credentials are in a secret and never leave it through the API.
 */
export function toSystemView(
  system: SystemRecord,
  interfaces: InterfaceRecord[] | undefined,
  profile: AuthProfile | undefined,
) {
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
        : { type: 'none' },
    limits: system.limits,
    ...(system.circuitBreaker
      ? {
          circuitBreaker: {
            ...system.circuitBreaker,
            consecutiveFailures: system.consecutiveFailures ?? 0,
          },
        }
      : {}),
    ...(interfaces
      ? {
          interfaces: interfaces.map((i) => ({
            id: i.id,
            method: i.method,
            path: i.path,
            adapter: i.adapter,
            status: i.status,
            ...(i.statusChange ? { statusChange: changeView(i.statusChange) } : {}),
            href: `/admin/system-interfaces/${i.id}`,
          })),
        }
      : {}),
    seededAt: system.seededAt,
    updatedAt: system.updatedAt,
    href: `/admin/systems/${system.id}`,
  };
}

/** `asynchronous`: its system answers on a callback (catalog.ts: isAsynchronousInterface), so it shows how callbacks prove themselves. */
export function toInterfaceView(iface: InterfaceRecord, asynchronous = iface.adapter === 'async-rest') {
  return {
    id: iface.id,
    system: { id: iface.system, href: `/admin/systems/${iface.system}` },
    method: iface.method,
    path: iface.path,
    adapter: iface.adapter,
    status: iface.status,
    ...(iface.statusChange ? { statusChange: changeView(iface.statusChange) } : {}),
    timeoutSeconds: iface.timeoutSeconds,
    ...(asynchronous ? { callbackAuth: iface.callbackAuth ?? 'url-proof' } : {}),
    mappings: {
      ...(iface.requestMapping ? { request: iface.requestMapping } : {}),
      ...(iface.responseMapping ? { response: iface.responseMapping } : {}),
      ...(iface.asyncResponseMapping ? { asyncResponse: iface.asyncResponseMapping } : {}),
    },
    seededAt: iface.seededAt,
    updatedAt: iface.updatedAt,
    href: `/admin/system-interfaces/${iface.id}`,
  };
}

/** A change as operators read it (its id, and the id of the change it ended, are internal). */
export function changeView(change: AvailabilityChange) {
  const { id: _id, follows: _follows, ...rest } = change;
  return rest;
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
