import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessAmendment, diffLines, mergePatch, supplementalRun } from '../../lambdas/domain/amendment';
import type { PlanItemOf } from '../../lambdas/domain/cancellation';
import { ConflictError, ValidationError } from '../../lambdas/domain/errors';
import type { ItemRecord } from '../../lambdas/domain/orchestration';
import { amendOrder } from '../../lambdas/use-cases/amend-order';
import { runItem } from '../../lambdas/use-cases/run-item';
import { dslOrderBody } from './fixtures/catalogs';
import {
  ACTIVATE,
  DONE,
  drain,
  ORDER,
  RESERVE,
  type Setup,
  SUBMITTER,
  setup,
  WELCOME,
} from './fixtures/order-changes';

/** The patch that changes line-1's bandwidth to `mbps`: the whole lines array, as a merge patch replaces it. */
function bandwidth(mbps: number) {
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  const product = line?.product as { productCharacteristic: { name: string; value: unknown }[] };
  return {
    productOrderItem: [
      {
        ...line,
        product: {
          ...product,
          productCharacteristic: product.productCharacteristic.map((c) =>
            c.name === 'bandwidth' ? { ...c, value: mbps } : c,
          ),
        },
      },
    ],
  };
}

const amend = (s: Setup, patch: unknown) =>
  amendOrder(
    { store: s.store, queue: s.queue, plans: s.operators.plans, catalog: s.deps.catalog, now: s.deps.now },
    ORDER,
    patch,
    SUBMITTER,
  );
const dispatch = (s: Setup, itemKey: string) =>
  runItem(s.deps, { orderId: ORDER, itemKey, taskToken: `t-${itemKey}` }, `d-${itemKey}`);
/** What the systems were sent, in order: method, path and the bandwidth asked for. */
const sent = (s: Setup) =>
  s.http.requests.map((r) => {
    const body = r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {};
    const order = body.order as
      | { productOrderItem?: { product?: { productCharacteristic?: { name: string; value: unknown }[] } }[] }
      | undefined;
    const mbps =
      body.bandwidthMbps ??
      order?.productOrderItem?.[0]?.product?.productCharacteristic?.find((c) => c.name === 'bandwidth')
        ?.value;
    return `${r.method} ${new URL(r.url).pathname}${mbps === undefined ? '' : ` ${mbps}`}`;
  });
const stateOf = async (s: Setup, key: string) => (await s.store.getItem(ORDER, key))?.state;

