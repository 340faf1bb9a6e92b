import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decompose, priorityOf } from '../../lambdas/domain/decompose';
import { durationMs, inWords } from '../../lambdas/domain/duration';
import type { Assessment } from '../../lambdas/domain/jeopardy';
import { assess, dueDateOf, jeopardyChanged, type PlansById } from '../../lambdas/domain/jeopardy';
import type { ItemRecord, OrderRecord } from '../../lambdas/domain/orchestration';
import { announcementOf, orderEventOf, watchedOrderOf } from '../../lambdas/domain/order-events';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { assessOrders, sweepDueDates } from '../../lambdas/use-cases/watch-due-dates';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { payloadSchemaOf, tmf622Problems } from '../support/tmf622';
import { dslCatalog, dslOrderBody } from './fixtures/catalogs';

const AT = '2025-03-01T09:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(AT) + minutes * 60_000);

/** The DSL plan with durations: a port in 10 minutes, the line in 2 hours, then billing in 5 minutes. */
function catalog(completionWithin?: string) {
  const c = dslCatalog();
  c.plans['dsl-broadband'] = planDefinitionSchema.parse({
    id: 'dsl-broadband',
    fulfils: [{ offering: 'dsl-broadband', actions: ['add'] }],
    ...(completionWithin ? { completionWithin } : {}),
    items: [
      { id: 'reserve-port', type: 'callout', interface: 'reserve-port', expectedDuration: 'PT10M' },
      {
        id: 'activate-line',
        type: 'callout',
        interface: 'activate-line',
        dependsOn: ['reserve-port'],
        expectedDuration: 'PT2H',
      },
      { id: 'done', type: 'milestone', dependsOn: ['activate-line'] },
    ],
  });
  return c;
}

function order(due?: { requested?: string; within?: string }) {
  const c = catalog(due?.within);
  const body = { ...dslOrderBody(), ...(due?.requested ? { requestedCompletionDate: due.requested } : {}) };
  const made = decompose(c, 'o-1', productOrderCreateSchema.parse(body), AT);
  const items = new Map(made.items.map((item) => [item.planItemId, item]));
  return { catalog: c, plans: c.plans as PlansById, order: made.order, items };
}

const RESERVE = 'dsl-broadband.reserve-port.1';
const ACTIVATE = 'dsl-broadband.activate-line.1';

describe('ISO 8601 durations', () => {
  it('reads weeks, days, hours, minutes and seconds, and nothing else', () => {
    assert.equal(durationMs('PT30M'), 30 * 60_000);
    assert.equal(durationMs('P1DT12H'), 36 * 3_600_000);
    assert.equal(durationMs('P1W'), 7 * 86_400_000);
    assert.equal(durationMs('PT1.5S'), 1500);
    for (const bad of ['P1M', 'P1Y', 'PT', 'P', '30M', 'PT0S', 'P1DT', 'pt1h'])
      assert.equal(durationMs(bad), undefined, bad);
    assert.equal(inWords(2 * 3_600_000 + 5 * 60_000), '2 h 5 min');
    assert.equal(inWords(40_000), '40 s');
  });

  it('are refused at synth, naming the field', () => {
    const parsed = planDefinitionSchema.safeParse({
      id: 'p',
      fulfils: [{ offering: 'x' }],
      completionWithin: 'P1M',
      items: [{ id: 'a', type: 'milestone', expectedDuration: 'soon' }],
    });
    assert.equal(parsed.success, false);
    const paths = parsed.error?.issues.map((i) => i.path.join('.')).sort();
    assert.deepEqual(paths, ['completionWithin', 'items.0.expectedDuration']);
  });
});

describe('an order’s due date', () => {
  it('is its requestedCompletionDate, or its plan’s completionWithin from its acceptance, or none', () => {
    assert.equal(order({ requested: '2025-03-02T12:00:00+01:00' }).order.dueDate, '2025-03-02T11:00:00.000Z');
    assert.equal(order({ within: 'P2D' }).order.dueDate, '2025-03-03T09:00:00.000Z');
    assert.equal(order().order.dueDate, undefined);
    const { order: o, plans } = order({ within: 'P2D' });
    assert.equal(dueDateOf({ ...o, submitted: { ...o.submitted, requestedCompletionDate: AT } }, plans), AT);
  });

  it('gives its items its priority, "0" to "3"; "4" and free text are the default', () => {
    const c = catalog();
    const items = (priority?: string) =>
      decompose(
        c,
        'o-1',
        productOrderCreateSchema.parse({ ...dslOrderBody(), ...(priority ? { priority } : {}) }),
        AT,
      ).items;
    assert.ok(items('0').every((item) => item.priority === 0));
    assert.ok(items('3').every((item) => item.priority === 3));
    for (const none of ['4', 'urgent', undefined])
      assert.ok(
        items(none).every((item) => item.priority === undefined),
        String(none),
      );
    assert.equal(priorityOf('2'), 2);
  });

  it('marks its items as watched, and only then', () => {
    assert.ok([...order({ within: 'P2D' }).items.values()].every((item) => item.watched === true));
    assert.ok([...order().items.values()].every((item) => item.watched === undefined));
  });
});

