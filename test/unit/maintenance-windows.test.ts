import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUTOMATIC_ACTORS } from '../../lambdas/domain/availability';
import type { Actor } from '../../lambdas/domain/roles';
import type { AvailabilityEvent } from '../../lambdas/ports/availability-events';
import type { MaintenanceWindow } from '../../lambdas/ports/configuration-store';
import type { MaintenanceWindowEvent } from '../../lambdas/ports/maintenance-scheduler';
import { changeSystemState } from '../../lambdas/use-cases/change-availability';
import {
  cancelMaintenanceWindow,
  type MaintenanceDeps,
  planMaintenanceWindow,
  runMaintenancePhase,
} from '../../lambdas/use-cases/maintenance-windows';
import { dslCatalog } from './fixtures/catalogs';
import { InMemoryConfigurationStore } from './fixtures/configuration';
import { RecordingAvailabilityEvents, RecordingMaintenanceScheduler } from './fixtures/fake-ports';

const OPERATOR: Actor = { id: 'u-op', name: 'olga' };
const PLANNED_AT = '2025-03-01T10:00:00.000Z';
const START = '2025-03-01T12:00:00.000Z';
const END = '2025-03-01T14:00:00.000Z';

/** The DSL catalog's systems as seeded, a recording bus and scheduler, and a clock set by hand. */
function setup() {
  const config = InMemoryConfigurationStore.seededFrom(dslCatalog());
  const events = new RecordingAvailabilityEvents();
  const scheduler = new RecordingMaintenanceScheduler();
  const clock = { at: PLANNED_AT };
  const deps: MaintenanceDeps = { config, events, scheduler, now: () => new Date(clock.at) };
  return { deps, config, events, scheduler, clock };
}

/** Plans a window of the inventory from START to END, as an operator does ahead of time. */
async function planWindow(deps: MaintenanceDeps): Promise<MaintenanceWindow> {
  return planMaintenanceWindow(deps, 'inventory', { start: START, end: END, reason: 'firmware' }, OPERATOR);
}

const phase = (window: MaintenanceWindow, which: 'start' | 'end'): MaintenanceWindowEvent => ({
  systemId: window.systemId,
  windowId: window.id,
  phase: which,
});

const byOperator = (reason: string) => ({ by: OPERATOR, reason, cause: 'operator' as const });

/** A bus whose next `available` announcement fails once (EventBridge throttled), then records as usual. */
class FailingOnceAvailabilityEvents extends RecordingAvailabilityEvents {
  failures = 0;
  private failNext = true;

  override async available(event: AvailabilityEvent): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      this.failures++;
      throw new Error('EventBridge: ThrottlingException');
    }
    await super.available(event);
  }
}

