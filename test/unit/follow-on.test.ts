import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWithFollowOns } from '../../lambdas/use-cases/follow-on';
import { runItem } from '../../lambdas/use-cases/run-item';
import { capturedLogs } from './fixtures/logs';
import { ACTIVATE, DONE, ORDER, RESERVE, setup, WELCOME } from './fixtures/order-changes';

const dispatch = (itemKey: string, taskToken: string) => ({ orderId: ORDER, itemKey, taskToken });
const start = (itemKey: string) => ({ kind: 'start' as const, orderId: ORDER, itemKey });
const always = () => true;

/** A DSL order whose plan run has dispatched every item; each but the first only keeps its token. */
async function dispatched() {
  const changes = await setup();
  for (const [key, token] of [
    [ACTIVATE, 'token-2'],
    [DONE, 'token-3'],
    [WELCOME, 'token-4'],
  ] as const)
    await runItem(changes.deps, dispatch(key, token), `dispatch-${token}`);
  return changes;
}

describe('runWithFollowOns: the dependents a finish made ready run in the same invocation', () => {
  it('runs the whole chain from the first item’s message, sending no start message', async () => {
    const { deps, store, http, queue } = await dispatched();

    await runWithFollowOns(deps, dispatch(RESERVE, 'token-1'), 'm-1', always);

    assert.deepEqual(queue.starts(), [], 'nothing went through the queue');
    for (const key of [RESERVE, ACTIVATE, DONE, WELCOME])
      assert.equal(store.item(ORDER, key).state, 'Completed', key);
    assert.equal(store.order(ORDER).state, 'completed');
    assert.deepEqual(
      http.requests.map((r) => r.method),
      ['POST', 'PUT'],
      'each system asked once',
    );
    // Each dependent ran as a delivery of its own, named after the message that finished its prerequisite.
    assert.equal(store.item(ORDER, ACTIVATE).attemptId, `m-1/${ACTIVATE}`);
    assert.equal(store.item(ORDER, WELCOME).attemptId, `m-1/${ACTIVATE}/${DONE}/${WELCOME}`);
  });

  it('sends the dependent to the queue when the invocation has no time left for its run', async () => {
    const { deps, store, queue } = await dispatched();

    await runWithFollowOns(deps, dispatch(RESERVE, 'token-1'), 'm-1', () => false);

    assert.equal(store.item(ORDER, RESERVE).state, 'Completed');
    assert.deepEqual(queue.starts(), [start(ACTIVATE)]);
    assert.equal(store.item(ORDER, ACTIVATE).state, 'Pending');
  });

  it('sends a dependent whose run here failed to the queue, and the message that finished its prerequisite succeeds', async (t) => {
    const logs = capturedLogs(t, 'WARN', 'ERROR');
    const { deps, store, queue } = await dispatched();
    const claim = store.claimItem.bind(store);
    let refused = false;
    store.claimItem = async (...args: Parameters<typeof store.claimItem>) => {
      if (args[1] === ACTIVATE && !refused) {
        refused = true;
        throw new Error('ProvisionedThroughputExceededException');
      }
      return claim(...args);
    };

    await runWithFollowOns(deps, dispatch(RESERVE, 'token-1'), 'm-1', always);

    assert.equal(store.item(ORDER, RESERVE).state, 'Completed');
    assert.equal(store.item(ORDER, ACTIVATE).state, 'Pending');
    assert.deepEqual(queue.starts(), [start(ACTIVATE)]);
    assert.ok(logs().some((line) => line.includes('a dependent run in this invocation failed')));

    // Its message then runs it, and the rest of the chain follows on from there.
    await runWithFollowOns(deps, start(ACTIVATE), 'm-2', always);
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it('finds nothing to run again when the first message is redelivered after the chain ran', async () => {
    const { deps, store, http, queue } = await dispatched();
    await runWithFollowOns(deps, dispatch(RESERVE, 'token-1'), 'm-1', always);

    await runWithFollowOns(deps, dispatch(RESERVE, 'token-1'), 'm-1', always);

    assert.equal(http.requests.length, 2, 'no system asked twice');
    assert.deepEqual(queue.starts(), []);
    assert.equal(store.order(ORDER).state, 'completed');
  });
});
