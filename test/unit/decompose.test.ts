import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decompose } from '../../lambdas/domain/decompose';
import { ValidationError } from '../../lambdas/domain/errors';
import { type ProductOrderCreate, productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { dslCatalog } from './fixtures/catalogs';

const AT = '2025-03-01T10:00:00.000Z';

const orderOf = (...lines: Record<string, unknown>[]): ProductOrderCreate =>
  productOrderCreateSchema.parse({ productOrderItem: lines });

const dsl = (id: string, action = 'add') => ({ id, action, productOffering: { id: 'dsl-broadband' } });

function validationProblems(act: () => unknown) {
  try {
    act();
  } catch (error) {
    assert.ok(error instanceof ValidationError, `a ValidationError, not ${String(error)}`);
    return error.problems;
  }
  assert.fail('the order was accepted');
}

describe('decompose', () => {
  it('turns a line into the items of the plan that fulfils its offering', () => {
    // Prepare
    const submitted = orderOf(dsl('line-a'));

    // Act
    const { order, items, runs } = decompose(dslCatalog(), 'o-1', submitted, AT);

    // Assess
    assert.deepEqual(items[0], {
      orderId: 'o-1',
      key: '1.reserve-port',
      planId: 'dsl-broadband',
      planItemId: 'reserve-port',
      lineId: 'line-a',
      type: 'callout',
      interfaceId: 'reserve-port',
      dependsOn: [],
      state: 'Pending',
      history: [
        { at: AT, state: 'Pending', reason: 'decomposed from line "line-a" by plan "dsl-broadband"' },
      ],
      createdAt: AT,
      updatedAt: AT,
    });
    assert.deepEqual(
      items.map((i) => [i.key, i.type, i.dependsOn]),
      [
        ['1.reserve-port', 'callout', []],
        ['1.activate-line', 'callout', ['1.reserve-port']],
        ['1.done', 'milestone', ['1.activate-line']],
      ],
    );
    assert.equal('interfaceId' in (items[2] ?? {}), false, 'a milestone has no interface');
    assert.deepEqual(runs, [
      { planId: 'dsl-broadband', executionName: 'o-1-1', input: { orderId: 'o-1', lineSeq: '1' } },
    ]);
    assert.deepEqual(order, {
      id: 'o-1',
      state: 'acknowledged',
      submitted,
      itemKeys: ['1.reserve-port', '1.activate-line', '1.done'],
      doneItems: [],
      planRuns: [{ planId: 'dsl-broadband', executionName: 'o-1-1' }],
      createdAt: AT,
      updatedAt: AT,
    });
  });

  it('numbers lines by their position, skipping noChange lines but not their numbers', () => {
    const submitted = orderOf(
      { id: 'keep', action: 'noChange' },
      { id: 'phone', action: 'add', productOffering: { entityId: 'voice' } },
      dsl('internet', 'modify'),
    );

    const { order, items, runs } = decompose(dslCatalog(), 'o-2', submitted, AT);

    assert.deepEqual(order.itemKeys, ['2.number-ported', '3.reserve-port', '3.activate-line', '3.done']);
    assert.deepEqual(
      items.map((i) => [i.key, i.lineId, i.planId]),
      [
        ['2.number-ported', 'phone', 'voice'],
        ['3.reserve-port', 'internet', 'dsl-broadband'],
        ['3.activate-line', 'internet', 'dsl-broadband'],
        ['3.done', 'internet', 'dsl-broadband'],
      ],
    );
    assert.deepEqual(
      runs.map((r) => [r.planId, r.executionName, r.input]),
      [
        ['voice', 'o-2-2', { orderId: 'o-2', lineSeq: '2' }],
        ['dsl-broadband', 'o-2-3', { orderId: 'o-2', lineSeq: '3' }],
      ],
    );
  });

  it('keeps two lines of one offering apart by their line number', () => {
    const { items } = decompose(dslCatalog(), 'o-3', orderOf(dsl('a'), dsl('b')), AT);

    const keys = items.map((i) => i.key);
    assert.equal(new Set(keys).size, 6);
    assert.deepEqual(
      items.filter((i) => i.planItemId === 'activate-line').map((i) => i.dependsOn),
      [['1.reserve-port'], ['2.reserve-port']],
    );
  });

  it('rejects the order naming every line no plan fulfils', () => {
    const submitted = orderOf(
      dsl('ok'),
      { id: 'tv', action: 'add', productOffering: { id: 'iptv' } },
      dsl('gone', 'delete'),
    );

    const problems = validationProblems(() => decompose(dslCatalog(), 'o-4', submitted, AT));

    assert.deepEqual(problems, [
      {
        field: 'productOrderItem.1.productOffering',
        message: 'no plan fulfils offering "iptv" with action "add" (line "tv")',
      },
      {
        field: 'productOrderItem.2.productOffering',
        message: 'no plan fulfils offering "dsl-broadband" with action "delete" (line "gone")',
      },
    ]);
  });

  it('rejects an order whose every line is noChange', () => {
    const submitted = orderOf({ id: 'a', action: 'noChange' }, { id: 'b', action: 'noChange' });

    const problems = validationProblems(() => decompose(dslCatalog(), 'o-5', submitted, AT));

    assert.deepEqual(problems, [
      { field: 'productOrderItem', message: 'every line is "noChange": there is nothing to fulfil' },
    ]);
  });
});