describe('runMaintenancePhase: start', () => {
  it('takes the system Down by the maintenance window, and records that the window started', async () => {
    // Prepare
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = START;

    // Act
    await runMaintenancePhase(deps, phase(window, 'start'));

    // Assess
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Down');
    const change = system?.stateChange;
    assert.ok(change);
    assert.deepEqual(
      { ...change, id: undefined },
      {
        id: undefined,
        at: START,
        by: AUTOMATIC_ACTORS.maintenance,
        reason: `maintenance window ${window.id} (until ${END}): firmware`,
        cause: 'maintenance',
        windowId: window.id,
        from: 'Up',
        to: 'Down',
      },
    );
    assert.deepEqual(events.announced, [
      { type: 'unavailable', event: { systemId: 'inventory', reason: change.reason, change } },
    ]);
    assert.equal((await config.getMaintenanceWindow('inventory', window.id))?.startedAt, START);
  });

  it('changes nothing when the start is delivered a second time', async () => {
    // Prepare
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    const before = await config.getSystem('inventory');

    // Act
    clock.at = '2025-03-01T12:03:00.000Z';
    await runMaintenancePhase(deps, phase(window, 'start'));

    // Assess
    assert.deepEqual(await config.getSystem('inventory'), before);
    assert.equal((await config.history('system', 'inventory', 10)).length, 1);
    assert.equal(events.announced.length, 1);
    assert.equal((await config.getMaintenanceWindow('inventory', window.id))?.startedAt, START);
  });

  it("leaves an operator's Down as it is, and its end then does not bring the system Up", async () => {
    // Prepare: an operator took the system Down before the window began.
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    await changeSystemState(deps, 'inventory', 'Down', byOperator('disk failure'));
    events.announced.length = 0;

    // Act
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    const during = await config.getSystem('inventory');
    clock.at = END;
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Assess
    for (const system of [during, await config.getSystem('inventory')]) {
      assert.equal(system?.state, 'Down');
      assert.equal(system?.stateChange?.cause, 'operator');
      assert.equal(system?.stateChange?.reason, 'disk failure');
    }
    assert.deepEqual(events.announced, []);
    assert.equal((await config.history('system', 'inventory', 10)).length, 1);
    const ended = await config.getMaintenanceWindow('inventory', window.id);
    assert.equal(ended?.startedAt, START);
    assert.equal(ended?.endedAt, END);
  });

  const late: [string, string][] = [
    ['exactly at its end', END],
    ['after its end', '2025-03-01T14:05:00.000Z'],
  ];
  for (const [when, at] of late) {
    it(`does nothing for a start delivered ${when}: the system stays Up and the window is not started`, async () => {
      // Prepare
      const { deps, config, events, clock } = setup();
      const window = await planWindow(deps);

      // Act: the scheduler retried the start until now.
      clock.at = at;
      await runMaintenancePhase(deps, phase(window, 'start'));

      // Assess
      assert.equal((await config.getSystem('inventory'))?.state, 'Up');
      assert.deepEqual(events.announced, []);
      assert.deepEqual(await config.history('system', 'inventory', 10), []);
      assert.equal((await config.getMaintenanceWindow('inventory', window.id))?.startedAt, undefined);
    });
  }

  it('does nothing for a start delivered after the window ended', async () => {
    // Prepare: the end ran before the start's delivery came through.
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = END;
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Act
    clock.at = '2025-03-01T14:05:00.000Z';
    await runMaintenancePhase(deps, phase(window, 'start'));

    // Assess
    assert.equal((await config.getSystem('inventory'))?.state, 'Up');
    assert.deepEqual(events.announced, []);
    const kept = await config.getMaintenanceWindow('inventory', window.id);
    assert.equal(kept?.startedAt, undefined);
    assert.equal(kept?.endedAt, END);
  });

  it('does nothing for a start delivered after its end ran, even before the planned end', async () => {
    // Prepare: the end was delivered ahead of its time.
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = '2025-03-01T11:59:00.000Z';
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Act
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));

    // Assess
    assert.equal((await config.getSystem('inventory'))?.state, 'Up');
    assert.deepEqual(events.announced, []);
    assert.equal((await config.getMaintenanceWindow('inventory', window.id))?.startedAt, undefined);
  });

  it('still takes the system Down for a start delivered late but before the window ends', async () => {
    const { deps, config, clock } = setup();
    const window = await planWindow(deps);

    clock.at = '2025-03-01T13:59:59.000Z';
    await runMaintenancePhase(deps, phase(window, 'start'));

    assert.equal((await config.getSystem('inventory'))?.state, 'Down');
    assert.equal((await config.getMaintenanceWindow('inventory', window.id))?.startedAt, clock.at);
  });
});

