import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateMachine } from 'aws-local-stepfunctions';
import { decompose } from '../../lambdas/domain/decompose';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import {
  type AslDefinition,
  compilePlan,
  itemKey,
  MAX_LINES_PER_RUN,
  type PlanExecutionInput,
  WORK_QUEUE_URL,
} from '../../statemachines/compile-plan';
import { MAX_TIMEOUT_SECONDS, planDefinitionSchema } from '../../statemachines/plan-definition';
import { offering } from './fixtures/catalogs';

type State = Record<string, unknown>;
type Block = { StartAt: string; States: Record<string, State> };

const planOf = (items: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  planDefinitionSchema.parse({ id: 'fibre', fulfils: [{ offering: 'fibre' }], items, ...extra });

/** Line-scoped only: the DSL chain of two callouts and a milestone. */
const linePlan = (extra: Record<string, unknown> = {}) =>
  planOf(
    [
      { id: 'reserve-port', type: 'callout', interface: 'inventory-reserve-port' },
      { id: 'activate', type: 'callout', interface: 'activation', dependsOn: ['reserve-port'] },
      { id: 'done', type: 'milestone', dependsOn: ['activate'] },
    ],
    extra,
  );

/** Both scopes: a survey for the order, install and activate per line, a handover for the order. */
const mixedPlan = (extra: Record<string, unknown> = {}) =>
  planOf(
    [
      { id: 'survey', type: 'callout', interface: 'site-survey', scope: 'order' },
      { id: 'install', type: 'manualTask', dependsOn: ['survey'] },
      {
        id: 'activate',
        type: 'callout',
        interface: 'activation',
        dependsOn: ['install'],
        timeoutSeconds: 600,
      },
      { id: 'handover', type: 'milestone', dependsOn: ['activate'], scope: 'order', timeoutSeconds: 7200 },
    ],
    extra,
  );

const branchesOf = (state: State | undefined) => (state?.Branches ?? []) as Block[];
const processorOf = (state: State | undefined) =>
  state?.ItemProcessor as Block & { ProcessorConfig: unknown };
const bodyOf = (task: State | undefined) =>
  (task?.Parameters as { MessageBody: Record<string, string> } | undefined)?.MessageBody;

/** Every Task state in the definition, by name, however deeply nested. */
function tasksOf(block: Block, into = new Map<string, State>()): Map<string, State> {
  for (const [name, state] of Object.entries(block.States)) {
    if (state.Type === 'Task') into.set(name, state);
    for (const branch of branchesOf(state)) tasksOf(branch, into);
    if (state.ItemProcessor) tasksOf(processorOf(state), into);
  }
  return into;
}

/**
 * Runs the definition on the local engine, each Task answering at once, and returns the message bodies
 * the Tasks would have put on the work queue.
 */
async function dispatchedBodies(
  asl: AslDefinition,
  input: PlanExecutionInput,
): Promise<Record<string, string>[]> {
  const text = JSON.stringify(asl)
    .split(`\${${WORK_QUEUE_URL}}`)
    .join('https://sqs.eu-west-1.amazonaws.com/123456789012/work');
  const machine = new StateMachine(JSON.parse(text), {
    validationOptions: { checkPaths: true, checkArn: false },
  });
  const bodies: Record<string, string>[] = [];
  const handlers = Object.fromEntries(
    [...tasksOf(asl).keys()].map((name) => [
      name,
      async (parameters: { MessageBody: Record<string, string> }) => {
        bodies.push(parameters.MessageBody);
        return { answered: name };
      },
    ]),
  );
  const execution = machine.run(
    { ...input },
    {
      overrides: { taskResourceLocalHandlers: handlers as never },
      context: { Task: { Token: 'token' } } as never,
    },
  );
  assert.deepEqual(await execution.result, input, 'every wait discards its result');
  return bodies;
}

describe('itemKey', () => {
  it('is <plan>.<item> for an order-scoped item and <plan>.<item>.<line> for a line instance', () => {
    assert.equal(itemKey('fibre', 'survey'), 'fibre.survey');
    assert.equal(itemKey('fibre', 'install', '3'), 'fibre.install.3');
  });
});

describe('compilePlan', () => {
  it('compiles a plan of only order-scoped items to a Parallel "Items" with one Task per item', () => {
    // Prepare
    const plan = planOf([
      { id: 'survey', type: 'milestone', scope: 'order' },
      { id: 'handover', type: 'milestone', scope: 'order', dependsOn: ['survey'] },
    ]);

    // Act
    const asl = compilePlan(plan);

    // Assess
    assert.equal(asl.StartAt, 'Items');
    assert.deepEqual(Object.keys(asl.States), ['Items']);
    const items = asl.States.Items;
    assert.equal(items?.Type, 'Parallel');
    assert.equal(items?.ResultPath, null);
    assert.equal(items?.End, true);
    assert.deepEqual(
      branchesOf(items).map((b) => [b.StartAt, Object.keys(b.States)]),
      [
        ['survey', ['survey']],
        ['handover', ['handover']],
      ],
    );
    assert.deepEqual(
      branchesOf(items).map((b) => bodyOf(b.States[b.StartAt])?.itemKey),
      ['fibre.survey', 'fibre.handover'],
    );
    assert.match(asl.Comment, /"fibre"/);
  });

  it('makes an order-scoped Task put a literal item key on the work queue and wait for its token', () => {
    const plan = planOf([{ id: 'survey', type: 'callout', interface: 'site-survey', scope: 'order' }], {
      timeoutSeconds: 3600,
    });

    const asl = compilePlan(plan);

    assert.deepEqual(asl.States.survey, {
      Type: 'Task',
      Comment: 'callout survey (order scope)',
      Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
      Parameters: {
        QueueUrl: `\${${WORK_QUEUE_URL}}`,
        MessageBody: { 'orderId.$': '$.orderId', itemKey: 'fibre.survey', 'taskToken.$': '$$.Task.Token' },
      },
      TimeoutSeconds: 3600,
      ResultPath: null,
      End: true,
    });
  });

  it('collapses a plan of a single order-scoped item to that Task alone', () => {
    const plan = planOf([{ id: 'survey', type: 'milestone', scope: 'order' }]);

    const asl = compilePlan(plan);

    assert.equal(asl.StartAt, 'survey');
    assert.deepEqual(Object.keys(asl.States), ['survey']);
    assert.equal(asl.States.survey?.Type, 'Task');
    assert.equal(asl.States.survey?.End, true);
  });

  it('compiles a plan of only line-scoped items to a Map "Lines" over the run lines', () => {
    const plan = linePlan();

    const asl = compilePlan(plan);

    assert.equal(asl.StartAt, 'Lines');
    assert.deepEqual(Object.keys(asl.States), ['Lines']);
    const { ItemProcessor: _processor, ...map } = asl.States.Lines ?? {};
    assert.deepEqual(map, {
      Type: 'Map',
      ItemsPath: '$.lines',
      ItemSelector: { 'orderId.$': '$.orderId', 'lineSeq.$': '$$.Map.Item.Value' },
      MaxConcurrency: MAX_LINES_PER_RUN,
      ResultPath: null,
      End: true,
    });
    assert.equal(MAX_LINES_PER_RUN, 40);
    assert.deepEqual(processorOf(asl.States.Lines).ProcessorConfig, { Mode: 'INLINE' });
  });

  it('runs the line-scoped items of a line in a Parallel "LineItems" with one Task per item', () => {
    const plan = linePlan();

    const processor = processorOf(compilePlan(plan).States.Lines);

    assert.equal(processor.StartAt, 'LineItems');
    assert.deepEqual(Object.keys(processor.States), ['LineItems']);
    const lineItems = processor.States.LineItems;
    assert.equal(lineItems?.Type, 'Parallel');
    assert.equal(lineItems?.ResultPath, null);
    assert.equal(lineItems?.End, true);
    assert.deepEqual(
      branchesOf(lineItems).map((b) => [b.StartAt, Object.keys(b.States)]),
      [
        ['reserve-port', ['reserve-port']],
        ['activate', ['activate']],
        ['done', ['done']],
      ],
    );
  });

  it('makes a line-scoped Task format its item key from the line number', () => {
    const plan = linePlan({ timeoutSeconds: 3600 });

    const processor = processorOf(compilePlan(plan).States.Lines);
    const [reserve] = branchesOf(processor.States.LineItems);

    assert.deepEqual(reserve?.States['reserve-port'], {
      Type: 'Task',
      Comment: 'callout reserve-port (line scope)',
      Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
      Parameters: {
        QueueUrl: `\${${WORK_QUEUE_URL}}`,
        MessageBody: {
          'orderId.$': '$.orderId',
          'itemKey.$': "States.Format('fibre.reserve-port.{}', $.lineSeq)",
          'taskToken.$': '$$.Task.Token',
        },
      },
      TimeoutSeconds: 3600,
      ResultPath: null,
      End: true,
    });
  });

  it('collapses the per-line work of a single line-scoped item to that Task alone', () => {
    const plan = planOf([{ id: 'install', type: 'manualTask', instructions: 'Fit the socket.' }]);

    const asl = compilePlan(plan);

    assert.equal(asl.StartAt, 'Lines');
    const processor = processorOf(asl.States.Lines);
    assert.equal(processor.StartAt, 'install');
    assert.deepEqual(Object.keys(processor.States), ['install']);
    assert.equal(processor.States.install?.Comment, 'manualTask install (line scope)');
    assert.equal(
      bodyOf(processor.States.install)?.['itemKey.$'],
      "States.Format('fibre.install.{}', $.lineSeq)",
    );
  });

  it('compiles a plan of both scopes to a Parallel "Items" of the order-scoped Tasks and one branch with the Map', () => {
    const plan = mixedPlan();

    const asl = compilePlan(plan);

    assert.equal(asl.StartAt, 'Items');
    assert.deepEqual(Object.keys(asl.States), ['Items']);
    const branches = branchesOf(asl.States.Items);
    assert.deepEqual(
      branches.map((b) => [b.StartAt, Object.keys(b.States)]),
      [
        ['survey', ['survey']],
        ['handover', ['handover']],
        ['Lines', ['Lines']],
      ],
    );
    assert.equal(bodyOf(branches[0]?.States.survey)?.itemKey, 'fibre.survey');
    assert.equal(bodyOf(branches[1]?.States.handover)?.itemKey, 'fibre.handover');
    const lines = branches[2]?.States.Lines;
    assert.equal(lines?.Type, 'Map');
    assert.equal(lines?.End, true);
    const processor = processorOf(lines);
    assert.deepEqual(
      branchesOf(processor.States.LineItems).map((b) => b.StartAt),
      ['install', 'activate'],
    );
  });

  it('bounds each wait by its item timeout, else the plan timeout, else the 14-day default', () => {
    const withDefault = tasksOf(compilePlan(mixedPlan()));
    const withPlanTimeout = tasksOf(compilePlan(mixedPlan({ timeoutSeconds: MAX_TIMEOUT_SECONDS })));

    const timeouts = (tasks: Map<string, State>) =>
      Object.fromEntries([...tasks].map(([name, task]) => [name, task.TimeoutSeconds]));
    assert.deepEqual(timeouts(withDefault), {
      survey: 14 * 24 * 3600,
      handover: 7200,
      install: 14 * 24 * 3600,
      activate: 600,
    });
    assert.deepEqual(timeouts(withPlanTimeout), {
      survey: MAX_TIMEOUT_SECONDS,
      handover: 7200,
      install: MAX_TIMEOUT_SECONDS,
      activate: 600,
    });
  });

  it('does not encode dependencies: every Task ends its branch', () => {
    const tasks = tasksOf(compilePlan(mixedPlan()));

    assert.equal(tasks.size, 4);
    for (const [name, task] of tasks) {
      assert.equal(task.End, true, name);
      assert.equal('Next' in task, false, name);
    }
  });

  it('uses the work-queue substitution once per Task and no JSONata-only fields', () => {
    const text = JSON.stringify(compilePlan(mixedPlan()));

    assert.equal(WORK_QUEUE_URL, 'WorkQueueUrl');
    assert.equal(text.split(`\${${WORK_QUEUE_URL}}`).length - 1, 4);
    for (const field of ['QueryLanguage', 'Arguments', 'Assign', 'HeartbeatSeconds', 'Output', 'Iterator']) {
      assert.equal(text.includes(`"${field}"`), false, `${field} is not used`);
    }
  });

  for (const [shape, plan] of [
    ['order-scoped only', planOf([{ id: 'survey', type: 'milestone', scope: 'order' }])],
    ['line-scoped only', linePlan()],
    ['both scopes', mixedPlan()],
  ] as const) {
    it(`dispatches exactly the items decompose creates for the run (${shape}), with the run's order id`, async () => {
      // Prepare: an order whose lines 2 and 4 go to the plan, line 3 to another plan.
      const catalog = {
        systems: {},
        interfaces: {},
        mappings: {},
        authProfiles: {},
        customAdapters: [],
        procedures: {},
        offerings: { fibre: offering('fibre'), voice: offering('voice') },
        plans: {
          fibre: plan,
          voice: planOf([{ id: 'ported', type: 'milestone' }], {
            id: 'voice',
            fulfils: [{ offering: 'voice' }],
          }),
        },
      };
      const line = (id: string, offering: string, action = 'add') => ({
        id,
        action,
        productOffering: { id: offering },
      });
      const submitted = productOrderCreateSchema.parse({
        productOrderItem: [
          line('keep', 'fibre', 'noChange'),
          line('a', 'fibre'),
          line('phone', 'voice'),
          line('b', 'fibre'),
        ],
      });
      const { items, runs } = decompose(catalog, 'o-9', submitted, '2025-03-01T10:00:00.000Z');
      const run = runs.find((r) => r.planId === 'fibre');
      assert.ok(run);

      // Act
      const bodies = await dispatchedBodies(compilePlan(plan), run.input);

      // Assess
      assert.deepEqual(run.input, { orderId: 'o-9', lines: ['2', '4'] });
      assert.deepEqual(
        bodies.map((b) => b.itemKey).sort(),
        items
          .filter((i) => i.planId === 'fibre')
          .map((i) => i.key)
          .sort(),
      );
      for (const body of bodies) assert.deepEqual([body.orderId, body.taskToken], ['o-9', 'token']);
    });
  }
});
