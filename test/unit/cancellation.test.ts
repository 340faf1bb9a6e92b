import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  assessCancellation,
  compensationItems,
  compensationKeyOf,
  type PlanItemOf,
  settling,
} from '../../lambdas/domain/cancellation';
import { ITEM_STATES, type ItemRecord, type ItemState } from '../../lambdas/domain/orchestration';

/** An item of the DSL plan, in a state. */
const item = (
  id: string,
  state: ItemState,
  dependsOn: string[] = [],
  started = state !== 'Pending',
): ItemRecord => ({
  orderId: 'o-1',
  key: `dsl.${id}.1`,
  planId: 'dsl',
  planItemId: id,
  lineId: '1',
  type: 'callout',
  dependsOn: dependsOn.map((d) => `dsl.${d}.1`),
  state,
  ...(started ? { startedAt: '2026-12-06T10:00:01.000Z' } : {}),
  createdAt: '2026-12-06T10:00:00.000Z',
  updatedAt: '2026-12-06T10:00:00.000Z',
});

const AT = '2026-12-06T11:00:00.000Z';
/** The compensations of the completed items an assessment compensates, as the use case writes them. */
const compensationsOf = (items: ItemRecord[], plan: PlanItemOf) => {
  const assessment = assessCancellation(items, plan);
  assert.equal(assessment.kind, 'cancel');
  return compensationItems(items, new Set(assessment.compensate), plan, 'for cancellation c-1', AT);
};

/** The DSL plan's points of no return and compensations, as the demo catalog declares them. */
const DSL: Record<string, ReturnType<PlanItemOf>> = {
  'reserve-port': { pointOfNoReturn: false, compensation: { interface: 'inventory-release-port' } },
  'activate-line': { pointOfNoReturn: false, compensation: { interface: 'activation-deactivate-line' } },
  'book-installation': { pointOfNoReturn: false },
  'start-billing': { pointOfNoReturn: true, compensation: { interface: 'billing-stop-charging' } },
};
const dslPlan: PlanItemOf = (i) => DSL[i.planItemId];

const dslOrder = (states: Record<string, ItemState>) => [
  item('reserve-port', states['reserve-port'] ?? 'Pending'),
  item('activate-line', states['activate-line'] ?? 'Pending', ['reserve-port']),
  item('book-installation', states['book-installation'] ?? 'Pending', ['reserve-port']),
  item('start-billing', states['start-billing'] ?? 'Pending', ['activate-line']),
];

