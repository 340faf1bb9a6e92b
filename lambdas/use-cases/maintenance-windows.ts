import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AUTOMATIC_ACTORS } from '../domain/availability';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import type { Actor } from '../domain/roles';
import type { MaintenanceWindow } from '../ports/configuration-store';
import type { MaintenanceScheduler, MaintenanceWindowEvent } from '../ports/maintenance-scheduler';
import { parseWith } from '../shared/http';
import { type AvailabilityDeps, changeSystemState } from './change-availability';

export interface MaintenanceDeps extends AvailabilityDeps {
  scheduler: MaintenanceScheduler;
}

/** The longest window an operator may plan, and how far ahead. */
const MAX_WINDOW_DAYS = 31;
const MAX_AHEAD_DAYS = 366;
const DAY_MS = 24 * 3600 * 1000;

/** POST /admin/systems/{systemId}/maintenance-windows */
export const maintenanceWindowRequestSchema = z
  .object({
    start: z.iso.datetime({ offset: true }),
    end: z.iso.datetime({ offset: true }),
    reason: z.string().trim().min(1, 'is required: say why').max(500),
  })
  .strict();

/**
 * Plans a window: the system goes Down at `start` and comes back Up at `end`, by itself. A window that
 * has begun already starts now. Windows of one system never overlap.
 */
export async function planMaintenanceWindow(
  deps: MaintenanceDeps,
  systemId: string,
  body: unknown,
  by: Actor,
): Promise<MaintenanceWindow> {
  const request = parseWith(maintenanceWindowRequestSchema, body);
  const now = deps.now();
  const start = new Date(request.start);
  const end = new Date(request.end);
  if (end <= start) throw new ValidationError([{ field: 'end', message: 'must be after start' }]);
  if (end <= now) throw new ValidationError([{ field: 'end', message: 'is in the past' }]);
  if (end.getTime() - start.getTime() > MAX_WINDOW_DAYS * DAY_MS) {
    throw new ValidationError([{ field: 'end', message: `a window lasts at most ${MAX_WINDOW_DAYS} days` }]);
  }
  if (start.getTime() - now.getTime() > MAX_AHEAD_DAYS * DAY_MS) {
    throw new ValidationError([
      { field: 'start', message: `a window is planned at most ${MAX_AHEAD_DAYS} days ahead` },
    ]);
  }
  if (!(await deps.config.getSystem(systemId))) throw new NotFoundError(`no system with id "${systemId}"`);
  const window: MaintenanceWindow = {
    id: randomBytes(6).toString('hex'),
    systemId,
    start: start.toISOString(),
    end: end.toISOString(),
    reason: request.reason,
    createdBy: by,
    createdAt: now.toISOString(),
  };
  const added = await deps.config.addMaintenanceWindow(window);
  if (!added.added) {
    throw new ConflictError(
      `the window overlaps window ${added.overlaps.id} (${added.overlaps.start} to ${added.overlaps.end})`,
    );
  }
  // The end first: a window that starts must always come to its end.
  await deps.scheduler.schedule(phaseOf(window, 'end'), end);
  if (start <= now) await runMaintenancePhase(deps, phaseOf(window, 'start'));
  else await deps.scheduler.schedule(phaseOf(window, 'start'), start);
  return (await deps.config.getMaintenanceWindow(systemId, window.id)) ?? window;
}

/**
 * Cancels a window: its schedules go, and a window under way ends now (bringing the system back Up if
 * the window had taken it Down).
 */
export async function cancelMaintenanceWindow(
  deps: MaintenanceDeps,
  systemId: string,
  windowId: string,
): Promise<MaintenanceWindow> {
  const window = await deps.config.getMaintenanceWindow(systemId, windowId);
  if (!window) throw new NotFoundError(`system "${systemId}" has no maintenance window "${windowId}"`);
  await deps.scheduler.unschedule(phaseOf(window, 'start'));
  await deps.scheduler.unschedule(phaseOf(window, 'end'));
  if (window.startedAt && !window.endedAt)
    await runMaintenancePhase(deps, phaseOf(window, 'end'), 'cancelled');
  await deps.config.removeMaintenanceWindow(systemId, windowId);
  return window;
}

/**
 * A window's schedule came due. Start: the system goes Down (unless it is Down already, which the window
 * then leaves as it is). End: it comes back Up only if the Down is still this window's — an operator who
 * changed the state meanwhile has the last word. Each phase takes effect once, however often it is
 * delivered, and a start delivered after its window's end does nothing.
 */
export async function runMaintenancePhase(
  deps: AvailabilityDeps,
  event: MaintenanceWindowEvent,
  how: 'cancelled' | 'scheduled' = 'scheduled',
): Promise<void> {
  const window = await deps.config.getMaintenanceWindow(event.systemId, event.windowId);
  if (!window) return; // cancelled meanwhile
  const now = deps.now();
  const phase = event.phase === 'start' ? 'startedAt' : 'endedAt';
  if (window[phase]) return; // delivered again after it ran
  // A start delivered late (the scheduler retries for an hour) must not take the system Down for good.
  if (event.phase === 'start' && (window.endedAt || now >= new Date(window.end))) return;
  const request = {
    by: AUTOMATIC_ACTORS.maintenance,
    cause: 'maintenance' as const,
    windowId: window.id,
  };
  if (event.phase === 'start') {
    const reason = `maintenance window ${window.id} (until ${window.end}): ${window.reason}`;
    const result = await changeSystemState(deps, window.systemId, 'Down', { ...request, reason });
    const previous = result?.system.stateChange;
    if (result && !result.changed && previous?.cause === 'maintenance' && previous.windowId !== window.id) {
      // Down still from an earlier window whose end has not run (a late delivery): this window takes
      // the Down over, so that the earlier end does not bring the system Up in the middle of this one.
      await deps.config.setSystemState(
        window.systemId,
        'Down',
        {
          ...request,
          reason: `${reason} (takes over from window ${previous.windowId})`,
          at: now.toISOString(),
        },
        { cause: 'maintenance', takeOver: true },
      );
    }
  } else {
    await changeSystemState(
      deps,
      window.systemId,
      'Up',
      {
        ...request,
        reason: `maintenance window ${window.id} ${how === 'cancelled' ? 'cancelled' : 'ended'}`,
      },
      { cause: 'maintenance', windowId: window.id },
    );
  }
  // Marked after the change: a phase that failed half-way is retried whole (the change is idempotent).
  await deps.config.markMaintenanceWindow(event.systemId, event.windowId, phase, now.toISOString());
}

const phaseOf = (window: MaintenanceWindow, phase: 'start' | 'end'): MaintenanceWindowEvent => ({
  systemId: window.systemId,
  windowId: window.id,
  phase,
});
