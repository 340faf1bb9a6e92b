import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { ValidationError } from '../../lambdas/domain/errors';
import { type ProductOrderCreate, productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { MAX_LINES_PER_RUN } from '../../statemachines/compile-plan';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { dslCatalog, LINE_CHARACTERISTICS, offering, tvLine } from './fixtures/catalogs';

const AT = '2025-03-01T10:00:00.000Z';

const orderOf = (...lines: Record<string, unknown>[]): ProductOrderCreate =>
  productOrderCreateSchema.parse({ productOrderItem: lines });

const dsl = (id: string, action = 'add') => ({ id, action, productOffering: { id: 'dsl-broadband' } });
const fibre = (id: string) => ({ id, action: 'add', productOffering: { id: 'fibre' } });

/**
 * The DSL catalog plus a fibre plan of both scopes: a site survey once per order, an install and an
 * activation per line, a handover once every line is active, then a notice after the handover.
 */
function fibreCatalog(): Catalog {
  const catalog = dslCatalog();
  catalog.plans.fibre = planDefinitionSchema.parse({
    id: 'fibre',
    fulfils: [{ offering: 'fibre' }],
    items: [
      { id: 'survey', type: 'milestone', scope: 'order' },
      { id: 'install', type: 'manualTask', dependsOn: ['survey'] },
      { id: 'activate', type: 'callout', interface: 'activate-line', dependsOn: ['install'] },
      { id: 'handover', type: 'milestone', scope: 'order', dependsOn: ['activate'] },
      { id: 'notify', type: 'autoTask', scope: 'order', dependsOn: ['handover'], setAttributes: '{}' },
      { id: 'invoice', type: 'milestone', dependsOn: ['handover', 'activate'] },
    ],
  });
  catalog.offerings.fibre = offering('fibre', LINE_CHARACTERISTICS);
  return catalog;
}

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
  it('turns a line into the items of the plan that fulfils its offering, in one run', () => {
    // Prepare
    const submitted = orderOf(dsl('line-a'));

    // Act
    const { order, items, runs } = decompose(dslCatalog(), 'o-1', submitted, AT);

    // Assess
    assert.deepEqual(items[0], {
      orderId: 'o-1',
      key: 'dsl-broadband.reserve-port.1',
      planId: 'dsl-broadband',
      planItemId: 'reserve-port',
      lineId: 'line-a',
      type: 'callout',
      interfaceId: 'reserve-port',
      dependsOn: [],
      state: 'Pending',
      version: 1,
      recent: [{ at: AT, state: 'Pending', reason: 'decomposed by plan "dsl-broadband" for line "line-a"' }],
      createdAt: AT,
      updatedAt: AT,
    });
    assert.deepEqual(
      items.map((i) => [i.key, i.type, i.dependsOn]),
      [
        ['dsl-broadband.reserve-port.1', 'callout', []],
        ['dsl-broadband.activate-line.1', 'callout', ['dsl-broadband.reserve-port.1']],
        ['dsl-broadband.done.1', 'milestone', ['dsl-broadband.activate-line.1']],
      ],
    );
    assert.equal('interfaceId' in (items[2] ?? {}), false, 'a milestone has no interface');
    assert.deepEqual(runs, [
      { planId: 'dsl-broadband', executionName: 'o-1-1', input: { orderId: 'o-1', lines: ['1'] } },
    ]);
    assert.deepEqual(order, {
      id: 'o-1',
      state: 'acknowledged',
      submitted,
      itemKeys: ['dsl-broadband.reserve-port.1', 'dsl-broadband.activate-line.1', 'dsl-broadband.done.1'],
      planRuns: [{ planId: 'dsl-broadband', executionName: 'o-1-1', lineIds: ['line-a'] }],
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

    assert.deepEqual(order.itemKeys, [
      'voice.number-ported.2',
      'dsl-broadband.reserve-port.3',
      'dsl-broadband.activate-line.3',
      'dsl-broadband.done.3',
    ]);
    assert.deepEqual(
      items.map((i) => [i.key, i.lineId, i.planId]),
      [
        ['voice.number-ported.2', 'phone', 'voice'],
        ['dsl-broadband.reserve-port.3', 'internet', 'dsl-broadband'],
        ['dsl-broadband.activate-line.3', 'internet', 'dsl-broadband'],
        ['dsl-broadband.done.3', 'internet', 'dsl-broadband'],
      ],
    );
    assert.deepEqual(
      runs.map((r) => [r.planId, r.executionName, r.input]),
      [
        ['voice', 'o-2-1', { orderId: 'o-2', lines: ['2'] }],
        ['dsl-broadband', 'o-2-2', { orderId: 'o-2', lines: ['3'] }],
      ],
    );
  });

  it('runs a plan once for all its lines, keeping the lines apart by their number', () => {
    const { order, items, runs } = decompose(dslCatalog(), 'o-3', orderOf(dsl('a'), dsl('b', 'modify')), AT);

    assert.deepEqual(runs, [
      { planId: 'dsl-broadband', executionName: 'o-3-1', input: { orderId: 'o-3', lines: ['1', '2'] } },
    ]);
    assert.deepEqual(order.planRuns, [
      { planId: 'dsl-broadband', executionName: 'o-3-1', lineIds: ['a', 'b'] },
    ]);
    assert.equal(new Set(items.map((i) => i.key)).size, 6);
    assert.deepEqual(
      items.filter((i) => i.planItemId === 'activate-line').map((i) => [i.key, i.lineId, i.dependsOn]),
      [
        ['dsl-broadband.activate-line.1', 'a', ['dsl-broadband.reserve-port.1']],
        ['dsl-broadband.activate-line.2', 'b', ['dsl-broadband.reserve-port.2']],
      ],
    );
  });

  it('groups interleaved lines by plan, numbering runs in the order their plan first appears', () => {
    const submitted = orderOf(dsl('d1'), tvLine('tv1'), {
      id: 'v',
      action: 'add',
      productOffering: { id: 'voice' },
    });
    submitted.productOrderItem.push(...orderOf(dsl('d2'), tvLine('tv2')).productOrderItem);

    const { order, runs } = decompose(dslCatalog(), 'o-4', submitted, AT);

    assert.deepEqual(
      runs.map((r) => [r.planId, r.executionName, r.input.lines]),
      [
        ['dsl-broadband', 'o-4-1', ['1', '4']],
        ['tv-bundle', 'o-4-2', ['2', '5']],
        ['voice', 'o-4-3', ['3']],
      ],
    );
    assert.deepEqual(
      order.planRuns.map((r) => [r.planId, r.executionName, r.lineIds]),
      [
        ['dsl-broadband', 'o-4-1', ['d1', 'd2']],
        ['tv-bundle', 'o-4-2', ['tv1', 'tv2']],
        ['voice', 'o-4-3', ['v']],
      ],
    );
  });

  it('creates an order-scoped item once and a line-scoped item once per line', () => {
    const { order, items } = decompose(
      fibreCatalog(),
      'o-5',
      orderOf(fibre('a'), fibre('b'), fibre('c')),
      AT,
    );

    assert.deepEqual(order.itemKeys, [
      'fibre.survey',
      'fibre.install.1',
      'fibre.install.2',
      'fibre.install.3',
      'fibre.activate.1',
      'fibre.activate.2',
      'fibre.activate.3',
      'fibre.handover',
      'fibre.notify',
      'fibre.invoice.1',
      'fibre.invoice.2',
      'fibre.invoice.3',
    ]);
    const survey = items.find((i) => i.key === 'fibre.survey');
    assert.ok(survey);
    assert.equal('lineId' in survey, false, 'an order-scoped item belongs to no line');
    assert.deepEqual(survey.recent?.[0], {
      at: AT,
      state: 'Pending',
      reason: 'decomposed by plan "fibre" for the order',
    });
    assert.equal(survey.version, 1);
    assert.deepEqual(
      items.filter((i) => i.planItemId === 'install').map((i) => i.lineId),
      ['a', 'b', 'c'],
    );
  });

  it('expands dependencies by scope: the same line, the order-scoped item, or every line for an order-scoped dependent', () => {
    // Act
    const { items } = decompose(fibreCatalog(), 'o-6', orderOf(fibre('a'), dsl('x'), fibre('b')), AT);

    // Assess
    const fibreDeps = Object.fromEntries(
      items.filter((i) => i.planId === 'fibre').map((i) => [i.key, i.dependsOn]),
    );
    assert.deepEqual(fibreDeps, {
      'fibre.survey': [],
      // line → order-scoped: the one order-scoped instance
      'fibre.install.1': ['fibre.survey'],
      'fibre.install.3': ['fibre.survey'],
      // line → line: the same line's instance
      'fibre.activate.1': ['fibre.install.1'],
      'fibre.activate.3': ['fibre.install.3'],
      // order-scoped → line: every line's instance
      'fibre.handover': ['fibre.activate.1', 'fibre.activate.3'],
      // order-scoped → order-scoped
      'fibre.notify': ['fibre.handover'],
      // line → both scopes
      'fibre.invoice.1': ['fibre.handover', 'fibre.activate.1'],
      'fibre.invoice.3': ['fibre.handover', 'fibre.activate.3'],
    });
  });

  it('gives every item a dependency only on items of its own order and plan run', () => {
    const { items } = decompose(
      fibreCatalog(),
      'o-7',
      orderOf(fibre('a'), dsl('x'), tvLine('tv'), fibre('b'), tvLine('tv2')),
      AT,
    );

    const byKey = new Map(items.map((i) => [i.key, i]));
    for (const item of items) {
      for (const dep of item.dependsOn) {
        assert.equal(byKey.get(dep)?.planId, item.planId, `${item.key} depends on ${dep}`);
      }
    }
    assert.deepEqual(byKey.get('tv-bundle.welcome-pack')?.dependsOn, [
      'tv-bundle.service-ready.3',
      'tv-bundle.service-ready.5',
    ]);
  });

  it(`accepts ${MAX_LINES_PER_RUN} lines to one plan and more lines in all when they go to several plans`, () => {
    const lines = Array.from({ length: MAX_LINES_PER_RUN }, (_, i) => dsl(`d${i + 1}`));
    const more = [...lines, ...Array.from({ length: 5 }, (_, i) => tvLine(`tv${i + 1}`))];

    const one = decompose(dslCatalog(), 'o-8', orderOf(...lines), AT);
    const two = decompose(dslCatalog(), 'o-9', orderOf(...more), AT);

    assert.equal(one.runs[0]?.input.lines.length, MAX_LINES_PER_RUN);
    assert.equal(one.items.length, 3 * MAX_LINES_PER_RUN);
    assert.deepEqual(
      two.runs.map((r) => [r.planId, r.input.lines.length]),
      [
        ['dsl-broadband', MAX_LINES_PER_RUN],
        ['tv-bundle', 5],
      ],
    );
  });

  it(`rejects an order that sends more than ${MAX_LINES_PER_RUN} lines to one plan`, () => {
    const lines = Array.from({ length: MAX_LINES_PER_RUN + 1 }, (_, i) => dsl(`d${i + 1}`));
    const submitted = orderOf(tvLine('tv'), ...lines);

    const problems = validationProblems(() => decompose(dslCatalog(), 'o-10', submitted, AT));

    assert.deepEqual(problems, [
      {
        field: 'productOrderItem',
        message: '41 lines go to plan "dsl-broadband"; one order may send at most 40 lines to a plan',
      },
    ]);
  });

  it('rejects the order naming every line no plan fulfils', () => {
    const submitted = orderOf(
      dsl('ok'),
      { id: 'tv', action: 'add', productOffering: { id: 'iptv' } },
      dsl('gone', 'delete'),
    );

    const problems = validationProblems(() => decompose(dslCatalog(), 'o-11', submitted, AT));

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

  it('rejects the order naming every line whose characteristics its offering does not take, with the lines no plan fulfils', () => {
    const catalog = dslCatalog();
    catalog.offerings['dsl-broadband'] = offering('dsl-broadband', [
      { name: 'bandwidth', valueType: 'integer', required: true },
    ]);
    const submitted = orderOf(
      { ...dsl('a'), product: { productCharacteristic: [{ name: 'bandwidth', value: '100M' }] } },
      dsl('b'),
      { id: 'tv', action: 'add', productOffering: { id: 'iptv' } },
    );

    const problems = validationProblems(() => decompose(catalog, 'o-14', submitted, AT));

    assert.deepEqual(problems, [
      {
        field: 'productOrderItem.0.product.productCharacteristic.0.value',
        message: 'line "a": characteristic "bandwidth" must be an integer, not "100M"',
      },
      {
        field: 'productOrderItem.1.product.productCharacteristic',
        message: 'line "b": characteristic "bandwidth" is required: an integer',
      },
      {
        field: 'productOrderItem.2.productOffering',
        message: 'no plan fulfils offering "iptv" with action "add" (line "tv")',
      },
    ]);
  });

  it('fails, as the bug it is, for a plan whose offering the catalog does not declare', () => {
    const catalog = dslCatalog();
    delete catalog.offerings.voice;

    assert.throws(
      () =>
        decompose(catalog, 'o-15', orderOf({ id: 'v', action: 'add', productOffering: { id: 'voice' } }), AT),
      (error: unknown) =>
        !(error instanceof ValidationError) && /offering "voice", which is not declared/.test(String(error)),
    );
  });

  it('reports lines no plan fulfils and too many lines to one plan together', () => {
    const lines = Array.from({ length: MAX_LINES_PER_RUN + 1 }, (_, i) => dsl(`d${i + 1}`));
    const submitted = orderOf({ id: 'tv', action: 'add', productOffering: { id: 'iptv' } }, ...lines);

    const problems = validationProblems(() => decompose(dslCatalog(), 'o-12', submitted, AT));

    assert.deepEqual(
      problems.map((p) => p.field),
      ['productOrderItem.0.productOffering', 'productOrderItem'],
    );
  });

  it('rejects an order whose every line is noChange', () => {
    const submitted = orderOf({ id: 'a', action: 'noChange' }, { id: 'b', action: 'noChange' });

    const problems = validationProblems(() => decompose(dslCatalog(), 'o-13', submitted, AT));

    assert.deepEqual(problems, [
      { field: 'productOrderItem', message: 'every line is "noChange": there is nothing to fulfil' },
    ]);
  });
});