describe('runMaintenancePhase: end', () => {
  it("brings the system back Up when the Down is still the window's, and announces it available", async () => {
    // Prepare
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    const down = (await config.getSystem('inventory'))?.stateChange;
    assert.ok(down);

    // Act
    clock.at = END;
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Assess
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Up');
    assert.deepEqual(
      { ...system?.stateChange, id: undefined },
      {
        id: undefined,
        at: END,
        by: AUTOMATIC_ACTORS.maintenance,
        reason: `maintenance window ${window.id} ended`,
        cause: 'maintenance',
        windowId: window.id,
        from: 'Down',
        to: 'Up',
        follows: down.id,
      },
    );
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available'],
    );
    const up = events.announced[1];
    assert.ok(up && 'event' in up);
    assert.deepEqual(up.event, {
      systemId: 'inventory',
      reason: `maintenance window ${window.id} ended`,
      change: system?.stateChange,
      releaseId: up.event.releaseId,
    });
    assert.equal(typeof up.event.releaseId, 'string');
    assert.equal((await config.getMaintenanceWindow('inventory', window.id))?.endedAt, END);
  });

  it('brings the system Up and announces it when the end is retried after its announcement failed', async () => {
    // Prepare: the window is under way; the bus fails the first announcement of its end.
    const { config, scheduler, clock } = setup();
    const events = new FailingOnceAvailabilityEvents();
    const deps: MaintenanceDeps = { config, events, scheduler, now: () => new Date(clock.at) };
    const window = await planWindow(deps);
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    clock.at = END;
    await assert.rejects(runMaintenancePhase(deps, phase(window, 'end')), /ThrottlingException/);
    assert.equal(events.failures, 1);
    assert.equal((await config.getMaintenanceWindow('inventory', window.id))?.endedAt, undefined);

    // Act: the scheduler delivers the end again.
    clock.at = '2025-03-01T14:01:00.000Z';
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Assess
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Up');
    assert.equal(system?.stateChange?.at, END, 'the Up is the first attempt’s');
    assert.equal((await config.history('system', 'inventory', 10)).length, 2);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available'],
    );
    const up = events.announced[1];
    assert.ok(up && 'event' in up);
    assert.deepEqual(up.event, {
      systemId: 'inventory',
      reason: `maintenance window ${window.id} ended`,
      releaseId: up.event.releaseId,
    });
    assert.equal(typeof up.event.releaseId, 'string');
    assert.equal(
      (await config.getMaintenanceWindow('inventory', window.id))?.endedAt,
      '2025-03-01T14:01:00.000Z',
    );
  });

  it('brings the system Up when the end is retried after the store failed the change', async (t) => {
    // Prepare: the window is under way; the store fails the first attempt to bring the system Up.
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    const setSystemState = config.setSystemState.bind(config);
    let calls = 0;
    t.mock.method(config, 'setSystemState', async (...args: Parameters<typeof setSystemState>) => {
      if (calls++ === 0) throw new Error('DynamoDB: ProvisionedThroughputExceededException');
      return setSystemState(...args);
    });
    clock.at = END;
    await assert.rejects(runMaintenancePhase(deps, phase(window, 'end')), /ProvisionedThroughput/);
    assert.equal((await config.getSystem('inventory'))?.state, 'Down');

    // Act
    clock.at = '2025-03-01T14:01:00.000Z';
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Assess
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Up');
    assert.equal(system?.stateChange?.at, '2025-03-01T14:01:00.000Z');
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available'],
    );
    const up = events.announced[1];
    assert.ok(up && 'event' in up);
    assert.deepEqual(up.event.change, system?.stateChange);
    assert.equal(
      (await config.getMaintenanceWindow('inventory', window.id))?.endedAt,
      '2025-03-01T14:01:00.000Z',
    );
  });

  it('changes nothing when the end is delivered a second time, after an operator took the system Down again', async () => {
    // Prepare: the window ended, then an operator took the system Down.
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    clock.at = END;
    await runMaintenancePhase(deps, phase(window, 'end'));
    await changeSystemState(deps, 'inventory', 'Down', byOperator('another problem'));

    // Act
    clock.at = '2025-03-01T14:10:00.000Z';
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Assess
    assert.equal((await config.getSystem('inventory'))?.state, 'Down');
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available', 'unavailable'],
    );
    assert.equal((await config.getMaintenanceWindow('inventory', window.id))?.endedAt, END);
  });

  it('keeps the system Down when an operator brought it Up and took it Down again during the window', async () => {
    // Prepare
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    clock.at = '2025-03-01T12:30:00.000Z';
    await changeSystemState(deps, 'inventory', 'Up', byOperator('done early'));
    clock.at = '2025-03-01T13:00:00.000Z';
    await changeSystemState(deps, 'inventory', 'Down', byOperator('not done after all'));

    // Act
    clock.at = END;
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Assess
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Down');
    assert.equal(system?.stateChange?.reason, 'not done after all');
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available', 'unavailable'],
      'the end announces nothing',
    );
    assert.equal((await config.history('system', 'inventory', 10)).length, 3);
  });

  it('announces nothing when an operator brought the system Up before the window ended', async () => {
    // Prepare
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    clock.at = '2025-03-01T12:30:00.000Z';
    await changeSystemState(deps, 'inventory', 'Up', byOperator('done early'));

    // Act
    clock.at = END;
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Assess
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Up');
    assert.equal(system?.stateChange?.reason, 'done early');
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available'],
      'one release, the operator’s',
    );
  });
  it("does not end the next window's Down when the previous window's end comes late", async () => {
    // Prepare: window A ran from START, an operator ended it early, and window B, a second after A,
    // began before A's own end was delivered.
    const { deps, config, events, clock } = setup();
    const a = await planWindow(deps);
    const bStart = '2025-03-01T14:00:01.000Z';
    const b = await planMaintenanceWindow(
      deps,
      'inventory',
      { start: bStart, end: '2025-03-01T16:00:00.000Z', reason: 'second part' },
      OPERATOR,
    );
    clock.at = START;
    await runMaintenancePhase(deps, phase(a, 'start'));
    clock.at = '2025-03-01T13:00:00.000Z';
    await changeSystemState(deps, 'inventory', 'Up', byOperator('first part done early'));
    clock.at = bStart;
    await runMaintenancePhase(deps, phase(b, 'start'));

    // Act
    await runMaintenancePhase(deps, phase(a, 'end'));

    // Assess
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Down');
    assert.equal(system?.stateChange?.windowId, b.id);
    assert.deepEqual(
      events.announced.map((e) => e.type),
      ['unavailable', 'available', 'unavailable'],
    );
    assert.equal((await config.getMaintenanceWindow('inventory', a.id))?.endedAt, bStart);
  });

  it("takes over the previous window's Down when that window's end has not run yet, so its late end changes nothing", async () => {
    // Prepare: window A is Down; window B, a second after A, starts before A's end was delivered.
    const { deps, config, events, clock } = setup();
    const a = await planWindow(deps);
    const bStart = '2025-03-01T14:00:01.000Z';
    const bEnd = '2025-03-01T16:00:00.000Z';
    const b = await planMaintenanceWindow(
      deps,
      'inventory',
      { start: bStart, end: bEnd, reason: 'second part' },
      OPERATOR,
    );
    clock.at = START;
    await runMaintenancePhase(deps, phase(a, 'start'));

    // Act: B starts, then A's end comes late.
    clock.at = bStart;
    await runMaintenancePhase(deps, phase(b, 'start'));
    const takenOver = (await config.getSystem('inventory'))?.stateChange;
    clock.at = '2025-03-01T14:00:30.000Z';
    await runMaintenancePhase(deps, phase(a, 'end'));

    // Assess: still Down, by B; the take-over is in the history; nothing was announced but A's Down.
    assert.equal(takenOver?.windowId, b.id);
    assert.equal(takenOver?.from, 'Down');
    assert.equal(takenOver?.to, 'Down');
    assert.match(takenOver?.reason ?? '', new RegExp(`takes over from window ${a.id}`));
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Down');
    assert.equal(system?.stateChange?.id, takenOver?.id);
    assert.deepEqual(
      events.announced.map((e) => e.type),
      ['unavailable'],
    );

    // Act: B ends.
    clock.at = bEnd;
    await runMaintenancePhase(deps, phase(b, 'end'));

    // Assess
    assert.equal((await config.getSystem('inventory'))?.state, 'Up');
    assert.deepEqual(
      events.announced.map((e) => e.type),
      ['unavailable', 'available'],
    );
  });
});