describe('assessing a cancellation', () => {
  it('discards every item of an order nothing has run for yet', () => {
    assert.deepEqual(assessCancellation(dslOrder({}), dslPlan), {
      kind: 'cancel',
      discard: [
        'dsl.activate-line.1',
        'dsl.book-installation.1',
        'dsl.reserve-port.1',
        'dsl.start-billing.1',
      ],
      freeze: [],
      compensate: [],
      left: [],
    });
  });

  it('after the reservation: releases the port, discards the rest', () => {
    const assessment = assessCancellation(dslOrder({ 'reserve-port': 'Completed' }), dslPlan);

    assert.equal(assessment.kind, 'cancel');
    assert.deepEqual(assessment.compensate, ['dsl.reserve-port.1']);
    assert.deepEqual(assessment.discard, [
      'dsl.activate-line.1',
      'dsl.book-installation.1',
      'dsl.start-billing.1',
    ]);
    const [release, ...more] = compensationsOf(dslOrder({ 'reserve-port': 'Completed' }), dslPlan);
    assert.deepEqual(more, []);
    assert.deepEqual(release, {
      orderId: 'o-1',
      key: 'dsl.reserve-port.1.undo',
      planId: 'dsl',
      planItemId: 'reserve-port',
      lineId: '1',
      type: 'callout',
      interfaceId: 'inventory-release-port',
      dependsOn: [],
      compensates: 'dsl.reserve-port.1',
      state: 'Pending',
      version: 1,
      recent: [{ at: AT, state: 'Pending', reason: 'compensates dsl.reserve-port.1 for cancellation c-1' }],
      createdAt: AT,
      updatedAt: AT,
    });
  });

  it('while activation waits for its callback: freezes it, releases the port, leaves the booking', () => {
    const assessment = assessCancellation(
      dslOrder({ 'reserve-port': 'Completed', 'activate-line': 'Running', 'book-installation': 'Completed' }),
      dslPlan,
    );

    assert.equal(assessment.kind, 'cancel');
    assert.deepEqual(assessment.freeze, ['dsl.activate-line.1']);
    assert.deepEqual(assessment.compensate, ['dsl.reserve-port.1']);
    assert.deepEqual(assessment.left, ['dsl.book-installation.1'], 'the booking declares no compensation');
    assert.deepEqual(assessment.discard, ['dsl.start-billing.1']);
  });

  it('freezes a polled wait held On Hold (its system accepted the work), and discards one held before it was sent', () => {
    const held = {
      ...item('activate-line', 'OnHold'),
      awaiting: { since: AT, deadline: AT, poll: { path: '/jobs/J-1' } },
    };
    const before = item('activate-line', 'OnHold');

    const accepted = assessCancellation([item('reserve-port', 'Completed'), held], dslPlan);
    const unsent = assessCancellation([item('reserve-port', 'Completed'), before], dslPlan);

    assert.deepEqual(accepted.kind === 'cancel' && accepted.freeze, ['dsl.activate-line.1']);
    assert.deepEqual(unsent.kind === 'cancel' && unsent.discard, ['dsl.activate-line.1']);
  });

  it('switches the line off before it releases the port', () => {
    const compensations = compensationsOf(
      dslOrder({
        'reserve-port': 'Completed',
        'activate-line': 'Completed',
        'book-installation': 'Completed',
      }),
      dslPlan,
    );

    assert.deepEqual(
      compensations.map((c) => [c.key, c.interfaceId, c.dependsOn]),
      [
        ['dsl.activate-line.1.undo', 'activation-deactivate-line', []],
        ['dsl.reserve-port.1.undo', 'inventory-release-port', ['dsl.activate-line.1.undo']],
      ],
    );
  });

  it('refuses once billing, a point of no return, has started, naming it', () => {
    const assessment = assessCancellation(
      dslOrder({ 'reserve-port': 'Completed', 'activate-line': 'Completed', 'start-billing': 'Running' }),
      dslPlan,
    );

    assert.deepEqual(assessment, {
      kind: 'refused',
      itemKey: 'dsl.start-billing.1',
      reason:
        'item dsl.start-billing.1 is a point of no return and has started (it is Running): the order can no longer be cancelled',
    });
  });

  it('refuses once billing has completed, and once it has tried and waits for a retry', () => {
    const completed = assessCancellation(
      dslOrder({ 'reserve-port': 'Completed', 'activate-line': 'Completed', 'start-billing': 'Completed' }),
      dslPlan,
    );
    assert.equal(completed.kind === 'refused' && completed.reason.includes('has completed'), true);
    const retrying = assessCancellation(
      dslOrder({ 'reserve-port': 'Completed', 'activate-line': 'Completed', 'start-billing': 'Failed' }),
      dslPlan,
    );
    assert.equal(retrying.kind, 'refused', 'its system may have acted on the attempt that failed');
  });

  it('leaves the compensations a cancellation added out of its assessment', () => {
    const items = dslOrder({ 'reserve-port': 'Compensating' });
    const undo = {
      ...item('reserve-port', 'Running'),
      key: compensationKeyOf(items[0]?.key ?? ''),
      compensates: items[0]?.key ?? '',
    };

    const assessment = assessCancellation([...items, undo], dslPlan);

    assert.equal(assessment.kind, 'cancel');
    assert.deepEqual(assessment.freeze, [], 'the compensation runs on');
  });

  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  /** Any order of up to six items, each depending only on items before it (a DAG), in any states. */
  const anyOrder = fc
    .array(
      fc.record({
        state: fc.constantFrom(...ITEM_STATES),
        started: fc.boolean(),
        dependsOn: fc.subarray(ids),
        pointOfNoReturn: fc.boolean(),
        compensated: fc.boolean(),
      }),
      { minLength: 1, maxLength: ids.length },
    )
    .map((specs) => {
      const items = specs.map((spec, i) =>
        item(
          ids[i] ?? '',
          spec.state,
          spec.dependsOn.filter((d) => ids.indexOf(d) < i),
          spec.state !== 'Pending' &&
            (spec.started || spec.state === 'Running' || spec.state === 'Completed'),
        ),
      );
      const plan: PlanItemOf = (it) => {
        const spec = specs[ids.indexOf(it.planItemId)];
        return spec
          ? {
              pointOfNoReturn: spec.pointOfNoReturn,
              ...(spec.compensated ? { compensation: { interface: 'undo' } } : {}),
            }
          : undefined;
      };
      return { items, plan };
    });

  it('refuses exactly when a point of no return has started', () => {
    fc.assert(
      fc.property(anyOrder, ({ items, plan }) => {
        const refused = assessCancellation(items, plan).kind === 'refused';
        const past = items.some((i) => i.startedAt !== undefined && plan(i)?.pointOfNoReturn === true);
        assert.equal(refused, past);
      }),
    );
  });

  it('gives every item one fate at most, and each its own', () => {
    fc.assert(
      fc.property(anyOrder, ({ items, plan }) => {
        const assessment = assessCancellation(items, plan);
        if (assessment.kind === 'refused') return;
        const fates = [
          ...assessment.discard,
          ...assessment.freeze,
          ...assessment.compensate,
          ...assessment.left,
        ];
        assert.equal(new Set(fates).size, fates.length, 'no item has two fates');
        for (const i of items) {
          const fate: string = assessment.discard.includes(i.key)
            ? 'discard'
            : assessment.freeze.includes(i.key)
              ? 'freeze'
              : assessment.compensate.includes(i.key)
                ? 'compensate'
                : assessment.left.includes(i.key)
                  ? 'left'
                  : 'nothing';
          const notActed = ['Pending', 'OnHold', 'Failed', 'FatallyFailed'].includes(i.state);
          const expected =
            i.state === 'Running'
              ? 'freeze'
              : i.state === 'Completed'
                ? plan(i)?.compensation
                  ? 'compensate'
                  : 'left'
                : notActed
                  ? 'discard'
                  : 'nothing';
          assert.equal(fate, expected, `${i.key} (${i.state})`);
        }
      }),
    );
  });

  it('orders compensations so that every one can run, each after all that depend on it', () => {
    fc.assert(
      fc.property(anyOrder, ({ items, plan }) => {
        const assessment = assessCancellation(items, plan);
        if (assessment.kind === 'refused') return;
        const compensations = compensationItems(
          items,
          new Set(assessment.compensate),
          plan,
          'for cancellation c-1',
          AT,
        );
        assert.deepEqual(
          compensations.map((c) => c.compensates),
          assessment.compensate,
          'one compensation for each item compensated',
        );
        const done: string[] = [];
        let pending = compensations;
        while (pending.length > 0) {
          const ready = pending.filter((c) => c.dependsOn.every((key) => done.includes(key)));
          assert.ok(ready.length > 0, 'no compensation waits for ever');
          done.push(...ready.map((c) => c.key));
          pending = pending.filter((c) => !ready.includes(c));
        }
        // An item's compensation comes after that of every compensated item depending on it, directly or not.
        const byKey = new Map(items.map((i) => [i.key, i]));
        const dependsOnTransitively = (from: string, on: string): boolean =>
          (byKey.get(from)?.dependsOn ?? []).some((d) => d === on || dependsOnTransitively(d, on));
        for (const a of compensations)
          for (const b of compensations)
            if (dependsOnTransitively(a.compensates ?? '', b.compensates ?? ''))
              assert.ok(done.indexOf(a.key) < done.indexOf(b.key), `${a.key} before ${b.key}`);
      }),
    );
  });
});

