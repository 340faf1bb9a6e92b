import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { assessCancellation, compensationsReady, type PlanItemOf } from '../../lambdas/domain/cancellation';
import { ITEM_STATES, type ItemRecord, type ItemState } from '../../lambdas/domain/orchestration';

/** An item of the DSL plan, in a state. */
const item = (id: string, state: ItemState, dependsOn: string[] = []): ItemRecord => ({
  orderId: 'o-1',
  key: `dsl.${id}.1`,
  planId: 'dsl',
  planItemId: id,
  lineId: '1',
  type: 'callout',
  dependsOn: dependsOn.map((d) => `dsl.${d}.1`),
  state,
  createdAt: '2026-12-06T10:00:00.000Z',
  updatedAt: '2026-12-06T10:00:00.000Z',
});

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
      waitsFor: {},
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
    assert.deepEqual(assessment.waitsFor, { 'dsl.reserve-port.1': [] });
  });

  it('while activation waits for its callback: freezes it, and the port waits for it to settle', () => {
    const assessment = assessCancellation(
      dslOrder({ 'reserve-port': 'Completed', 'activate-line': 'Running', 'book-installation': 'Completed' }),
      dslPlan,
    );

    assert.equal(assessment.kind, 'cancel');
    assert.deepEqual(assessment.freeze, ['dsl.activate-line.1']);
    assert.deepEqual(assessment.compensate, ['dsl.reserve-port.1']);
    assert.deepEqual(assessment.left, ['dsl.book-installation.1'], 'the booking declares no compensation');
    assert.deepEqual(assessment.discard, ['dsl.start-billing.1']);
    assert.deepEqual(assessment.waitsFor, {
      'dsl.reserve-port.1': ['dsl.activate-line.1'],
      'dsl.activate-line.1': [],
    });
    assert.deepEqual(compensationsReady(assessment, assessment.compensate, new Set()), []);
    assert.deepEqual(
      compensationsReady(assessment, assessment.compensate, new Set(['dsl.activate-line.1'])),
      ['dsl.reserve-port.1'],
    );
  });

  it('undoes the line before the port, and billing (in flight) before both', () => {
    const assessment = assessCancellation(
      dslOrder({ 'reserve-port': 'Completed', 'activate-line': 'Completed', 'start-billing': 'Running' }),
      dslPlan,
    );

    assert.equal(assessment.kind, 'cancel');
    assert.deepEqual(assessment.waitsFor, {
      'dsl.reserve-port.1': ['dsl.activate-line.1', 'dsl.start-billing.1'],
      'dsl.activate-line.1': ['dsl.start-billing.1'],
      'dsl.start-billing.1': [],
    });
    const settled = new Set<string>();
    const order: string[][] = [];
    let pending = [...assessment.compensate, ...assessment.freeze];
    while (pending.length > 0) {
      const ready = compensationsReady(assessment, pending, settled);
      assert.ok(ready.length > 0, `something can always go on: ${pending.join(', ')}`);
      order.push(ready);
      for (const key of ready) settled.add(key);
      pending = pending.filter((key) => !settled.has(key));
    }
    assert.deepEqual(order, [['dsl.start-billing.1'], ['dsl.activate-line.1'], ['dsl.reserve-port.1']]);
  });

  it('refuses once billing, a point of no return, has completed, naming it', () => {
    const assessment = assessCancellation(
      dslOrder({ 'reserve-port': 'Completed', 'activate-line': 'Completed', 'start-billing': 'Completed' }),
      dslPlan,
    );

    assert.deepEqual(assessment, {
      kind: 'refused',
      itemKey: 'dsl.start-billing.1',
      reason:
        'item dsl.start-billing.1 has completed, and it is a point of no return: the order can no longer be cancelled',
    });
  });

  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  /** Any order of up to six items, each depending only on items before it (a DAG), in any states. */
  const anyOrder = fc
    .array(
      fc.record({
        state: fc.constantFrom(...ITEM_STATES),
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

  it('refuses exactly when a completed item is a point of no return', () => {
    fc.assert(
      fc.property(anyOrder, ({ items, plan }) => {
        const refused = assessCancellation(items, plan).kind === 'refused';
        const past = items.some((i) => i.state === 'Completed' && plan(i)?.pointOfNoReturn === true);
        assert.equal(refused, past);
      }),
    );
  });

  it('gives every item one fate at most, and each its own: only Skipped items need nothing', () => {
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
          const expected =
            i.state === 'Running'
              ? 'freeze'
              : i.state === 'Completed'
                ? plan(i)?.compensation
                  ? 'compensate'
                  : 'left'
                : i.state === 'Skipped'
                  ? 'nothing'
                  : 'discard';
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
        const settled = new Set<string>();
        const done: string[] = [];
        let pending = [...assessment.compensate, ...assessment.freeze];
        while (pending.length > 0) {
          const ready = compensationsReady(assessment, pending, settled);
          assert.ok(ready.length > 0, 'no compensation waits for ever');
          for (const key of ready) settled.add(key);
          done.push(...ready);
          pending = pending.filter((key) => !settled.has(key));
        }
        // An item's compensation comes after that of every undoable item depending on it.
        for (const i of items) {
          for (const prerequisite of i.dependsOn) {
            if (done.includes(i.key) && done.includes(prerequisite))
              assert.ok(done.indexOf(i.key) < done.indexOf(prerequisite), `${i.key} before ${prerequisite}`);
          }
        }
      }),
    );
  });
});
