import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DELIVERY_ATTEMPTS } from '../../lambdas/domain/listener';
import { METRICS } from '../../lambdas/domain/metrics';
import { ORDER_EVENT_SOURCE } from '../../lambdas/domain/order-events';
import { ORDERS_WATCHED } from '../../lambdas/shared/order-table';
import { buildApp } from '../../lib/app';
import { CatalogError, type CatalogProblem } from '../../lib/catalog/load-catalog';
import { CALLBACK_THROTTLE, DEFAULT_THROTTLE } from '../../lib/constructs/api';
import { switchboardOpenApi } from '../../lib/openapi';
import { CORRELATOR_MAX_CONCURRENCY, WORKER_MAX_CONCURRENCY } from '../../lib/stateless-stack';
import { copyDemoCatalog } from '../../local/catalog-copy';
import { projectContext } from '../../local/synthesize';

const DEMO_PLANS = readdirSync('catalog/plans').length;

/** Every synth's cloud assembly goes under here, removed once the file's tests are done (bundles are big). */
const OUTDIRS = mkdtempSync(join(tmpdir(), 'switchboard-cdk-'));
after(() => rmSync(OUTDIRS, { recursive: true, force: true }));

function synth(context: Record<string, unknown> = {}): { app: App; stateful: Template; stateless: Template } {
  // With cdk.json's context, feature flags included, as `cdk synth` and the local runtime synthesize.
  const app = buildApp({
    outdir: mkdtempSync(join(OUTDIRS, 'app-')),
    context: { ...projectContext(), ...context },
  });
  // Synthesis runs cdk-nag's AwsSolutions pack; an unacknowledged finding throws here.
  app.synth();
  const stack = (id: string) => app.node.findChild(id) as Stack;
  return {
    app,
    stateful: Template.fromStack(stack('SwitchboardStateful')),
    stateless: Template.fromStack(stack('SwitchboardStateless')),
  };
}

/**
 * CDK's own context that names the stacks whose assets are bundled: none, for a synth whose tests read
 * only the templates (as `cdk synth --exclusively` skips the others). Each bundling costs seconds.
 */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** The problems a synth of the catalog in `catalogDir` fails with; the test fails if it passes. */
function catalogProblems(catalogDir: string): CatalogProblem[] {
  try {
    buildApp({
      outdir: mkdtempSync(join(OUTDIRS, 'app-')),
      context: { 'switchboard:catalogDir': catalogDir },
    });
  } catch (error) {
    assert.ok(error instanceof CatalogError, String(error));
    return error.problems;
  }
  assert.fail('the synth passed');
}

/** The app as deployed with every context value set (once, for the tests that need it). */
let elsewhere: ReturnType<typeof synth> | undefined;
function deployedElsewhere(): ReturnType<typeof synth> {
  elsewhere ??= synth({
    'switchboard:systemBaseUrls': { inventory: 'https://inventory.example.net' },
    'switchboard:alarmEmail': 'ops@example.net',
    'switchboard:apiThrottle': '{"rateLimit": 50, "burstLimit": 100}',
    'switchboard:peopleCallbackUrls': 'https://ops.example.net/signed-in, http://localhost:8080',
  });
  return elsewhere;
}

/** The IAM statements of the function whose logical id starts with `prefix`. */
function statementsOf(
  template: Template,
  prefix: string,
): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const fn = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) =>
    id.startsWith(prefix),
  );
  assert.ok(fn, `no function ${prefix}`);
  const roleRef = (fn[1].Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleRef))
    .flatMap(
      (p) =>
        p.Properties.PolicyDocument.Statement as {
          Action: string | string[];
          Resource: unknown;
          Condition?: unknown;
        }[],
    );
}

/** Properties that name a resource in the account and region, for every type and for some types. */
const UNIQUE_NAMES = ['LogGroupName', 'TableName', 'QueueName', 'FunctionName', 'TopicName', 'RoleName'];
const UNIQUE_NAMES_OF: Record<string, string[]> = {
  'AWS::Events::EventBus': ['Name'],
  'AWS::Events::Rule': ['Name'],
  'AWS::SecretsManager::Secret': ['Name'],
  'AWS::Scheduler::ScheduleGroup': ['Name'],
  'AWS::Cognito::UserPoolDomain': ['Domain'],
  'AWS::StepFunctions::StateMachine': ['StateMachineName'],
  'AWS::CloudWatch::Alarm': ['AlarmName'],
  'AWS::CloudWatch::Dashboard': ['DashboardName'],
  'AWS::S3::Bucket': ['BucketName'],
};

/**
 * The names the templates set that must be unique in an account and region — export names, and the
 * names resources are given — rendered with `{…}` for what CloudFormation fills in.
 */
function namesIn(templates: unknown[]): string[] {
  const render = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object' && 'Fn::Join' in value) {
      const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      return parts.map((part) => render(part) ?? '{…}').join(separator);
    }
    return undefined;
  };
  const names: string[] = [];
  for (const template of templates) {
    const { Resources = {}, Outputs = {} } = template as {
      Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
      Outputs?: Record<string, { Export?: { Name?: unknown } }>;
    };
    for (const { Type, Properties = {} } of Object.values(Resources)) {
      for (const key of [...UNIQUE_NAMES, ...(UNIQUE_NAMES_OF[Type] ?? [])]) {
        const rendered = render(Properties[key]);
        if (rendered !== undefined) names.push(rendered);
      }
    }
    for (const output of Object.values(Outputs)) {
      const rendered = render(output.Export?.Name);
      if (rendered !== undefined) names.push(rendered);
    }
  }
  return [...new Set(names)].sort();
}