describe('assessing an order’s jeopardy', () => {
  it('expects completion along the critical path, and is not in jeopardy while that is before the due date', () => {
    const { order: o, items, plans } = order({ requested: at(180).toISOString() });
    const assessment = assess(o, items.values(), plans, at(0));
    assert.equal(assessment.jeopardy, undefined);
    assert.equal(assessment.expectedCompletionDate, at(130).toISOString());
    // The next look: when the 50 minutes of slack are used up, should nothing start meanwhile.
    assert.equal(assessment.nextCheckAt, new Date(at(50).getTime() + 1000).toISOString());
  });

  it('is in jeopardy when the expected completion passes the due date, saying by how much', () => {
    const { order: o, items, plans } = order({ requested: at(90).toISOString() });
    const assessment = assess(o, items.values(), plans, at(0));
    assert.deepEqual(assessment.jeopardy?.kinds, ['late']);
    assert.match(assessment.jeopardy?.reasons[0] ?? '', /40 min after its due date/);
    assert.equal(assessment.jeopardy?.since, at(0).toISOString());
  });

  it('counts a done item by when it ended and one under way from its start', () => {
    const { order: o, items, plans } = order({ requested: at(180).toISOString() });
    const reserve = {
      ...(items.get('reserve-port') as ItemRecord),
      state: 'Completed' as const,
      completedAt: at(30).toISOString(),
    };
    const activate = {
      ...(items.get('activate-line') as ItemRecord),
      state: 'Running' as const,
      startedAt: at(30).toISOString(),
    };
    const assessment = assess(o, [reserve, activate, items.get('done') as ItemRecord], plans, at(40));
    assert.equal(assessment.expectedCompletionDate, at(150).toISOString());
    assert.equal(assessment.jeopardy, undefined);
    assert.equal(
      assessment.nextCheckAt,
      new Date(at(70).getTime() + 1000).toISOString(),
      'when the 30 minutes of slack would be used up',
    );
  });

  it('raises an item that overruns its expected duration by more than the margin, and clears once it is done', () => {
    const { order: o, items, plans } = order({ requested: at(24 * 60).toISOString() });
    const reserve = {
      ...(items.get('reserve-port') as ItemRecord),
      state: 'Running' as const,
      startedAt: at(0).toISOString(),
    };
    const rest = [items.get('activate-line') as ItemRecord, items.get('done') as ItemRecord];
    // 10 minutes expected, 25 % margin: in jeopardy after 12.5 minutes.
    assert.equal(assess(o, [reserve, ...rest], plans, at(12)).jeopardy, undefined);
    assert.equal(assess(o, [reserve, ...rest], plans, at(10)).nextCheckAt, at(12.5).toISOString());
    const late = assess(o, [reserve, ...rest], plans, at(13));
    assert.deepEqual(late.jeopardy?.kinds, [`overrun:${RESERVE}`]);
    const done = { ...reserve, state: 'Completed' as const, completedAt: at(14).toISOString() };
    const kept = { ...o, ...(late.jeopardy ? { jeopardy: late.jeopardy } : {}) };
    assert.equal(assess(kept, [done, ...rest], plans, at(14)).jeopardy, undefined);
  });

  it('looks again hourly at an order that is late already, and when the slack runs out at work not yet started', () => {
    const { order: o, items, plans } = order({ requested: at(60).toISOString() });
    // Late: nothing but a change (which the stream brings) or the hour moves it.
    const late = assess(o, items.values(), plans, at(120));
    assert.deepEqual(late.jeopardy?.kinds, ['late']);
    assert.equal(late.nextCheckAt, at(180).toISOString());
    // Not late yet, nothing started (its system is Down): late once the slack is gone, not an hour later.
    const { order: held, items: waiting } = order({ requested: at(135).toISOString() });
    const assessment = assess(held, waiting.values(), plans, at(0));
    assert.equal(assessment.jeopardy, undefined);
    assert.equal(assessment.nextCheckAt, new Date(at(5).getTime() + 1000).toISOString());
    assert.deepEqual(assess(held, waiting.values(), plans, at(6)).jeopardy?.kinds, ['late']);
  });

  it('keeps the jeopardy’s first moment while it lasts, and tells a change of reasons from figures moving', () => {
    const { order: o, items, plans } = order({ requested: at(90).toISOString() });
    const first = assess(o, items.values(), plans, at(0));
    const kept = { ...o, ...(first.jeopardy ? { jeopardy: first.jeopardy } : {}) };
    const later = assess(kept, items.values(), plans, at(5));
    assert.equal(later.jeopardy?.since, at(0).toISOString());
    assert.equal(jeopardyChanged(first.jeopardy, later.jeopardy), false, 'same reasons, other figures');
    assert.equal(jeopardyChanged(first.jeopardy, undefined), true);
    assert.equal(jeopardyChanged(undefined, first.jeopardy), true);
  });

  it('says nothing of an order that has ended or has no due date', () => {
    const { order: o, items, plans } = order({ requested: at(90).toISOString() });
    assert.deepEqual(assess({ ...o, state: 'completed' }, items.values(), plans, at(0)), {});
    assert.deepEqual(assess({ ...order().order }, items.values(), plans, at(0)), {});
  });
});

