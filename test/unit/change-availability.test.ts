import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUTOMATIC_ACTORS } from '../../lambdas/domain/availability';
import type { Actor } from '../../lambdas/domain/roles';
import {
  type AvailabilityDeps,
  changeInterfaceStatus,
  changeSystemState,
} from '../../lambdas/use-cases/change-availability';
import { dslCatalog } from './fixtures/catalogs';
import { InMemoryConfigurationStore } from './fixtures/configuration';
import { RecordingAvailabilityEvents } from './fixtures/fake-ports';

const OPERATOR: Actor = { id: 'u-op', name: 'olga' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The DSL catalog's systems (inventory, activation) as seeded, a bus that records, and a clock set by hand. */
function setup() {
  const config = InMemoryConfigurationStore.seededFrom(dslCatalog());
  const events = new RecordingAvailabilityEvents();
  const clock = { at: '2025-03-01T12:00:00.000Z' };
  const deps: AvailabilityDeps = { config, events, now: () => new Date(clock.at) };
  return { deps, config, events, clock };
}

const byOperator = (reason: string) => ({ by: OPERATOR, reason, cause: 'operator' as const });

describe('changeSystemState', () => {
  it('takes an Up system Down, keeps who, when and why, and announces it unavailable', async () => {
    // Prepare
    const { deps, config, events } = setup();

    // Act
    const result = await changeSystemState(deps, 'inventory', 'Down', byOperator('disk full'));

    // Assess
    assert.ok(result);
    assert.equal(result.changed, true);
    assert.equal(result.system.state, 'Down');
    const change = result.system.stateChange;
    assert.ok(change);
    assert.deepEqual(
      { ...change, id: undefined },
      {
        id: undefined,
        at: '2025-03-01T12:00:00.000Z',
        by: OPERATOR,
        reason: 'disk full',
        cause: 'operator',
        from: 'Up',
        to: 'Down',
      },
    );
    assert.deepEqual(events.announced, [
      { type: 'unavailable', event: { systemId: 'inventory', reason: 'disk full', change } },
    ]);
    assert.deepEqual(await config.history('system', 'inventory', 10), [change]);
  });

  it('announces nothing and keeps no history for a Down on a system that is Down already', async () => {
    // Prepare
    const { deps, config, events, clock } = setup();
    await changeSystemState(deps, 'inventory', 'Down', byOperator('disk full'));
    clock.at = '2025-03-01T12:05:00.000Z';

    // Act
    const result = await changeSystemState(deps, 'inventory', 'Down', byOperator('still full'));

    // Assess
    assert.equal(result?.changed, false);
    assert.equal(result?.system.stateChange?.reason, 'disk full', 'the first Down stays the reason');
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable'],
    );
    assert.equal((await config.history('system', 'inventory', 10)).length, 1);
  });

  it('brings a Down system Up and announces it available with a fresh release id each time', async () => {
    // Prepare
    const { deps, events, clock } = setup();
    await changeSystemState(deps, 'inventory', 'Down', byOperator('disk full'));

    // Act: Up, Down and Up again.
    clock.at = '2025-03-01T12:10:00.000Z';
    const first = await changeSystemState(deps, 'inventory', 'Up', byOperator('disk replaced'));
    await changeSystemState(deps, 'inventory', 'Down', byOperator('again'));
    clock.at = '2025-03-01T12:20:00.000Z';
    const second = await changeSystemState(deps, 'inventory', 'Up', byOperator('fixed'));

    // Assess
    assert.equal(first?.changed, true);
    assert.equal(second?.changed, true);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available', 'unavailable', 'available'],
    );
    const [firstUp, secondUp] = events.announced
      .filter((a) => a.type === 'available')
      .map((a) => ('event' in a ? a.event : undefined));
    assert.ok(firstUp && secondUp);
    assert.deepEqual(firstUp, {
      systemId: 'inventory',
      reason: 'disk replaced',
      change: first?.system.stateChange,
      releaseId: firstUp.releaseId,
    });
    assert.equal(firstUp.change?.from, 'Down');
    assert.equal(firstUp.change?.to, 'Up');
    assert.equal(firstUp.change?.at, '2025-03-01T12:10:00.000Z');
    assert.deepEqual(secondUp, {
      systemId: 'inventory',
      reason: 'fixed',
      change: second?.system.stateChange,
      releaseId: secondUp.releaseId,
    });
    assert.match(String(firstUp.releaseId), UUID);
    assert.match(String(secondUp.releaseId), UUID);
    assert.notEqual(firstUp.releaseId, secondUp.releaseId, 'each Up starts its own release');
  });

  it("announces again, with a fresh release id and no history entry, an operator's Up for a system that is Up", async () => {
    // Prepare
    const { deps, config, events } = setup();

    // Act: twice, on a system that was never changed.
    const first = await changeSystemState(deps, 'inventory', 'Up', byOperator('release what is held'));
    const second = await changeSystemState(deps, 'inventory', 'Up', byOperator('once more'));

    // Assess
    assert.equal(first?.changed, false);
    assert.equal(second?.changed, false);
    assert.equal(first?.system.stateChange, undefined);
    assert.equal(events.announced.length, 2);
    const releaseIds = events.announced.map((a) => {
      assert.equal(a.type, 'available');
      assert.ok('event' in a);
      assert.deepEqual(
        Object.keys(a.event).sort(),
        ['reason', 'releaseId', 'systemId'],
        'no change to announce',
      );
      assert.equal(a.event.systemId, 'inventory');
      assert.match(String(a.event.releaseId), UUID);
      return a.event.releaseId;
    });
    assert.deepEqual(
      events.announced.map((a) => ('event' in a ? a.event.reason : undefined)),
      ['release what is held', 'once more'],
      "each carries its operator's reason",
    );
    assert.notEqual(releaseIds[0], releaseIds[1]);
    assert.deepEqual(await config.history('system', 'inventory', 10), []);
  });

  it("announces an operator's repeated Up with the new reason and without the change it did not make", async () => {
    // Prepare: Down, then Up by an operator.
    const { deps, config, events, clock } = setup();
    await changeSystemState(deps, 'inventory', 'Down', byOperator('disk full'));
    clock.at = '2025-03-01T12:10:00.000Z';
    const up = await changeSystemState(deps, 'inventory', 'Up', byOperator('disk replaced'));
    clock.at = '2025-03-01T12:20:00.000Z';

    // Act
    const again = await changeSystemState(deps, 'inventory', 'Up', byOperator('the release event was lost'));

    // Assess
    assert.equal(again?.changed, false);
    assert.deepEqual(again?.system.stateChange, up?.system.stateChange, 'the last change stays the Up');
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available', 'available'],
    );
    const last = events.announced[2];
    assert.ok(last && 'event' in last);
    assert.deepEqual(last.event, {
      systemId: 'inventory',
      reason: 'the release event was lost',
      releaseId: last.event.releaseId,
    });
    assert.match(String(last.event.releaseId), UUID);
    const previous = events.announced[1];
    assert.ok(previous && 'event' in previous);
    assert.notEqual(last.event.releaseId, previous.event.releaseId);
    assert.equal((await config.history('system', 'inventory', 10)).length, 2);
  });

  for (const cause of ['maintenance', 'circuit-breaker'] as const) {
    it(`announces nothing for an automatic (${cause}) Up of a system that was never changed`, async () => {
      // Prepare
      const { deps, events } = setup();

      // Act
      const result = await changeSystemState(
        deps,
        'inventory',
        'Up',
        { by: AUTOMATIC_ACTORS[cause], reason: 'automatic', cause },
        { cause },
      );

      // Assess
      assert.equal(result?.changed, false);
      assert.deepEqual(events.announced, []);
    });
  }

  it('announces again, without a change, a retried maintenance Up of the same window', async () => {
    // Prepare: window w-1 took the system Down and its end brought it Up.
    const { deps, config, events, clock } = setup();
    const window = { by: AUTOMATIC_ACTORS.maintenance, cause: 'maintenance' as const, windowId: 'w-1' };
    await changeSystemState(deps, 'inventory', 'Down', { ...window, reason: 'window w-1' });
    clock.at = '2025-03-01T14:00:00.000Z';
    const up = await changeSystemState(
      deps,
      'inventory',
      'Up',
      { ...window, reason: 'maintenance window w-1 ended' },
      { cause: 'maintenance', windowId: 'w-1' },
    );
    clock.at = '2025-03-01T14:01:00.000Z';

    // Act: the end delivered again.
    const retried = await changeSystemState(
      deps,
      'inventory',
      'Up',
      { ...window, reason: 'maintenance window w-1 ended' },
      { cause: 'maintenance', windowId: 'w-1' },
    );

    // Assess
    assert.equal(retried?.changed, false);
    assert.deepEqual(retried?.system.stateChange, up?.system.stateChange);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available', 'available'],
    );
    const [, first, second] = events.announced;
    assert.ok(first && 'event' in first && second && 'event' in second);
    assert.deepEqual(first.event, {
      systemId: 'inventory',
      reason: 'maintenance window w-1 ended',
      change: up?.system.stateChange,
      releaseId: first.event.releaseId,
    });
    assert.deepEqual(second.event, {
      systemId: 'inventory',
      reason: 'maintenance window w-1 ended',
      releaseId: second.event.releaseId,
    });
    assert.match(String(second.event.releaseId), UUID);
    assert.notEqual(second.event.releaseId, first.event.releaseId);
    assert.equal((await config.history('system', 'inventory', 10)).length, 2);
  });

  it('announces again a retried circuit-breaker Up after the breaker brought the system Up', async () => {
    // Prepare
    const { deps, events } = setup();
    const breaker = { by: AUTOMATIC_ACTORS['circuit-breaker'], cause: 'circuit-breaker' as const };
    await changeSystemState(deps, 'inventory', 'Down', { ...breaker, reason: '5 timeouts in a row' });
    const guard = { cause: 'circuit-breaker' as const };
    await changeSystemState(deps, 'inventory', 'Up', { ...breaker, reason: 'probe succeeded' }, guard);

    // Act: the probe's message delivered again.
    const retried = await changeSystemState(
      deps,
      'inventory',
      'Up',
      { ...breaker, reason: 'health probe succeeded' },
      guard,
    );

    // Assess
    assert.equal(retried?.changed, false);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available', 'available'],
    );
    const last = events.announced[2];
    assert.ok(last && 'event' in last);
    assert.deepEqual(last.event, {
      systemId: 'inventory',
      reason: 'health probe succeeded',
      releaseId: last.event.releaseId,
    });
  });

  it("announces nothing for an automatic Up when the system's last Up is another window's or an operator's", async () => {
    // Prepare: window w-1 came and went; then the breaker's Down was ended by an operator.
    const { deps, events } = setup();
    const maintenance = { by: AUTOMATIC_ACTORS.maintenance, cause: 'maintenance' as const };
    await changeSystemState(deps, 'inventory', 'Down', { ...maintenance, windowId: 'w-1', reason: 'w-1' });
    await changeSystemState(
      deps,
      'inventory',
      'Up',
      { ...maintenance, windowId: 'w-1', reason: 'w-1 ended' },
      { cause: 'maintenance', windowId: 'w-1' },
    );
    await changeSystemState(deps, 'activation', 'Down', {
      by: AUTOMATIC_ACTORS['circuit-breaker'],
      cause: 'circuit-breaker',
      reason: '5 timeouts in a row',
    });
    await changeSystemState(deps, 'activation', 'Up', byOperator('checked by hand'));
    events.announced.length = 0;

    // Act: an Up of window w-2 on the inventory, and the breaker's Up on the activation system.
    const otherWindow = await changeSystemState(
      deps,
      'inventory',
      'Up',
      { ...maintenance, windowId: 'w-2', reason: 'w-2 ended' },
      { cause: 'maintenance', windowId: 'w-2' },
    );
    const breaker = await changeSystemState(
      deps,
      'activation',
      'Up',
      { by: AUTOMATIC_ACTORS['circuit-breaker'], cause: 'circuit-breaker', reason: 'probe succeeded' },
      { cause: 'circuit-breaker' },
    );

    // Assess
    assert.equal(otherWindow?.changed, false);
    assert.equal(breaker?.changed, false);
    assert.deepEqual(events.announced, []);
  });

  it("leaves an operator's Down as it is when an automatic Up's guard does not hold, and announces nothing", async () => {
    // Prepare
    const { deps, config, events } = setup();
    await changeSystemState(deps, 'inventory', 'Down', byOperator('planned work'));
    events.announced.length = 0;

    // Act
    const result = await changeSystemState(
      deps,
      'inventory',
      'Up',
      { by: AUTOMATIC_ACTORS['circuit-breaker'], reason: 'probe succeeded', cause: 'circuit-breaker' },
      { cause: 'circuit-breaker' },
    );

    // Assess
    assert.equal(result?.changed, false);
    assert.equal(result?.system.state, 'Down');
    assert.equal(result?.system.stateChange?.cause, 'operator');
    assert.deepEqual(events.announced, []);
    assert.equal((await config.history('system', 'inventory', 10)).length, 1);
  });

  it('brings a system Up when the guard holds, and announces it available', async () => {
    // Prepare: the circuit breaker took it Down.
    const { deps, events, clock } = setup();
    const breaker = { by: AUTOMATIC_ACTORS['circuit-breaker'], cause: 'circuit-breaker' as const };
    await changeSystemState(deps, 'inventory', 'Down', { ...breaker, reason: '5 timeouts in a row' });
    clock.at = '2025-03-01T12:01:00.000Z';

    // Act
    const result = await changeSystemState(
      deps,
      'inventory',
      'Up',
      { ...breaker, reason: 'probe succeeded' },
      { cause: 'circuit-breaker' },
    );

    // Assess
    assert.equal(result?.changed, true);
    assert.equal(result?.system.state, 'Up');
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available'],
    );
    const up = events.announced[1];
    assert.ok(up && 'event' in up);
    assert.deepEqual(up.event, {
      systemId: 'inventory',
      reason: 'probe succeeded',
      change: result?.system.stateChange,
      releaseId: up.event.releaseId,
    });
    assert.equal(up.event.change?.by.id, 'switchboard:circuit-breaker');
    assert.equal(up.event.change?.reason, 'probe succeeded');
    assert.match(String(up.event.releaseId), UUID);
  });

  it('answers undefined for an unknown system and announces nothing', async () => {
    const { deps, events } = setup();

    const down = await changeSystemState(deps, 'no-such-system', 'Down', byOperator('why not'));
    const up = await changeSystemState(deps, 'no-such-system', 'Up', byOperator('why not'));

    assert.equal(down, undefined);
    assert.equal(up, undefined);
    assert.deepEqual(events.announced, []);
  });
});