function actionsOf(template: Template, prefix: string): string[] {
  return statementsOf(template, prefix).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

describe('the Switchboard CDK app', () => {
  const { stateful, stateless } = synth();

  it('keeps orders and configuration in encrypted, on-demand tables with point-in-time recovery and no physical name', () => {
    stateful.resourceCountIs('AWS::DynamoDB::Table', 2);
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TableName: Match.absent(),
    });
  });

  it('lists orders through three indexes (all, by state, by submitter) that the order function alone queries', () => {
    const [orders] = Object.values(stateful.findResources('AWS::DynamoDB::Table')).filter((t) =>
      (t.Properties.GlobalSecondaryIndexes as { IndexName: string }[]).some(
        (i) => i.IndexName === 'ordersByCreation',
      ),
    );
    assert.ok(orders);
    const listing = (orders.Properties.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown }[])
      .filter((i) => i.IndexName.startsWith('ordersBy'))
      .map((i) => [i.IndexName, i.KeySchema]);
    assert.deepEqual(listing, [
      [
        'ordersByCreation',
        [
          { AttributeName: 'listAll', KeyType: 'HASH' },
          { AttributeName: 'listSort', KeyType: 'RANGE' },
        ],
      ],
      [
        'ordersByState',
        [
          { AttributeName: 'listState', KeyType: 'HASH' },
          { AttributeName: 'listSort', KeyType: 'RANGE' },
        ],
      ],
      [
        'ordersBySubmitter',
        [
          { AttributeName: 'listOwner', KeyType: 'HASH' },
          { AttributeName: 'listSort', KeyType: 'RANGE' },
        ],
      ],
    ]);
    const queried = JSON.stringify(
      statementsOf(stateless, 'OrderApi').filter((st) =>
        JSON.stringify(st.Action).includes('dynamodb:Query'),
      ),
    );
    for (const index of ['ordersByCreation', 'ordersByState', 'ordersBySubmitter']) {
      assert.match(queried, new RegExp(`index/${index}`), index);
    }
  });

  it('gives every work queue a dead-letter queue, encrypts every queue and refuses plain HTTP', () => {
    const queues = stateful.findResources('AWS::SQS::Queue');
    const dlqs = Object.entries(queues).filter(([, q]) => !q.Properties?.RedrivePolicy);
    const workQueues = Object.entries(queues).filter(([, q]) => q.Properties?.RedrivePolicy);
    assert.ok(workQueues.length >= 1);
    for (const [id, queue] of workQueues) {
      const target = queue.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
      assert.ok(
        dlqs.some(([dlqId]) => dlqId === target),
        `${id} redrives to a queue of this stack`,
      );
      // Event deliveries are retried on their own backoff for more than a day (domain/listener.ts).
      const deliveries = id.startsWith('Deliveries');
      assert.equal(queue.Properties.RedrivePolicy.maxReceiveCount, deliveries ? DELIVERY_ATTEMPTS : 5, id);
    }
    for (const [id, queue] of Object.entries(queues)) {
      assert.equal(queue.Properties?.SqsManagedSseEnabled, true, `${id} is encrypted`);
      assert.equal(queue.Properties?.QueueName, undefined, `${id} has no physical name`);
    }
    stateful.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('has an event bus for availability events', () => {
    stateful.resourceCountIs('AWS::Events::EventBus', 1);
  });

  it('lists held items by system and by interface through two sparse indexes on the orders table, oldest first', () => {
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'itemsInFallout',
          KeySchema: [
            { AttributeName: 'falloutList', KeyType: 'HASH' },
            { AttributeName: 'falloutSort', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['orderId', 'key', 'error'] },
        },
      ]),
    });
    for (const [indexName, partition] of [
      ['itemsHeldBySystem', 'heldSystem'],
      ['itemsHeldByInterface', 'heldInterface'],
    ]) {
      stateful.hasResourceProperties('AWS::DynamoDB::Table', {
        GlobalSecondaryIndexes: Match.arrayWith([
          {
            IndexName: indexName,
            KeySchema: [
              { AttributeName: partition, KeyType: 'HASH' },
              { AttributeName: 'holdSort', KeyType: 'RANGE' },
            ],
            Projection: {
              ProjectionType: 'INCLUDE',
              NonKeyAttributes: ['orderId', 'key', 'hold', 'releaseId', 'releaseAt'],
            },
          },
        ]),
      });
    }
  });

  it('lists the items workers hold by when their lease runs out through a sparse index, for the takeover sweeps', () => {
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'itemsByLease',
          KeySchema: [
            { AttributeName: 'leaseList', KeyType: 'HASH' },
            { AttributeName: 'leaseUntil', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['orderId', 'key'] },
        },
      ]),
    });
  });

  it('releases held items from a rule on the bus for available systems and release requests', () => {
    const [rule] = Object.values(stateless.findResources('AWS::Events::Rule'));
    assert.ok(rule, 'a rule on the bus');
    assert.deepEqual(rule.Properties.EventPattern, {
      source: ['switchboard.availability'],
      'detail-type': ['System Available', 'Held Items Release Requested'],
      detail: { releaseId: [{ exists: true }] },
    });
    const [target] = rule.Properties.Targets as { Arn: { 'Fn::GetAtt': string[] }; RetryPolicy?: unknown }[];
    assert.match(String(target?.Arn['Fn::GetAtt'][0]), /^ReleaseHeldItems/);
    const actions = actionsOf(stateless, 'ReleaseHeldItems');
    assert.ok(actions.includes('events:PutEvents'), 'a release that runs out of time continues itself');
    assert.ok(actions.includes('sqs:SendMessage'));
    assert.ok(!actions.includes('dynamodb:PutItem') && !actions.includes('dynamodb:DeleteItem'));
    stateless.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Sends held items back to work'),
      Timeout: 900,
    });
  });

  it('schedules maintenance windows with EventBridge Scheduler in its own group, through a role that may invoke only the maintenance function', () => {
    stateless.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    const adminActions = actionsOf(stateless, 'AdminApi');
    for (const action of [
      'scheduler:CreateSchedule',
      'scheduler:DeleteSchedule',
      'iam:PassRole',
      'events:PutEvents',
    ]) {
      assert.ok(adminActions.includes(action), action);
    }
    const roles = Object.entries(stateless.findResources('AWS::IAM::Role')).filter(([id]) =>
      id.startsWith('MaintenanceSchedulerRole'),
    );
    assert.equal(roles.length, 1);
    const [roleId, role] = roles[0] ?? [];
    assert.equal(
      role?.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service,
      'scheduler.amazonaws.com',
    );
    const policies = Object.values(stateless.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
    const statements = policies.flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[],
    );
    const invokes = statements.filter((st) => st.Action === 'lambda:InvokeFunction');
    assert.equal(invokes.length, 1);
    assert.ok(!JSON.stringify(invokes).includes(':*'), 'the function only, no versions or wildcards');
    // Besides the invoke, it may only send what it could not deliver to the Undelivered queue.
    const others = statements.filter((st) => st.Action !== 'lambda:InvokeFunction');
    for (const statement of others) {
      assert.ok(
        [statement.Action].flat().every((a) => String(a).startsWith('sqs:')),
        JSON.stringify(statement),
      );
      assert.match(JSON.stringify(statement.Resource), /Undelivered/);
    }
  });

  it('runs every Lambda on Node 24, ARM64, with X-Ray and a log group that expires', () => {
    const all = Object.entries(stateless.findResources('AWS::Lambda::Function'));
    // CDK's own BucketDeployment provider (Python, with the AWS CLI) puts the console in its bucket.
    const cdkProvider = all.filter(([id]) => id.startsWith('CustomCDKBucketDeployment'));
    assert.equal(cdkProvider.length, 1);
    const functions = all.filter(([id]) => !id.startsWith('CustomCDKBucketDeployment')).map(([, fn]) => fn);
    // Orders, orchestration, the callout worker, the admin API, the configuration seeder, the callback
    // API and the callback correlator, the release and the maintenance window functions, the plan-run
    // watcher, the callback key rotation, and the TMF622 events' publisher and delivery.
    assert.equal(functions.length, 13);
    for (const fn of functions) {
      assert.equal(fn.Properties.Runtime, 'nodejs24.x');
      assert.deepEqual(fn.Properties.Architectures, ['arm64']);
      assert.deepEqual(fn.Properties.TracingConfig, { Mode: 'Active' });
      assert.equal(fn.Properties.FunctionName, undefined);
      // JSON logs at the application level the context gives (INFO by default), Powertools' service.
      assert.deepEqual(
        { ...fn.Properties.LoggingConfig, LogGroup: undefined },
        { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: undefined },
      );
      assert.equal(fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME, 'switchboard');
      assert.equal(fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE, 'Switchboard');
    }
    stateless.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('watches plan runs: their abnormal ends and a sweep every five minutes reach the watcher', () => {
    const rules = Object.values(stateless.findResources('AWS::Events::Rule'));
    const ended = rules.find((r) => r.Properties.EventPattern?.source?.[0] === 'aws.states');
    assert.ok(ended, "a rule for Step Functions' status changes");
    assert.equal(ended.Properties.EventBusName, undefined, 'on the default bus, where AWS announces them');
    assert.deepEqual(ended.Properties.EventPattern['detail-type'], [
      'Step Functions Execution Status Change',
    ]);
    assert.deepEqual(ended.Properties.EventPattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED']);
    assert.equal(
      ended.Properties.EventPattern.detail.stateMachineArn.length,
      DEMO_PLANS,
      'the plan machines only',
    );
    const sweep = rules.find((r) => r.Properties.ScheduleExpression);
    assert.equal(sweep?.Properties.ScheduleExpression, 'rate(5 minutes)');
    for (const rule of [ended, sweep]) {
      const [target] = (rule?.Properties.Targets ?? []) as { Arn: { 'Fn::GetAtt': string[] } }[];
      assert.match(String(target?.Arn['Fn::GetAtt'][0]), /^PlanRunWatcher/);
    }
    const actions = actionsOf(stateless, 'PlanRunWatcher');
    assert.ok(actions.includes('states:StartExecution'), 'the sweep starts plans that never started');
    assert.ok(actions.includes('states:SendTaskSuccess'));
    assert.ok(
      actionsOf(stateless, 'OrchestrationApi').includes('states:StopExecution'),
      'failing an order stops its runs',
    );
    assert.ok(
      actionsOf(stateless, 'CalloutWorker').includes('states:StopExecution'),
      "a cancellation stops its order's runs",
    );
    assert.ok(
      actionsOf(stateless, 'OrderApi').includes('sqs:SendMessage'),
      'a cancellation asked for goes to the worker',
    );
  });

  it('compiles one Standard state machine per plan definition, logged and traced', () => {
    stateless.resourceCountIs('AWS::StepFunctions::StateMachine', DEMO_PLANS);
    stateless.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      DefinitionSubstitutions: { WorkQueueUrl: Match.anyValue() },
    });
  });

  it('lets the order function start plans and write orders, and delete only on the orders table (the records of an order it could not write whole)', () => {
    const actions = actionsOf(stateless, 'OrderApi');
    assert.ok(actions.includes('states:StartExecution'));
    assert.ok(actions.includes('dynamodb:PutItem'));
    for (const forbidden of [
      'dynamodb:DeleteTable',
      'dynamodb:BatchWriteItem',
      'dynamodb:*',
      'states:SendTaskSuccess',
      'states:SendTaskFailure',
    ]) {
      assert.ok(!actions.includes(forbidden), `order function must not have ${forbidden}`);
    }
  });

  it('grants no function BatchWriteItem (its puts cannot be told from its deletes), deletes of orders to the order function alone, and task answers only where they are given', () => {
    const byFunction = new Map<string, string[]>();
    for (const [id] of Object.entries(stateless.findResources('AWS::Lambda::Function'))) {
      if (!id.startsWith('CustomCDK'))
        byFunction.set(id.replace(/[0-9A-F]{8}$/, ''), actionsOf(stateless, id));
    }
    for (const [fn, actions] of byFunction) {
      assert.ok(!actions.includes('dynamodb:BatchWriteItem'), `${fn} has BatchWriteItem`);
      assert.ok(!actions.includes('states:SendTaskHeartbeat'), `${fn} may send heartbeats no wait asks for`);
    }
    const deletersOfOrders = [...byFunction.keys()].filter((fn) =>
      statementsOf(stateless, fn).some(
        (st) =>
          [st.Action].flat().includes('dynamodb:DeleteItem') && /Orders/.test(JSON.stringify(st.Resource)),
      ),
    );
    assert.deepEqual(deletersOfOrders, ['OrderApi']);
    const answering = (action: string) =>
      [...byFunction]
        .filter(([, actions]) => actions.includes(action))
        .map(([fn]) => fn)
        .sort();
    assert.deepEqual(answering('states:SendTaskSuccess'), [
      'CallbackCorrelator',
      'CalloutWorker',
      'OrchestrationApi',
      'PlanRunWatcher',
    ]);
    assert.deepEqual(
      answering('states:SendTaskFailure'),
      ['OrchestrationApi'],
      'only an operator fails an order',
    );
  });

  it('lets the orchestration functions read and update items and append to their logs, never delete', () => {
    const actions = actionsOf(stateless, 'OrchestrationApi').filter((a) => a.startsWith('dynamodb:'));
    // Reads of the retry rules (the configuration table) come in besides, which decide after an abort.
    assert.deepEqual([...new Set(actions)].sort(), [
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    const configuration = statementsOf(stateless, 'OrchestrationApi').filter((st) =>
      JSON.stringify(st.Resource).includes('Configuration'),
    );
    assert.ok(configuration.length > 0, 'the retry rules are read');
    for (const statement of configuration)
      assert.ok(
        [statement.Action]
          .flat()
          .every((a) => ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'].includes(String(a))),
        'only reads',
      );
  });

  it('lets the functions that look for items whose worker died, or for held items of a system that is back, query those indexes', () => {
    const indexesOf = (prefix: string) =>
      statementsOf(stateless, prefix)
        .filter((st) => [st.Action].flat().includes('dynamodb:Query'))
        .flatMap((st) => [...JSON.stringify(st.Resource).matchAll(/\/index\/([A-Za-z]+)/g)].map((m) => m[1]));
    assert.ok(indexesOf('CalloutWorker').includes('itemsByLease'), 'the worker takes items over');
    for (const index of ['ordersByState', 'itemsByLease', 'itemsHeldBySystem'])
      assert.ok(indexesOf('PlanRunWatcher').includes(index), `the sweep queries ${index}`);
    assert.ok(
      actionsOf(stateless, 'PlanRunWatcher').includes('events:PutEvents'),
      'the sweep asks for releases',
    );
  });

  it('lets the callout worker answer plan tasks and consume the work queue with partial batch failures', () => {
    const actions = actionsOf(stateless, 'CalloutWorker');
    assert.ok(actions.includes('states:SendTaskSuccess'));
    assert.ok(!actions.includes('states:StartExecution'));
    // Each transition of an item appends its log records (and a callout its attempt): puts, never a delete
    // of an order's records (see 'no function deletes orders'); deletes only of its systems' waiting lists.
    assert.ok(actions.includes('dynamodb:PutItem'));
    const deletes = statementsOf(stateless, 'CalloutWorker').filter((s) =>
      [s.Action].flat().includes('dynamodb:DeleteItem'),
    );
    assert.ok(deletes.length > 0);
    for (const statement of deletes) assert.match(JSON.stringify(statement.Resource), /Configuration/);
    stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
  });

  it('gives the callout worker the configuration and limits (update only) and reads of exactly the auth secrets', () => {
    const worker = Object.entries(stateless.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('CalloutWorker'),
    );
    assert.ok(worker);
    const env = worker[1].Properties.Environment.Variables as Record<string, unknown>;
    assert.ok(env.CONFIGURATION_TABLE && env.AUTH_PROFILE_SECRETS);
    // The callout can take twice its interface's timeout (an OAuth2 renewal) plus a wait under a rate limit.
    assert.ok((worker[1].Properties.Timeout as number) >= 60);
    const actions = actionsOf(stateless, 'CalloutWorker');
    assert.ok(actions.includes('secretsmanager:GetSecretValue'));
    const policies = JSON.stringify(stateless.findResources('AWS::IAM::Policy'));
    assert.ok(!policies.includes('"secretsmanager:*"'));
    const secrets = stateful.findResources('AWS::SecretsManager::Secret');
    assert.deepEqual(
      Object.values(secrets)
        .map(
          (secret) =>
            (secret.Properties.Tags as { Key: string; Value: string }[]).find(
              (tag) => tag.Key === 'switchboard:secret',
            )?.Value,
        )
        .sort(),
      [
        'activation-oauth',
        'billing-basic',
        'callback-signing-key',
        'callbacks:activation',
        'inventory-api-key',
        'porting-bearer',
        'provisioning-mtls',
        'scheduling-api-key',
      ],
    );
    for (const secret of Object.values(secrets)) {
      // A generated placeholder in the profile's shape: no credential is ever in the template.
      assert.ok(secret.Properties.GenerateSecretString?.GenerateStringKey);
      assert.equal(secret.Properties.SecretString, undefined);
    }
    // Mutual TLS: no certificate can be generated, so the placeholder names both fields to replace, and
    // the worker reads it like any other profile's.
    const mtls = Object.values(secrets).find((secret) =>
      JSON.stringify(secret.Properties.Tags).includes('"provisioning-mtls"'),
    );
    assert.deepEqual(mtls?.Properties.GenerateSecretString, {
      SecretStringTemplate: JSON.stringify({ certificate: 'replace-me' }),
      GenerateStringKey: 'privateKey',
    });
    assert.match(JSON.stringify(env.AUTH_PROFILE_SECRETS), /provisioning-mtls/);
  });

  it('lets operators change configuration at runtime: a PATCH route per system, and the admin function updates the configuration table', () => {
    stateless.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'PATCH /admin/systems/{systemId}',
      AuthorizationType: 'JWT',
    });
    // The conditional write of a record and the history beside it are both updates of the table, with no
    // condition on the leading key (that one is the listeners' grant).
    const updates = statementsOf(stateless, 'AdminApi').filter(
      (st) =>
        JSON.stringify(st.Resource).includes('Configuration') &&
        [st.Action].flat().includes('dynamodb:UpdateItem') &&
        st.Condition === undefined,
    );
    assert.equal(updates.length, 1);
    assert.ok([updates[0]?.Action].flat().includes('dynamodb:GetItem'), 'and reads the record it changes');
  });

  it('seeds the configuration table at deploy through a custom resource that changes with the catalog', () => {
    stateless.hasResourceProperties('Custom::SwitchboardConfiguration', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConfigurationSeeder'), 'Arn'] },
      catalogHash: Match.stringLikeRegexp('^[0-9a-f]{64}$'),
    });
    const seederActions = actionsOf(stateless, 'ConfigurationSeeder');
    assert.ok(seederActions.includes('dynamodb:DeleteItem'));
    // Operators create and delete retry rules in the configuration table; orders they only read and
    // update (holds, releases), never create or delete.
    const adminActions = actionsOf(stateless, 'AdminApi').filter((a) => a.startsWith('dynamodb:'));
    assert.ok(adminActions.includes('dynamodb:PutItem') && adminActions.includes('dynamodb:DeleteItem'));
    const adminPolicies = JSON.stringify(stateless.findResources('AWS::IAM::Policy'));
    const deletes = Object.values(stateless.findResources('AWS::IAM::Policy'))
      .flatMap(
        (p) =>
          p.Properties.PolicyDocument.Statement as {
            Action: string | string[];
            Resource: unknown;
            Condition?: unknown;
          }[],
      )
      .filter((s) => [s.Action].flat().includes('dynamodb:DeleteItem'));
    assert.ok(adminPolicies.length > 0);
    // The order function's delete (of an order it could not write whole) is the one on the orders table.
    const orderApiRole = JSON.stringify(statementsOf(stateless, 'OrderApi'));
    for (const statement of deletes.filter((st) => !orderApiRole.includes(JSON.stringify(st)))) {
      assert.doesNotMatch(JSON.stringify(statement.Resource), /Orders/, 'no other function deletes orders');
    }
  });

  it('keeps every secret when its stack is deleted: the signing keys, the systems’ callback secrets, the auth secrets', () => {
    const secrets = Object.values(stateful.findResources('AWS::SecretsManager::Secret'));
    assert.equal(secrets.length, 8);
    for (const secret of secrets) {
      assert.equal(secret.DeletionPolicy, 'Retain');
      assert.equal(secret.UpdateReplacePolicy, 'Retain');
    }
  });

  it('rotates the callback signing keys every 30 days, with a grace as long as the longest-lived callback URL', () => {
    const rotation = Object.entries(stateless.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('CallbackKeyRotation'),
    );
    assert.ok(rotation);
    const [rotationId, fn] = rotation;
    stateless.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationLambdaARN: { 'Fn::GetAtt': [rotationId, 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
      SecretId: { 'Fn::ImportValue': Match.stringLikeRegexp('CallbackSigningKey') },
    });
    // activation-activate-line: 20 s + an hour of waiting + 5 min of slack, + 10 min of stale caches.
    assert.equal(
      fn.Properties.Environment.Variables.CALLBACK_KEY_GRACE_SECONDS,
      String(20 + 3600 + 300 + 600),
    );
    stateless.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [rotationId, 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
    });
    // It reads and writes the signing key's versions, and no other secret.
    const secretStatements = statementsOf(stateless, 'CallbackKeyRotation').filter((s) =>
      JSON.stringify(s.Action).includes('secretsmanager:PutSecretValue'),
    );
    assert.equal(secretStatements.length, 1);
    assert.match(JSON.stringify(secretStatements[0]?.Resource), /CallbackSigningKey/);
  });

  it('takes callbacks through a queue with a dead-letter alarm, read-only at the door and applied by the correlator', () => {
    const door = actionsOf(stateless, 'CallbackApi');
    assert.ok(door.includes('sqs:SendMessage') && door.includes('secretsmanager:GetSecretValue'));
    // The door reads the signing keys and the secret of each system that signs its callbacks.
    const doorFn = Object.entries(stateless.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('CallbackApi'),
    );
    const doorEnv = doorFn?.[1].Properties.Environment.Variables as Record<string, unknown>;
    assert.ok(doorEnv.CALLBACK_SIGNING_SECRET_ARN);
    assert.match(
      JSON.stringify(doorEnv.CALLBACK_SYSTEM_SECRETS),
      /callbacks:activation.*CallbackSecretactivation/,
    );
    const readable = JSON.stringify(
      statementsOf(stateless, 'CallbackApi').filter((st) =>
        JSON.stringify(st.Action).includes('GetSecretValue'),
      ),
    );
    assert.match(readable, /CallbackSecretactivation/);
    assert.doesNotMatch(readable, /AuthSecret/, 'the door reads no system credentials');
    assert.ok(
      !door.some((a) => ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'states:SendTaskSuccess'].includes(a)),
    );
    const correlator = actionsOf(stateless, 'CallbackCorrelator');
    assert.ok(correlator.includes('states:SendTaskSuccess') && correlator.includes('dynamodb:UpdateItem'));
    // A callback is kept in its item's log (a put, refused when it was kept before); nothing is deleted.
    assert.ok(correlator.includes('dynamodb:PutItem') && !correlator.includes('dynamodb:DeleteItem'));
    // Both consumers bring a failed message back after a backoff: they may change its visibility.
    for (const consumer of ['CallbackCorrelator', 'CalloutWorker']) {
      assert.ok(actionsOf(stateless, consumer).includes('sqs:ChangeMessageVisibility'), consumer);
    }
    const [, correlatorFunction] = Object.entries(stateless.findResources('AWS::Lambda::Function')).find(
      ([id]) => id.startsWith('CallbackCorrelator'),
    ) ?? [undefined, undefined];
    assert.ok(
      'CALLBACK_QUEUE_URL' in (correlatorFunction?.Properties.Environment.Variables ?? {}),
      'the correlator knows its queue',
    );
    stateless.resourcePropertiesCountIs(
      'AWS::Lambda::EventSourceMapping',
      { FunctionResponseTypes: ['ReportBatchItemFailures'] },
      3,
    );
    // Every dead-letter queue (work, callbacks, event deliveries) raises an alarm when a message lands in it.
    stateful.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    stateful.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
  });

  it('announces orders’ changes as TMF622 events from the orders table’s stream, delivered by a queue of their own', () => {
    // Every change, before and after, read in order; only an order's, an item's and a cancellation's.
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 50,
      MaximumBatchingWindowInSeconds: 1,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              dynamodb: { Keys: { sk: { S: ['ORDER', 'CANCEL', { prefix: 'ITEM#' }] } } },
            }),
          },
        ],
      },
    });
    // The publisher reads orders and puts events on the bus; it updates an order's jeopardy, and creates
    // or deletes nothing.
    const publisher = actionsOf(stateless, 'OrderEvents');
    assert.ok(publisher.includes('events:PutEvents') && publisher.includes('dynamodb:GetItem'));
    assert.ok(publisher.includes('dynamodb:UpdateItem'));
    assert.ok(!publisher.some((a) => /Put|Delete/.test(a) && a.startsWith('dynamodb:')), publisher.join());
    // Orders with a due date are watched through a sparse index, swept every minute.
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: ORDERS_WATCHED,
          KeySchema: [
            { AttributeName: 'watchList', KeyType: 'HASH' },
            { AttributeName: 'nextCheckAt', KeyType: 'RANGE' },
          ],
        }),
      ]),
    });
    stateless.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OrderEvents'), 'Arn'] } })],
    });
    // The bus's order events reach the delivery function, which keeps what it could not take.
    stateless.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [ORDER_EVENT_SOURCE] },
      Targets: [
        Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 } }),
      ],
    });
    // Listeners' records only: the functions that touch them are held to LISTENER#… keys.
    for (const fn of ['OrderApi', 'EventDelivery', 'AdminApi']) {
      const statements = statementsOf(stateless, fn).filter((st) =>
        JSON.stringify(st.Condition ?? {}).includes('LeadingKeys'),
      );
      assert.equal(statements.length, 1, fn);
      assert.deepEqual(statements[0]?.Condition, {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LISTENER#*'] },
      });
    }
    // TMF622's hub routes, behind the JWT authorizer like the other order routes.
    for (const routeKey of [
      'POST /tmf-api/productOrderingManagement/v5/hub',
      'GET /tmf-api/productOrderingManagement/v5/hub',
      'GET /tmf-api/productOrderingManagement/v5/hub/{id}',
      'DELETE /tmf-api/productOrderingManagement/v5/hub/{id}',
    ])
      stateless.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'JWT',
      });
  });

  it('lets each plan state machine send to the work queue', () => {
    const policies = Object.values(stateless.findResources('AWS::IAM::Policy'));
    const sends = policies.filter(
      (p) =>
        JSON.stringify(p.Properties.PolicyDocument).includes('sqs:SendMessage') &&
        (p.Properties.Roles as { Ref: string }[]).some((r) =>
          r.Ref.startsWith('PlandslbroadbandStateMachineRole'),
        ),
    );
    assert.equal(sends.length, 1);
  });

  it('serves the TMF622 and orchestration routes through an HTTP API with access logs', () => {
    for (const routeKey of [
      'POST /tmf-api/productOrderingManagement/v5/productOrder',
      'GET /tmf-api/productOrderingManagement/v5/productOrder',
      'GET /tmf-api/productOrderingManagement/v5/productOrder/{id}',
      'PATCH /tmf-api/productOrderingManagement/v5/productOrder/{id}',
      'POST /tmf-api/productOrderingManagement/v5/cancelProductOrder',
      'GET /tmf-api/productOrderingManagement/v5/cancelProductOrder',
      'GET /tmf-api/productOrderingManagement/v5/cancelProductOrder/{id}',
      'GET /orchestration/orders/{orderId}/items',
      'POST /orchestration/items/{itemId}/complete',
      'GET /admin/systems',
      'GET /admin/systems/{systemId}',
      'PATCH /admin/systems/{systemId}',
      'GET /admin/system-interfaces/{interfaceId}',
      'PUT /admin/systems/{systemId}/state',
      'PATCH /admin/system-interfaces/{interfaceId}',
      'GET /admin/systems/{systemId}/on-hold-items',
      'GET /admin/system-interfaces/{interfaceId}/on-hold-items',
      'POST /admin/systems/{systemId}/release',
      'GET /admin/systems/{systemId}/maintenance-windows',
      'POST /admin/systems/{systemId}/maintenance-windows',
      'DELETE /admin/systems/{systemId}/maintenance-windows/{windowId}',
      'GET /admin/fallout',
      'GET /admin/retry-rules',
      'GET /admin/retry-rules/{ruleId}',
      'PUT /admin/retry-rules/{ruleId}',
      'DELETE /admin/retry-rules/{ruleId}',
      'GET /admin/offerings',
      'POST /orchestration/items/{itemId}/retry',
      'POST /orchestration/items/{itemId}/skip',
      'POST /orchestration/items/{itemId}/fail',
      'POST /orchestration/items/{itemId}/abort',
    ]) {
      stateless.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey });
    }
    stateless.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
    });
  });

  it('declares in its OpenAPI document exactly the routes it deploys, each as its authorizer guards it', () => {
    const document = switchboardOpenApi();
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => ({
        key: `${method.toUpperCase()} ${path}`,
        operation,
      })),
    );
    const deployed = Object.values(stateless.findResources('AWS::ApiGatewayV2::Route'));
    assert.deepEqual(
      documented.map((d) => d.key).sort(),
      deployed.map((r) => r.Properties.RouteKey as string).sort(),
    );
    for (const route of deployed) {
      const { operation } = documented.find((d) => d.key === route.Properties.RouteKey) ?? {};
      const bearer = JSON.stringify(operation?.security).includes('bearer');
      assert.equal(
        bearer,
        route.Properties.AuthorizationType === 'JWT',
        `${route.Properties.RouteKey}'s security`,
      );
    }
  });

  it('publishes the OpenAPI document at the console distribution’s /openapi.json, beside the console’s files', () => {
    const deployments = Object.values(stateless.findResources('Custom::CDKBucketDeployment'));
    assert.equal(deployments.length, 2);
    const document = deployments.find((d) => d.Properties.DestinationBucketKeyPrefix === undefined);
    assert.ok(document, 'a deployment at the bucket root');
    // Never pruning: the console's own files live in the same bucket.
    assert.equal(document.Properties.Prune, false);
    assert.deepEqual(document.Properties.DistributionPaths, ['/openapi.json']);
    const outputs = stateless.findOutputs('*');
    assert.ok(
      Object.values(outputs).some((o) => JSON.stringify(o.Value).includes('/openapi.json')),
      'an output gives its URL',
    );
  });

  it('puts the Cognito JWT authorizer in front of every route but the callbacks, which carry their own proof', () => {
    const routes = Object.values(stateless.findResources('AWS::ApiGatewayV2::Route'));
    assert.ok(routes.length >= 3);
    const isCallback = (r: (typeof routes)[number]) =>
      (r.Properties.RouteKey as string).startsWith('POST /callbacks/');
    const callbacks = routes.filter(isCallback);
    const others = routes.filter((r) => !isCallback(r));
    // The proof in the path; a URL without it reaches the function too, to be told why it is refused.
    assert.deepEqual(callbacks.map((r) => r.Properties.RouteKey).sort(), [
      'POST /callbacks/{correlationId}',
      'POST /callbacks/{correlationId}/{proof}',
    ]);
    for (const route of callbacks) assert.equal(route.Properties.AuthorizationType, 'NONE');
    for (const route of others) {
      assert.equal(route.Properties.AuthorizationType, 'JWT', `${route.Properties.RouteKey} is authorized`);
      assert.ok(route.Properties.AuthorizerId, `${route.Properties.RouteKey} names the authorizer`);
    }
    stateless.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: Match.anyValue(), Audience: Match.anyValue() },
    });
  });

  it('gives people roles by group and machine clients roles by OAuth scope, with no self sign-up', () => {
    stateful.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      UserPoolTier: 'PLUS',
      UserPoolAddOns: Match.objectLike({ AdvancedSecurityMode: 'ENFORCED' }),
    });
    for (const group of ['submitters', 'order-readers', 'operators']) {
      stateful.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: group });
    }
    stateful.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'switchboard',
      Scopes: [
        Match.objectLike({ ScopeName: 'submit' }),
        Match.objectLike({ ScopeName: 'read-orders' }),
        Match.objectLike({ ScopeName: 'operate' }),
      ],
    });
    const machineClients = Object.values(stateful.findResources('AWS::Cognito::UserPoolClient')).filter((c) =>
      (c.Properties.AllowedOAuthFlows as string[] | undefined)?.includes('client_credentials'),
    );
    assert.equal(machineClients.length, 2);
    for (const client of machineClients) {
      assert.equal(client.Properties.GenerateSecret, true);
      assert.equal(
        (client.Properties.AllowedOAuthScopes as unknown[]).length,
        1,
        'each machine client has one role',
      );
    }
  });

  it("bundles the systems' addresses into the seeder alone, so other bundles are the same wherever deployed", () => {
    const { stateless: elsewhere } = deployedElsewhere();
    const codeOf = (template: Template) =>
      Object.fromEntries(
        Object.entries(template.findResources('AWS::Lambda::Function')).map(([id, fn]) => [
          id.replace(/[0-9A-F]{8}$/, ''),
          JSON.stringify(fn.Properties.Code),
        ]),
      );
    const here = codeOf(stateless);
    const there = codeOf(elsewhere);
    const differ = Object.keys(here).filter((id) => here[id] !== there[id]);
    assert.deepEqual(differ, ['ConfigurationSeeder']);
  });

  it('gives a new plan file its own state machine', () => {
    const catalogDir = copyDemoCatalog();
    writeFileSync(
      join(catalogDir, 'plans', 'fibre.yaml'),
      'id: fibre\nfulfils:\n  - offering: fibre-broadband\nitems:\n  - id: reserve\n    type: callout\n    interface: inventory-reserve-port\n  - id: done\n    type: milestone\n    dependsOn: [reserve]\n',
    );
    writeFileSync(
      join(catalogDir, 'offerings', 'fibre-broadband.yaml'),
      'id: fibre-broadband\nname: Fibre\ncharacteristics:\n  - { name: bandwidth, valueType: integer, required: true }\n  - { name: serviceAddress, valueType: string, required: true }\n',
    );
    const { stateless: withFibre } = synth({ 'switchboard:catalogDir': catalogDir });
    withFibre.resourceCountIs('AWS::StepFunctions::StateMachine', DEMO_PLANS + 1);
  });

  it('carries the catalog beside each bundle: another catalog changes every asset, never a bundle', () => {
    const catalogDir = copyDemoCatalog();
    writeFileSync(
      join(catalogDir, 'interfaces', 'inventory-look-up-port.yaml'),
      'id: inventory-look-up-port\nsystem: inventory\nmethod: GET\npath: /ports/{portId}\n',
    );
    const functionsOf = ({ app, stateless: template }: ReturnType<typeof synth>) =>
      Object.fromEntries(
        Object.entries(template.findResources('AWS::Lambda::Function'))
          // Switchboard's own functions (CDK's bucket deployment brings one of its own).
          .filter(([, fn]) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME !== undefined)
          .map(([id, fn]) => {
            const key = String((fn.Properties.Code as { S3Key: unknown }).S3Key);
            const asset = join(app.outdir, `asset.${key.replace(/\.zip$/, '')}`);
            return [id.replace(/[0-9A-F]{8}$/, ''), { key, asset }];
          }),
      );
    const here = functionsOf(synth());
    const there = functionsOf(synth({ 'switchboard:catalogDir': catalogDir }));

    assert.equal(Object.keys(here).length, 13);
    for (const [name, { key, asset }] of Object.entries(here)) {
      const other = there[name];
      assert.ok(other, name);
      assert.notEqual(other.key, key, `${name}'s asset carries the new catalog`);
      assert.ok(
        readFileSync(join(asset, 'index.js')).equals(readFileSync(join(other.asset, 'index.js'))),
        `${name}'s bundle is the same code`,
      );
      const catalog = JSON.parse(readFileSync(join(other.asset, 'catalog.json'), 'utf8')) as {
        interfaces: Record<string, unknown>;
      };
      assert.ok(catalog.interfaces['inventory-look-up-port'], `${name} reads the new catalog`);
    }
  });

  it('keeps every failed delivery and tells operators: dead-letter queues, on-failure destinations, alarms to a topic', () => {
    // Every rule's target keeps what it could not deliver.
    const rules = Object.values(stateless.findResources('AWS::Events::Rule'));
    assert.equal(rules.length, 5);
    for (const rule of rules) {
      const [target] = (rule?.Properties.Targets ?? []) as Record<string, { Arn?: unknown }>[];
      assert.match(JSON.stringify(target?.DeadLetterConfig?.Arn), /Undelivered/);
    }
    // Every function invoked asynchronously sends a failed invocation, with its error, to the same queue.
    const configs = Object.values(stateless.findResources('AWS::Lambda::EventInvokeConfig'));
    const configured = configs.map((c) => JSON.stringify(c.Properties.FunctionName));
    for (const name of [
      'ReleaseHeldItems',
      'MaintenanceWindow',
      'ConfigurationSeeder',
      'PlanRunWatcher',
      'EventDelivery',
    ])
      assert.ok(
        configured.some((f) => f.includes(name)),
        `${name} has an on-failure destination`,
      );
    for (const config of configs) {
      assert.match(JSON.stringify(config.Properties.DestinationConfig.OnFailure.Destination), /Undelivered/);
      assert.equal(config.Properties.MaximumRetryAttempts, 2);
    }
    // A maintenance window's schedule names the same queue (the admin API creates the schedules).
    const [, admin] = Object.entries(stateless.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('AdminApi'),
    ) ?? [undefined, undefined];
    assert.match(
      JSON.stringify(admin?.Properties.Environment.Variables.MAINTENANCE_DEAD_LETTER_QUEUE_ARN),
      /Undelivered/,
    );
    // A hung seeder fails the deploy in minutes, not CloudFormation's hour.
    stateless.hasResourceProperties('Custom::SwitchboardConfiguration', { ServiceTimeout: '360' });
    // Every alarm of both stacks notifies the one encrypted topic, into alarm and back to OK.
    const topics = Object.entries(stateful.findResources('AWS::SNS::Topic'));
    assert.equal(topics.length, 1);
    const [topicId, topic] = topics[0] ?? [];
    assert.ok(topic?.Properties.KmsMasterKeyId, 'the topic is encrypted with its own key');
    const alarms = [
      ...Object.values(stateful.findResources('AWS::CloudWatch::Alarm')),
      ...Object.values(stateless.findResources('AWS::CloudWatch::Alarm')),
    ];
    // The dead letters of work, callbacks and event deliveries, and what could not be delivered; then the
    // dashboard's ten.
    assert.equal(alarms.length, 4 + 10);
    for (const alarm of alarms) {
      assert.match(JSON.stringify(alarm.Properties.AlarmActions), new RegExp(`${topicId}|Alerts`));
      assert.match(JSON.stringify(alarm.Properties.OKActions), new RegExp(`${topicId}|Alerts`));
    }
    // No email unless one is given (below).
    stateful.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('throttles the API and writes its access logs as JSON', () => {
    const [stage] = Object.values(stateless.findResources('AWS::ApiGatewayV2::Stage'));
    assert.deepEqual(stage?.Properties.DefaultRouteSettings, {
      ThrottlingRateLimit: DEFAULT_THROTTLE.rateLimit,
      ThrottlingBurstLimit: DEFAULT_THROTTLE.burstLimit,
    });
    const format = JSON.parse(stage?.Properties.AccessLogSettings.Format as string) as Record<string, string>;
    assert.equal(format.status, '$context.status');
    assert.equal(format.route, '$context.routeKey');
  });

  it('throttles the callback routes tighter than the rest, and keeps concurrency for the worker and the correlator', () => {
    const [stageId, stage] = Object.entries(stateless.findResources('AWS::ApiGatewayV2::Stage'))[0] ?? [];
    const tighter = {
      ThrottlingRateLimit: CALLBACK_THROTTLE.rateLimit,
      ThrottlingBurstLimit: CALLBACK_THROTTLE.burstLimit,
    };
    assert.deepEqual(stage?.Properties.RouteSettings, {
      'POST /callbacks/{correlationId}/{proof}': tighter,
      'POST /callbacks/{correlationId}': tighter,
    });
    assert.ok(CALLBACK_THROTTLE.rateLimit < DEFAULT_THROTTLE.rateLimit);
    // Route settings may name only routes that exist: the stage waits for them.
    const routes = Object.entries(stateless.findResources('AWS::ApiGatewayV2::Route'))
      .filter(([, r]) => (r.Properties.RouteKey as string).startsWith('POST /callbacks/'))
      .map(([id]) => id);
    assert.equal(routes.length, 2);
    const dependsOn = (stage?.DependsOn ?? []) as string[];
    for (const id of routes) assert.ok(dependsOn.includes(id), `${stageId} waits for ${id}`);
    const reserved = (prefix: string) =>
      Object.entries(stateless.findResources('AWS::Lambda::Function')).find(([id]) =>
        id.startsWith(prefix),
      )?.[1].Properties.ReservedConcurrentExecutions;
    assert.equal(reserved('CalloutWorker'), WORKER_MAX_CONCURRENCY);
    assert.equal(reserved('CallbackCorrelator'), CORRELATOR_MAX_CONCURRENCY);
    // The door is not capped by Lambda: the gateway's throttling answers a flood before it runs.
    assert.equal(reserved('CallbackApi'), undefined);
    // Each queue's event source runs no more batches at once than its function keeps.
    for (const [fn, max] of [
      ['CalloutWorker', WORKER_MAX_CONCURRENCY],
      ['CallbackCorrelator', CORRELATOR_MAX_CONCURRENCY],
    ] as const) {
      stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: Match.stringLikeRegexp(fn) },
        ScalingConfig: { MaximumConcurrency: max },
      });
    }
  });

  it('takes the callback throttling and the reserved concurrency from the context, or reserves none', () => {
    const template = (context: Record<string, unknown>) => {
      const app = buildApp({
        outdir: mkdtempSync(join(OUTDIRS, 'app-')),
        context: { ...context, ...NO_BUNDLING },
        nag: false,
      });
      return Template.fromStack(app.node.findChild('SwitchboardStateless') as Stack);
    };
    const tuned = template({
      'switchboard:callbackThrottle': '{"rateLimit": 5, "burstLimit": 10}',
      'switchboard:reservedConcurrency': '{"worker": 30, "correlator": 10}',
    });
    const [stage] = Object.values(tuned.findResources('AWS::ApiGatewayV2::Stage'));
    assert.deepEqual(stage?.Properties.RouteSettings['POST /callbacks/{correlationId}/{proof}'], {
      ThrottlingRateLimit: 5,
      ThrottlingBurstLimit: 10,
    });
    const reservedIn = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function'))
        .map((fn) => fn.Properties.ReservedConcurrentExecutions)
        .filter((n) => n !== undefined)
        .sort();
    assert.deepEqual(reservedIn(tuned), [10, 30]);
    assert.deepEqual(reservedIn(template({ 'switchboard:reservedConcurrency': 'off' })), []);
    assert.throws(
      () => template({ 'switchboard:reservedConcurrency': '{"worker": 0, "correlator": 10}' }),
      /context switchboard:reservedConcurrency: /,
    );
  });

  it('takes an alarm email and the API throttling from the context, and fails synth naming a wrong one', () => {
    const { stateful: there, stateless: thereStateless } = deployedElsewhere();
    there.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.net' });
    thereStateless.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    const wrong = (context: Record<string, unknown>) => () =>
      buildApp({ outdir: mkdtempSync(join(OUTDIRS, 'app-')), context });
    assert.throws(
      wrong({ 'switchboard:alarmEmail': 'not an email' }),
      /context switchboard:alarmEmail: [\s\S]*email/i,
    );
    // Above INFO, Lambda would drop the metrics' lines (they have no level).
    assert.throws(
      wrong({ 'switchboard:logLevel': 'WARN' }),
      /context switchboard:logLevel: [\s\S]*DEBUG or INFO/,
    );
    assert.throws(
      wrong({ 'switchboard:apiThrottle': '{"rateLimit": -1, "burstLimit": 10}' }),
      /context switchboard:apiThrottle: [\s\S]*rateLimit/,
    );
    assert.throws(wrong({ 'switchboard:apiThrottle': '{rateLimit' }), /context switchboard:apiThrottle: /);
  });

  it('signs people in with SRP only, or with the authorization code flow to the callback URLs the context names; never the implicit grant or the admin scope', () => {
    const peopleClient = (template: Template) => {
      const found = Object.entries(template.findResources('AWS::Cognito::UserPoolClient')).find(([id]) =>
        id.includes('PeopleClient'),
      );
      assert.ok(found);
      return found[1].Properties as Record<string, unknown>;
    };
    // No callback URLs in the context: SRP only, no OAuth at all (so no example.com, no implicit grant).
    const plain = peopleClient(stateful);
    assert.equal(plain.AllowedOAuthFlowsUserPoolClient, false);
    assert.equal(plain.CallbackURLs, undefined);
    assert.equal(plain.AllowedOAuthFlows, undefined);
    assert.deepEqual(plain.ExplicitAuthFlows, ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
    // With them: the authorization code flow only, to exactly those URLs, with who the person is.
    const named = peopleClient(deployedElsewhere().stateful);
    assert.deepEqual(named.AllowedOAuthFlows, ['code']);
    assert.deepEqual(named.CallbackURLs, ['https://ops.example.net/signed-in', 'http://localhost:8080']);
    assert.deepEqual([...(named.AllowedOAuthScopes as string[])].sort(), ['email', 'openid', 'profile']);
    const everyClient = JSON.stringify(stateful.findResources('AWS::Cognito::UserPoolClient'));
    assert.doesNotMatch(everyClient, /implicit|example\.com|aws\.cognito\.signin\.user\.admin/);
    const wrong = (urls: unknown) => () =>
      buildApp({
        outdir: mkdtempSync(join(OUTDIRS, 'app-')),
        context: { 'switchboard:peopleCallbackUrls': urls },
      });
    assert.throws(wrong('http://ops.example.net/'), /context switchboard:peopleCallbackUrls: [\s\S]*https/);
    assert.throws(wrong([]), /context switchboard:peopleCallbackUrls: /);
  });

  it('deploys two stages side by side: their stacks and every name unique in an account differ', () => {
    const stages = ['dev', 'prod'].map((stage) => {
      const app = buildApp({
        outdir: mkdtempSync(join(OUTDIRS, 'app-')),
        context: { ...projectContext(), stage, ...NO_BUNDLING },
        nag: false,
      });
      const assembly = app.synth();
      return { stage, assembly, names: namesIn(assembly.stacks.map((stack) => stack.template)) };
    });
    const [dev, prod] = stages;
    assert.ok(dev && prod);
    assert.deepEqual(dev.assembly.stacks.map((s) => s.stackName).sort(), [
      'dev-SwitchboardStateful',
      'dev-SwitchboardStateless',
    ]);
    assert.deepEqual(prod.assembly.stacks.map((s) => s.stackName).sort(), [
      'prod-SwitchboardStateful',
      'prod-SwitchboardStateless',
    ]);
    // Names a template sets (exports, the schedule group, the hosted UI's domain prefix, …).
    assert.ok(dev.names.length >= 3, JSON.stringify(dev.names));
    assert.ok(
      dev.names.some((n) => n.includes('switchboard-dev-')),
      'the Cognito domain prefix carries the stage',
    );
    assert.deepEqual(
      dev.names.filter((name) => prod.names.includes(name)),
      [],
      'no name in common',
    );
    // Their metrics do not mix: each stage's functions write, and its dashboard reads, its own service.
    for (const { stage, assembly } of stages) {
      const template = assembly.getStackByName(`${stage}-SwitchboardStateless`).template as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      };
      const resources = Object.values(template.Resources);
      const services = new Set(
        resources
          .filter((r) => r.Type === 'AWS::Lambda::Function')
          .map(
            (r) =>
              (r.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables,
          )
          .filter((variables) => variables?.POWERTOOLS_METRICS_NAMESPACE)
          .map((variables) => variables?.POWERTOOLS_SERVICE_NAME),
      );
      assert.deepEqual([...services], [`switchboard-${stage}`]);
      const dashboard = JSON.stringify(resources.find((r) => r.Type === 'AWS::CloudWatch::Dashboard'));
      assert.match(dashboard, new RegExp(`service=.{0,4}switchboard-${stage}\\b`));
    }
    assert.throws(
      () => buildApp({ outdir: mkdtempSync(join(OUTDIRS, 'app-')), context: { stage: 'Prod!' } }),
      /context stage: [\s\S]*lowercase/,
    );
  });

  it('shows operators a dashboard of the API, the functions, the queues and the plans, and every alarm notifies the alert topic', () => {
    const [dashboard] = Object.values(stateless.findResources('AWS::CloudWatch::Dashboard'));
    assert.ok(dashboard, 'a dashboard');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of [
      'API requests, 4xx and 5xx',
      'API latency (ms)',
      'Lambda errors',
      'Lambda throttles',
      'Age of the oldest message (s)',
      'Dead letters waiting',
      'Plan executions failed',
      'Plan executions timed out',
      'Orders accepted, completed and failed',
      'Callouts by system and outcome',
      'Callout latency (ms)',
      'Callout latency p99 by system (ms)',
      'Callback to completion (ms)',
      'Items held and released, by system',
      'Fallout entered, and resolved by action',
      'Messages redelivered and dead-lettered, by queue',
      'Circuit-breaker trips, by system',
    ]) {
      assert.ok(body.includes(title), `a widget "${title}"`);
    }
    for (const statistic of ['p50', 'p90', 'p99']) assert.ok(body.includes(statistic), statistic);
    // Switchboard's own metrics, every one of them graphed, read under this deployment's service.
    for (const name of Object.keys(METRICS)) assert.ok(body.includes(name), `the dashboard graphs ${name}`);
    assert.match(body, /SEARCH\(/, 'per system, a search: a system added shows without a deploy');
    assert.match(body, /MetricName=.{0,4}Callouts.{0,4} service=.{0,4}switchboard\b/);
    // Every alarm of either stack tells operators, into alarm and back, and names its runbook line.
    const alarms = [stateful, stateless].flatMap((t) =>
      Object.entries(t.findResources('AWS::CloudWatch::Alarm')),
    );
    assert.ok(alarms.length >= 10, `${alarms.length} alarms`);
    for (const [id, alarm] of alarms) {
      assert.ok((alarm.Properties.AlarmActions as unknown[] | undefined)?.length, `${id} has an action`);
      assert.ok((alarm.Properties.OKActions as unknown[] | undefined)?.length, `${id} says when it is over`);
    }
    // A metric with a label is written as the Metrics form: its name and namespace are found inside.
    const byMetric = (name: string) =>
      alarms.filter(([, alarm]) => {
        const text = JSON.stringify(alarm.Properties);
        return text.includes(`"MetricName":"${name}"`) && text.includes('"Namespace":"Switchboard"');
      });
    assert.equal(byMetric('FalloutEntered').length, 1, 'an alarm on fallout');
    assert.equal(byMetric('CircuitBreakerTrips').length, 1, 'an alarm on a tripped breaker');
    const runbook = readFileSync('docs/operations.md', 'utf8');
    // Every metric is documented: what it means, what to do.
    for (const name of Object.keys(METRICS)) assert.match(runbook, new RegExp(`\\| \`${name}\` \\|`), name);
    for (const [id, alarm] of alarms.filter(([alarmId]) => alarmId.startsWith('Operations'))) {
      const anchor = /docs\/operations\.md#([a-z]+)/.exec(String(alarm.Properties.AlarmDescription))?.[1];
      assert.ok(anchor, `${id} names its runbook line`);
      assert.match(runbook, new RegExp(`<a id="${anchor}"></a>`), `docs/operations.md has ${anchor}`);
    }
  });

  it('fails synth with the file and the field when the catalog is wrong', () => {
    const catalogDir = copyDemoCatalog();
    writeFileSync(
      join(catalogDir, 'plans', 'broken.yaml'),
      'id: broken\nfulfils:\n  - offering: broken\nitems:\n  - id: a\n    type: callout\n    interface: no-such-interface\n',
    );
    assert.ok(
      catalogProblems(catalogDir).some(
        (p) =>
          p.file.endsWith('broken.yaml') &&
          p.where === 'item "a".interface' &&
          /no-such-interface/.test(p.message),
      ),
    );
  });

  it('fails synth naming the mapping and the characteristic when a plan reads one its offering does not declare', () => {
    const catalogDir = copyDemoCatalog();
    writeFileSync(
      join(catalogDir, 'plans', 'port.yaml'),
      'id: port\nfulfils:\n  - offering: port\nitems:\n  - id: reserve\n    type: callout\n    interface: inventory-reserve-port\n',
    );
    writeFileSync(
      join(catalogDir, 'offerings', 'port.yaml'),
      'id: port\nname: A port\ncharacteristics:\n  - { name: bandwidth, valueType: integer }\n',
    );
    assert.deepEqual(
      catalogProblems(catalogDir).map((p) => [
        basename(p.file),
        p.message.match(/characteristic "(\w+)"/)?.[1],
      ]),
      [['reserve-port-request.jsonata', 'serviceAddress']],
    );
  });
});