describe('watching due dates', () => {
  function setup(requestedMinutes: number) {
    const { order: o, items, plans } = order({ requested: at(requestedMinutes).toISOString() });
    let kept: OrderRecord = o;
    let now = at(0);
    const recorded: Assessment[] = [];
    const deps = {
      store: {
        getAggregate: async (id: string) =>
          id === 'o-1'
            ? {
                order: kept,
                items: new Map([...items.values()].map((i) => [i.key, i])),
                done: [],
                context: {},
              }
            : undefined,
      },
      watch: {
        record: async (_id: string, assessment: Assessment) => {
          recorded.push(assessment);
          const { jeopardy: _j, expectedCompletionDate: _e, nextCheckAt: _n, ...rest } = kept;
          kept = { ...rest, ...assessment };
        },
        due: async () => ['o-1'],
        inJeopardy: async () => [],
      },
      plans,
      now: () => now,
    };
    return { deps, recorded, kept: () => kept, move: (minutes: number) => (now = at(minutes)) };
  }

  it('writes an assessment only when it says something new', async () => {
    const { deps, recorded, move } = setup(90);
    assert.equal(await assessOrders(deps as never, ['o-1', 'o-1', 'gone']), 1);
    assert.deepEqual(recorded[0]?.jeopardy?.kinds, ['late']);
    assert.equal(await assessOrders(deps as never, ['o-1']), 0, 'the same at the same moment');
    move(1);
    assert.equal(await sweepDueDates(deps as never), 1, 'a minute later the expected completion moved');
  });

  it('announces a jeopardy raised and cleared as ProductOrderJeopardyAlertEvents valid by the schema', () => {
    const { order: o, items, plans } = order({ requested: at(90).toISOString() });
    const raised = assess(o, items.values(), plans, at(0));
    const before = { ...o } as unknown as Record<string, unknown>;
    const after = { ...o, ...raised, updatedAt: at(0).toISOString() } as unknown as Record<string, unknown>;
    const up = {
      kind: 'MODIFY' as const,
      pk: 'ORDER#o-1',
      sk: 'ORDER',
      old: before,
      new: after,
      sequence: '7',
      at: AT,
    };
    const down = { ...up, old: after, new: { ...before, updatedAt: at(20).toISOString() }, sequence: '8' };
    for (const [change, type] of [
      [up, 'Hazard'],
      [down, 'Normal'],
    ] as const) {
      const announcement = announcementOf(change);
      assert.equal(announcement?.type, 'ProductOrderJeopardyAlertEvent');
      const event = announcement && orderEventOf(announcement, change, { ...o, ...raised });
      assert.ok(event);
      assert.deepEqual(tmf622Problems('ProductOrderJeopardyAlertEvent', event), []);
      assert.deepEqual(tmf622Problems(payloadSchemaOf(event.eventType), event.event), []);
      const alert = (event.event.productOrder as { productOrderJeopardyAlert: { jeopardyType: string }[] })
        .productOrderJeopardyAlert[0];
      assert.equal(alert?.jeopardyType, type);
    }
    // Its own write moves nothing: only creations, state changes and items of watched orders are looked at.
    assert.equal(watchedOrderOf(up), undefined);
    assert.equal(watchedOrderOf({ ...up, kind: 'INSERT', old: undefined }), 'o-1');
    const item = items.get('activate-line') as ItemRecord;
    const itemChange = {
      kind: 'MODIFY' as const,
      pk: 'ORDER#o-1',
      sk: `ITEM#${ACTIVATE}`,
      old: item as unknown as Record<string, unknown>,
      new: { ...item, state: 'Running', startedAt: AT } as unknown as Record<string, unknown>,
      sequence: '9',
      at: AT,
    };
    assert.equal(watchedOrderOf(itemChange), 'o-1');
    const unwatched = { ...itemChange, new: { ...itemChange.new, watched: undefined } };
    assert.equal(watchedOrderOf(unwatched), undefined);
  });
});
