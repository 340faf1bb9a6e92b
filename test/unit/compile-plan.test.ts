import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePlan, WORK_QUEUE_URL } from '../../statemachines/compile-plan';
import { MAX_PLAN_TIMEOUT_SECONDS, planDefinitionSchema } from '../../statemachines/plan-definition';

const dslPlan = (extra: Record<string, unknown> = {}) =>
  planDefinitionSchema.parse({
    id: 'dsl-broadband',
    fulfils: [{ offering: 'dsl-broadband' }],
    items: [
      { id: 'reserve-port', type: 'callout', interface: 'inventory-reserve-port' },
      { id: 'activate', type: 'callout', interface: 'activation', dependsOn: ['reserve-port'] },
      { id: 'done', type: 'milestone', dependsOn: ['activate'] },
    ],
    ...extra,
  });

type Branch = { StartAt: string; States: Record<string, Record<string, unknown>> };

function branchesOf(asl: ReturnType<typeof compilePlan>): Branch[] {
  return asl.States.Items?.Branches as Branch[];
}

describe('compilePlan', () => {
  it('compiles a plan to one Parallel state that ends the execution and discards its result', () => {
    // Prepare
    const plan = dslPlan();

    // Act
    const asl = compilePlan(plan);

    // Assess
    assert.equal(asl.StartAt, 'Items');
    assert.deepEqual(Object.keys(asl.States), ['Items']);
    const items = asl.States.Items;
    assert.equal(items?.Type, 'Parallel');
    assert.equal(items?.ResultPath, null);
    assert.equal(items?.End, true);
    assert.match(asl.Comment, /"dsl-broadband"/);
  });

  it('gives every item, in plan order, a branch of exactly one Task named after it', () => {
    const plan = dslPlan();

    const branches = branchesOf(compilePlan(plan));

    assert.deepEqual(
      branches.map((b) => [b.StartAt, Object.keys(b.States)]),
      [
        ['reserve-port', ['reserve-port']],
        ['activate', ['activate']],
        ['done', ['done']],
      ],
    );
  });

  it('makes each Task put the ids on the work queue and wait for its task token', () => {
    const plan = dslPlan({ timeoutSeconds: 3600 });

    const branches = branchesOf(compilePlan(plan));

    assert.deepEqual(branches[0]?.States['reserve-port'], {
      Type: 'Task',
      Comment: 'callout reserve-port',
      Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
      Parameters: {
        QueueUrl: `\${${WORK_QUEUE_URL}}`,
        MessageBody: {
          'orderId.$': '$.orderId',
          'itemKey.$': "States.Format('{}.reserve-port', $.lineSeq)",
          'taskToken.$': '$$.Task.Token',
        },
      },
      TimeoutSeconds: 3600,
      ResultPath: null,
      End: true,
    });
    const done = branches[2]?.States.done;
    assert.ok(done);
    assert.equal(done.Comment, 'milestone done');
    assert.equal(
      (done.Parameters as { MessageBody: Record<string, string> }).MessageBody['itemKey.$'],
      "States.Format('{}.done', $.lineSeq)",
    );
  });

  it('does not encode dependencies: every Task ends its branch', () => {
    const branches = branchesOf(compilePlan(dslPlan()));

    for (const branch of branches) {
      const task = branch.States[branch.StartAt];
      assert.equal(task?.End, true);
      assert.equal('Next' in (task ?? {}), false);
    }
  });

  it('bounds every wait by the plan timeout, the default one when the plan names none', () => {
    const withDefault = branchesOf(compilePlan(dslPlan()));
    const withMax = branchesOf(compilePlan(dslPlan({ timeoutSeconds: MAX_PLAN_TIMEOUT_SECONDS })));

    for (const branch of withDefault)
      assert.equal(branch.States[branch.StartAt]?.TimeoutSeconds, 14 * 24 * 3600);
    for (const branch of withMax)
      assert.equal(branch.States[branch.StartAt]?.TimeoutSeconds, MAX_PLAN_TIMEOUT_SECONDS);
  });

  it('uses the work-queue substitution name and no JSONata-only fields', () => {
    const text = JSON.stringify(compilePlan(dslPlan()));

    assert.equal(WORK_QUEUE_URL, 'WorkQueueUrl');
    assert.equal(text.split(`\${${WORK_QUEUE_URL}}`).length - 1, 3);
    for (const field of ['QueryLanguage', 'Arguments', 'Assign', 'HeartbeatSeconds', 'Output']) {
      assert.equal(text.includes(`"${field}"`), false, `${field} is not used`);
    }
  });
});