describe('amending an order (use case)', () => {
  it('before activation: releases the port, reserves it again with the new bandwidth, and activation sends it', async () => {
    const s = await setup();
    for (const key of [ACTIVATE, DONE, WELCOME]) await dispatch(s, key);
    await dispatch(s, RESERVE);
    const from = s.queue.sent.length - 1; // activation's start, not yet taken

    const { revision } = await amend(s, bandwidth(200));
    assert.equal(revision?.revision, 2);
    assert.deepEqual(revision?.redone, [RESERVE]);
    assert.deepEqual(revision?.changes, [{ lineId: 'line-1', change: 'changed', fields: ['product'] }]);
    await drain(s, from);

    assert.deepEqual(sent(s), [
      'POST /api/ports/reservations 100',
      'DELETE /api/ports/reservations/P-7',
      'POST /api/ports/reservations 200',
      'PUT /lines 200',
    ]);
    assert.equal((await s.store.getOrder(ORDER))?.state, 'completed');
    assert.equal(await stateOf(s, RESERVE), 'Compensated');
    assert.equal(await stateOf(s, `${RESERVE}.r2`), 'Completed');
    const order = await s.store.getOrder(ORDER);
    assert.equal(order?.revision, 2);
    assert.equal(order?.revisions?.[0]?.by.id, SUBMITTER.id);
  });

  it('after activation: switches the line off and releases the port, then does both again with the new bandwidth', async () => {
    const s = await setup();
    for (const key of [DONE, WELCOME]) await dispatch(s, key);
    await dispatch(s, RESERVE);
    await dispatch(s, ACTIVATE);
    assert.equal(await stateOf(s, ACTIVATE), 'Completed');
    const from = s.queue.sent.length - 1; // the milestone's start, not yet taken

    const { revision } = await amend(s, bandwidth(200));
    assert.deepEqual(revision?.redone, [ACTIVATE, RESERVE]);
    await drain(s, from);

    assert.deepEqual(sent(s), [
      'POST /api/ports/reservations 100',
      'PUT /lines 100',
      'DELETE /lines/P-7',
      'DELETE /api/ports/reservations/P-7',
      'POST /api/ports/reservations 200',
      'PUT /lines 200',
    ]);
    assert.equal((await s.store.getOrder(ORDER))?.state, 'completed');
    assert.deepEqual((await s.store.getItem(ORDER, DONE))?.dependsOn, [`${ACTIVATE}.r2`]);
  });

  it('refuses a change past the point of no return with 409 naming it, and changes nothing', async () => {
    const s = await setup();
    await dispatch(s, WELCOME);
    for (const key of [RESERVE, ACTIVATE, DONE]) await dispatch(s, key);
    const before = await s.store.getOrder(ORDER);
    const requests = s.http.requests.length;

    await assert.rejects(amend(s, bandwidth(200)), (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.match(error.message, /item dsl-broadband\.done\.1 is a point of no return and has started/);
      return true;
    });
    const after = await s.store.getOrder(ORDER);
    assert.deepEqual(after?.submitted, before?.submitted);
    assert.equal(after?.revision, undefined);
    assert.equal(after?.amending, undefined, 'its lock is off');
    assert.equal(s.http.requests.length, requests);
    assert.equal((await s.store.getItem(ORDER, WELCOME))?.amendFreeze, undefined, 'nothing stays frozen');
  });

  it('removes a line: what had not started is skipped, what had is compensated, and the order completes without it', async () => {
    const s = await setup();
    const [line] = bandwidth(100).productOrderItem;
    const { revision: added } = await amend(s, { productOrderItem: [line, { ...line, id: 'line-2' }] });
    assert.equal(added?.revision, 2);
    for (const key of [RESERVE, ACTIVATE, DONE, WELCOME]) await dispatch(s, key);
    assert.equal((await s.store.getOrder(ORDER))?.state, 'inProgress', 'the second line is still to do');
    await dispatch(s, 'dsl-broadband.reserve-port.2');
    for (const key of ['dsl-broadband.activate-line.2', 'dsl-broadband.done.2', 'dsl-broadband.welcome.2']) {
      const item = await s.store.getItem(ORDER, key);
      if (item) await s.store.attachTaskToken(ORDER, key, `t-${key}`, '2025-03-01T11:00:00.000Z');
    }
    const from = s.queue.sent.length;

    const { revision } = await amend(s, { productOrderItem: [line] });
    assert.deepEqual(revision?.changes, [{ lineId: 'line-2', change: 'removed' }]);
    assert.deepEqual(revision?.compensated, ['dsl-broadband.reserve-port.2']);
    assert.deepEqual(revision?.discarded, [
      'dsl-broadband.activate-line.2',
      'dsl-broadband.done.2',
      'dsl-broadband.welcome.2',
    ]);
    await drain(s, from);

    assert.equal(await stateOf(s, 'dsl-broadband.reserve-port.2'), 'Compensated');
    assert.equal(await stateOf(s, 'dsl-broadband.activate-line.2'), 'Skipped');
    assert.equal((await s.store.getOrder(ORDER))?.state, 'completed');
    assert.ok(
      sent(s).includes('DELETE /api/ports/reservations/P-7'),
      `the second line's port released: ${sent(s).join(', ')}`,
    );
  });

  it('adds a line: its items are written and a plan run of its own fulfils it', async () => {
    const s = await setup();
    await dispatch(s, RESERVE);
    const [line] = bandwidth(100).productOrderItem;

    const { revision, order } = await amend(s, { productOrderItem: [line, { ...line, id: 'line-2' }] });
    assert.deepEqual(revision?.changes, [{ lineId: 'line-2', change: 'added' }]);
    assert.deepEqual(s.started, [{ planId: 'dsl-broadband', executionName: `${ORDER}-r2-1`, lines: ['2'] }]);
    assert.deepEqual(order.planRuns.at(-1), {
      planId: 'dsl-broadband',
      executionName: `${ORDER}-r2-1`,
      lineIds: ['line-2'],
    });
    const added = await s.store.getItem(ORDER, 'dsl-broadband.reserve-port.2');
    assert.equal(added?.lineId, 'line-2');
    assert.equal(added?.revision, 2);
    assert.ok(
      order.itemKeys.includes('dsl-broadband.welcome.2'),
      'the order completes only with the new line',
    );

    // Its plan dispatches the new items, which run as any do.
    await dispatch(s, 'dsl-broadband.reserve-port.2');
    assert.equal(await stateOf(s, 'dsl-broadband.reserve-port.2'), 'Completed');
  });

  it('refuses what an amendment cannot change, naming the field', async () => {
    const s = await setup();
    const problemsOf = async (patch: unknown) => {
      try {
        await amend(s, patch);
      } catch (error) {
        assert.ok(error instanceof ValidationError, String(error));
        return error.problems.map((p) => p.field);
      }
      assert.fail('accepted');
    };
    assert.deepEqual(await problemsOf({ externalId: [{ id: 'other' }] }), ['externalId']);
    const [line] = bandwidth(200).productOrderItem;
    assert.deepEqual(
      await problemsOf({ productOrderItem: [{ ...line, productOffering: { id: 'voice' } }] }),
      ['productOrderItem.0.productOffering'],
    );
    assert.deepEqual(
      await problemsOf({
        productOrderItem: [line, { ...line, id: 'line-2', productOffering: { id: 'nothing' } }],
      }),
      ['productOrderItem.1.productOffering'],
      'an added line is held to the catalog as a new order’s is',
    );
    assert.deepEqual(await problemsOf([{ op: 'replace' }]), ['body']);
    const unchanged = await amend(s, {});
    assert.equal(unchanged.revision, undefined, 'an empty patch changes nothing');
  });
});