describe('the operator console on AWS', () => {
  const { stateless, stateful } = synth();
  const [distribution] = Object.values(stateless.findResources('AWS::CloudFront::Distribution'));
  const config = distribution?.Properties.DistributionConfig as {
    DefaultCacheBehavior: Record<string, unknown>;
    CacheBehaviors: Record<string, unknown>[];
    Origins: {
      Id: string;
      S3OriginConfig?: unknown;
      OriginAccessControlId?: unknown;
      CustomOriginConfig?: Record<string, unknown>;
    }[];
  };

  it('keeps the console in a private, encrypted bucket that only the distribution reads', () => {
    stateless.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.objectLike({}),
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    stateless.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    const s3 = config.Origins.find((o) => o.S3OriginConfig);
    assert.ok(s3?.OriginAccessControlId, 'the bucket is read through origin access control');
    const policy = JSON.stringify(stateless.findResources('AWS::S3::BucketPolicy'));
    assert.match(policy, /cloudfront\.amazonaws\.com/);
    assert.match(policy, /aws:SecureTransport/, 'plain HTTP is refused');
  });

  it("forwards the API's paths to the HTTP API uncached, with every viewer header but Host", () => {
    assert.deepEqual(
      config.CacheBehaviors.map((b) => b.PathPattern),
      ['/admin/*', '/orchestration/*', '/tmf-api/*'],
    );
    for (const behaviour of config.CacheBehaviors) {
      assert.equal(behaviour.CachePolicyId, '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', 'CachingDisabled');
      assert.equal(
        behaviour.OriginRequestPolicyId,
        'b689b0a8-53d0-40ab-baf2-68738e2966ac',
        'AllViewerExceptHostHeader',
      );
      assert.equal(behaviour.ViewerProtocolPolicy, 'https-only');
      assert.deepEqual(behaviour.AllowedMethods, [
        'GET',
        'HEAD',
        'OPTIONS',
        'PUT',
        'PATCH',
        'POST',
        'DELETE',
      ]);
    }
    const api = config.Origins.find((o) => o.CustomOriginConfig);
    assert.equal(api?.CustomOriginConfig?.OriginProtocolPolicy, 'https-only');
    assert.equal(config.DefaultCacheBehavior.ViewerProtocolPolicy, 'redirect-to-https');
    assert.ok(config.DefaultCacheBehavior.FunctionAssociations, 'the console paths function');
    const [headers] = Object.values(stateless.findResources('AWS::CloudFront::ResponseHeadersPolicy'));
    const csp = JSON.stringify(
      headers?.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy,
    );
    for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"])
      assert.ok(csp.includes(directive), `the CSP has ${directive}`);
    assert.match(
      csp,
      /connect-src 'self' https:\/\//,
      'and lets the console reach the Cognito token endpoint',
    );
  });

  it('signs people in with a public client (authorization code and PKCE, no secret) the API accepts', () => {
    const clients = stateless.findResources('AWS::Cognito::UserPoolClient');
    const [clientId, client] = Object.entries(clients)[0] ?? [];
    assert.ok(client, 'the console client is in the stack with the distribution it calls back to');
    assert.equal(client.Properties.GenerateSecret, false);
    assert.deepEqual(client.Properties.AllowedOAuthFlows, ['code']);
    assert.deepEqual(client.Properties.ExplicitAuthFlows, ['ALLOW_REFRESH_TOKEN_AUTH'], 'the hosted UI only');
    assert.equal(client.Properties.EnableTokenRevocation, true);
    assert.deepEqual(client.Properties.AllowedOAuthScopes.sort(), ['email', 'openid', 'profile']);
    assert.match(JSON.stringify(client.Properties.CallbackURLs), /DomainName/);
    const [authorizer] = Object.values(stateless.findResources('AWS::ApiGatewayV2::Authorizer'));
    const audience = JSON.stringify(authorizer?.Properties.JwtConfiguration.Audience);
    assert.ok(audience.includes(`"Ref":"${clientId}"`), 'the authorizer accepts the console’s tokens');
    // The identity's own three clients are still accepted.
    assert.equal(authorizer?.Properties.JwtConfiguration.Audience.length, 4);
    stateful.resourceCountIs('AWS::Cognito::UserPoolClient', 3);
  });

  it('deploys the built console and its sign-in settings under /console', () => {
    const [deployment] = Object.values(stateless.findResources('Custom::CDKBucketDeployment'));
    assert.equal(deployment?.Properties.DestinationBucketKeyPrefix, 'console');
    assert.equal(deployment?.Properties.SourceObjectKeys.length, 2, 'the built files and config.json');
    assert.deepEqual(deployment?.Properties.DistributionPaths, ['/console/*']);
    stateless.hasOutput('*', { Description: 'The operator console' });
  });
});