describe('changeInterfaceStatus', () => {
  it('takes an interface Offline and announces it unavailable with its system', async () => {
    // Prepare
    const { deps, config, events } = setup();

    // Act
    const result = await changeInterfaceStatus(deps, 'reserve-port', 'Offline', byOperator('new release'));

    // Assess
    assert.equal(result?.changed, true);
    assert.equal(result?.iface.status, 'Offline');
    const change = result?.iface.statusChange;
    assert.ok(change);
    assert.deepEqual(
      { ...change, id: undefined },
      {
        id: undefined,
        at: '2025-03-01T12:00:00.000Z',
        by: OPERATOR,
        reason: 'new release',
        cause: 'operator',
        from: 'Online',
        to: 'Offline',
      },
    );
    assert.deepEqual(events.announced, [
      {
        type: 'unavailable',
        event: { systemId: 'inventory', interfaceId: 'reserve-port', reason: 'new release', change },
      },
    ]);
    assert.deepEqual(await config.history('interface', 'reserve-port', 10), [change]);
    assert.equal((await config.getSystem('inventory'))?.state, 'Up', 'the system is untouched');
  });

  it('announces nothing for an Offline on an interface that is Offline already', async () => {
    const { deps, events } = setup();
    await changeInterfaceStatus(deps, 'reserve-port', 'Offline', byOperator('new release'));

    const result = await changeInterfaceStatus(deps, 'reserve-port', 'Offline', byOperator('again'));

    assert.equal(result?.changed, false);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable'],
    );
  });

  it('brings an interface Online and announces it available with its system and a release id', async () => {
    // Prepare
    const { deps, events, clock } = setup();
    await changeInterfaceStatus(deps, 'reserve-port', 'Offline', byOperator('new release'));
    clock.at = '2025-03-01T12:30:00.000Z';

    // Act
    const result = await changeInterfaceStatus(deps, 'reserve-port', 'Online', byOperator('released'));

    // Assess
    assert.equal(result?.changed, true);
    const up = events.announced[1];
    assert.ok(up && 'event' in up);
    assert.equal(up.type, 'available');
    assert.deepEqual(up.event, {
      systemId: 'inventory',
      interfaceId: 'reserve-port',
      reason: 'released',
      change: result?.iface.statusChange,
      releaseId: up.event.releaseId,
    });
    assert.equal(up.event.change?.at, '2025-03-01T12:30:00.000Z');
    assert.match(String(up.event.releaseId), UUID);
  });

  it("announces again an operator's Online for an interface that is Online, and not an automatic one that changed nothing", async () => {
    // Prepare
    const { deps, config, events } = setup();

    // Act
    const byHand = await changeInterfaceStatus(deps, 'port-status', 'Online', byOperator('release it'));
    const automatic = await changeInterfaceStatus(deps, 'port-status', 'Online', {
      by: AUTOMATIC_ACTORS.maintenance,
      reason: 'automatic',
      cause: 'maintenance',
    });

    // Assess
    assert.equal(byHand?.changed, false);
    assert.equal(automatic?.changed, false);
    assert.equal(events.announced.length, 1);
    const [announced] = events.announced;
    assert.ok(announced && 'event' in announced);
    assert.equal(announced.type, 'available');
    assert.deepEqual(announced.event, {
      systemId: 'inventory',
      interfaceId: 'port-status',
      reason: 'release it',
      releaseId: announced.event.releaseId,
    });
    assert.match(String(announced.event.releaseId), UUID);
    assert.deepEqual(await config.history('interface', 'port-status', 10), []);
  });

  it("announces an operator's repeated Online with the new reason and without a change", async () => {
    // Prepare
    const { deps, events } = setup();
    await changeInterfaceStatus(deps, 'reserve-port', 'Offline', byOperator('new release'));
    await changeInterfaceStatus(deps, 'reserve-port', 'Online', byOperator('released'));

    // Act
    const again = await changeInterfaceStatus(deps, 'reserve-port', 'Online', byOperator('once more'));

    // Assess
    assert.equal(again?.changed, false);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available', 'available'],
    );
    const last = events.announced[2];
    assert.ok(last && 'event' in last);
    assert.deepEqual(last.event, {
      systemId: 'inventory',
      interfaceId: 'reserve-port',
      reason: 'once more',
      releaseId: last.event.releaseId,
    });
  });

  it('answers undefined for an unknown interface and announces nothing', async () => {
    const { deps, events } = setup();

    const result = await changeInterfaceStatus(deps, 'no-such-interface', 'Offline', byOperator('why'));

    assert.equal(result, undefined);
    assert.deepEqual(events.announced, []);
  });
});