describe('amendment, the domain', () => {
  it('merges a patch as RFC 7386 says: objects merge, null removes, arrays replace', () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1, 2] }, { b: { c: null, f: 4 }, e: [3] }), {
      a: 1,
      b: { d: 3, f: 4 },
      e: [3],
    });
  });

  it('tells added, removed and changed lines apart', () => {
    const { changes, problems } = diffLines(
      [
        { id: '1', product: { x: 1 } },
        { id: '2', product: {} },
      ],
      [
        { id: '1', product: { x: 2 } },
        { id: '3', product: {} },
      ],
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(changes, [
      { lineId: '1', change: 'changed', fields: ['product'] },
      { lineId: '3', change: 'added' },
      { lineId: '2', change: 'removed' },
    ]);
  });

  const item = (key: string, state: ItemRecord['state'], started = state !== 'Pending'): ItemRecord => ({
    orderId: 'o',
    key,
    planId: 'p',
    planItemId: key,
    lineId: key.startsWith('b') ? '2' : '1',
    type: 'callout',
    dependsOn: [],
    state,
    ...(started ? { startedAt: 't' } : {}),
    createdAt: 't',
    updatedAt: 't',
  });
  const undoable: PlanItemOf = (i) => ({
    pointOfNoReturn: i.key === 'a-ponr',
    compensation: { interface: 'undo' },
  });

  it('redoes what the change affects, skips a removed line’s items that had not started and undoes those that had', () => {
    const assessment = assessAmendment(
      [
        item('a-done', 'Completed'),
        item('a-same', 'Completed'),
        item('a-next', 'Pending'),
        item('b-done', 'Completed'),
        item('b-next', 'Pending'),
      ],
      [
        { lineId: '1', change: 'changed', fields: ['product'] },
        { lineId: '2', change: 'removed' },
      ],
      undoable,
      new Set(['a-done']),
    );
    assert.deepEqual(assessment, {
      kind: 'amend',
      redo: ['a-done'],
      discard: ['b-next'],
      compensate: ['b-done'],
    });
  });

  it('runs an item again with its order’s timing: watched for jeopardy, and its priority', () => {
    const timed = { ...item('a-done', 'Completed'), watched: true as const, priority: 1 };
    const { add } = supplementalRun(
      [timed, item('a-next', 'Pending')],
      ['a-done'],
      undoable,
      2,
      '2025-03-01T12:00:00.000Z',
    );
    const again = add.find((i) => i.supersedes === 'a-done');
    assert.equal(again?.watched, true);
    assert.equal(again?.priority, 1);
    const plain = supplementalRun(
      [item('a-done', 'Completed')],
      ['a-done'],
      undoable,
      2,
      '2025-03-01T12:00:00.000Z',
    );
    const redone = plain.add.find((i) => i.supersedes === 'a-done');
    assert.ok(redone && !('watched' in redone) && !('priority' in redone));
  });

  it('refuses a point of no return that started, an item in flight, and a redo nothing can undo', () => {
    const changed = [{ lineId: '1', change: 'changed' as const, fields: ['product'] }];
    const ponr = assessAmendment([item('a-ponr', 'Completed')], changed, undoable, new Set(['a-ponr']));
    assert.equal(ponr.kind === 'refused' && ponr.itemKey, 'a-ponr');
    const flight = assessAmendment([item('a-1', 'Running')], changed, undoable, new Set(['a-1']));
    assert.deepEqual(
      assessAmendment([item('a-1', 'Running')], changed, undoable, new Set()),
      { kind: 'amend', redo: [], discard: [], compensate: [] },
      'in flight with what the change does not alter: it goes on',
    );
    assert.match(flight.kind === 'refused' ? flight.reason : '', /is Running: its system is working on it/);
    const nothing = assessAmendment(
      [item('a-1', 'Completed')],
      changed,
      () => ({ pointOfNoReturn: false }),
      new Set(['a-1']),
    );
    assert.match(
      nothing.kind === 'refused' ? nothing.reason : '',
      /declares no compensation: it cannot be redone/,
    );
    const untouched = assessAmendment([item('a-ponr', 'Completed')], changed, undoable, new Set());
    assert.equal(untouched.kind, 'refused', 'a line past its point of no return takes no change at all');
    const unaffected = assessAmendment([item('a-1', 'Completed')], changed, undoable, new Set());
    assert.deepEqual(
      unaffected,
      { kind: 'amend', redo: [], discard: [], compensate: [] },
      'a change it does not feel',
    );
  });
});