describe('runMaintenancePhase: a removed window', () => {
  it('does nothing for either phase of a window that was cancelled before it began', async () => {
    // Prepare
    const { deps, config, events, scheduler, clock } = setup();
    const window = await planWindow(deps);
    await cancelMaintenanceWindow(deps, 'inventory', window.id);
    assert.equal(scheduler.scheduled.size, 0);

    // Act: schedules delivered anyway (they were on their way).
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    clock.at = END;
    await runMaintenancePhase(deps, phase(window, 'end'));

    // Assess
    assert.equal((await config.getSystem('inventory'))?.state, 'Up');
    assert.deepEqual(events.announced, []);
    assert.deepEqual(await config.history('system', 'inventory', 10), []);
    assert.deepEqual(await config.maintenanceWindows('inventory'), []);
  });

  it('does nothing for a window id the system never had', async () => {
    const { deps, config, events } = setup();

    await runMaintenancePhase(deps, { systemId: 'inventory', windowId: 'no-such-window', phase: 'start' });

    assert.equal((await config.getSystem('inventory'))?.state, 'Up');
    assert.deepEqual(events.announced, []);
  });

  it('leaves the system Up when the start of a window cancelled during its course is delivered again', async () => {
    // Prepare: the window began, then was cancelled (which ends it).
    const { deps, config, events, clock } = setup();
    const window = await planWindow(deps);
    clock.at = START;
    await runMaintenancePhase(deps, phase(window, 'start'));
    clock.at = '2025-03-01T12:20:00.000Z';
    await cancelMaintenanceWindow(deps, 'inventory', window.id);
    assert.equal((await config.getSystem('inventory'))?.state, 'Up');

    // Act
    clock.at = '2025-03-01T12:21:00.000Z';
    await runMaintenancePhase(deps, phase(window, 'start'));

    // Assess
    assert.equal((await config.getSystem('inventory'))?.state, 'Up');
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available'],
    );
    assert.equal(
      (await config.getSystem('inventory'))?.stateChange?.reason,
      `maintenance window ${window.id} cancelled`,
    );
  });
});