describe('a frozen item settling', () => {
  const undoable = { compensation: { interface: 'undo' } };
  const NOW = new Date('2026-12-06T12:00:00.000Z');
  const until = { frozenUntil: '2026-12-06T12:05:00.000Z' };

  it('by its late answer: discarded when its system did not act, undone or kept when it did', () => {
    assert.deepEqual(settling({ ...until, lateAnswer: 'notActed' }, undoable, NOW), {
      event: 'settle',
      reason: 'its late answer says its system did not act',
    });
    assert.equal(
      (settling({ ...until, lateAnswer: 'acted' }, undoable, NOW) as { event: string }).event,
      'compensate',
    );
    assert.equal(
      (settling({ ...until, lateAnswer: 'acted' }, {}, NOW) as { event: string }).event,
      'settleActed',
    );
  });

  it('without an answer: waits until its wait ends, then is undone if it can be, or stays frozen', () => {
    assert.deepEqual(settling(until, undoable, NOW), { waitsUntil: until.frozenUntil });
    const later = new Date('2026-12-06T12:05:00.000Z');
    const undone = settling(until, undoable, later);
    assert.equal((undone as { event: string }).event, 'compensate');
    assert.match(
      (undone as { reason: string }).reason,
      /no answer came by 2026-12-06T12:05:00.000Z; it may have acted/,
    );
    assert.deepEqual(settling(until, undefined, later), { unanswered: true });
  });
});
