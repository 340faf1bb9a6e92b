import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Authenticator } from '../../lambdas/domain/authenticator';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { CalloutError } from '../../lambdas/domain/errors';
import { procedureSchema } from '../../lambdas/domain/procedure';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { Actor } from '../../lambdas/domain/roles';
import type { StartItemMessage } from '../../lambdas/ports/work-queue';
import { runItem } from '../../lambdas/use-cases/run-item';
import type { RunItemDeps } from '../../lambdas/use-cases/run-item-deps';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { offering } from './fixtures/catalogs';
import {
  InMemoryCalloutLimits,
  InMemoryConfigurationStore,
  InMemoryRetryRuleStore,
  StaticSecretStore,
} from './fixtures/configuration';
import {
  jsonAnswer,
  RecordingAvailabilityEvents,
  RecordingPlanTasks,
  RecordingTelemetry,
  RecordingWorkQueue,
  type Responder,
  ScriptedHttpClient,
  testCallbacks,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';
import { capturedLogs } from './fixtures/logs';
import { pemBodyLines, testPki } from './fixtures/pki';

const ORDER = 'o-1';
const KEY = 'install.book.1';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const OPERATOR: Actor = { id: 'op-1', name: 'Olga Operator' };

/** Scheduling books a slot through its interface; notification takes a message at a path of its own. */
function installCatalog(notification: Partial<Catalog['systems'][string]> = {}): Catalog {
  return {
    systems: {
      scheduling: {
        id: 'scheduling',
        name: 'Scheduling',
        baseUrl: 'http://scheduling.test',
        limits: { maxConcurrentCallouts: 2 },
      },
      notification: {
        id: 'notification',
        name: 'Notification',
        baseUrl: 'http://notification.test',
        limits: {},
        ...notification,
      },
    },
    interfaces: {
      'book-slot': {
        id: 'book-slot',
        system: 'scheduling',
        method: 'POST',
        path: '/slots',
        adapter: 'sync-rest',
        status: 'Online',
        timeoutSeconds: 5,
      },
    },
    mappings: {},
    authProfiles: {},
    customAdapters: [],
    offerings: { install: offering('install', [{ name: 'serviceAddress', valueType: 'string' }]) },
    procedures: {
      'book-installation': procedureSchema.parse({
        id: 'book-installation',
        inputs: ['address'],
        outputs: ['slotId', 'messageId'],
        steps: [
          { id: 'find-slot', type: 'http', interface: 'book-slot', body: '{ "address": input.address }' },
          {
            id: 'notify',
            type: 'http',
            system: 'notification',
            method: 'POST',
            path: '/messages',
            body: '{ "text": "slot " & steps.`find-slot`.slotId }',
          },
          {
            id: 'result',
            type: 'set',
            values: { slotId: 'steps.`find-slot`.slotId', messageId: 'steps.notify.messageId' },
          },
        ],
      }),
    },
    plans: {
      install: planDefinitionSchema.parse({
        id: 'install',
        fulfils: [{ offering: 'install' }],
        items: [
          {
            id: 'book',
            type: 'autoTask',
            procedure: 'book-installation',
            input: '{ "address": characteristics.serviceAddress }',
            output: '{ "installationSlot": output.slotId, "confirmation": output.messageId }',
          },
        ],
      }),
    },
  };
}

/** Scheduling gives SLOT-7, notification MSG-1; `notification` may be replaced to fail. */
function systems(notification: Responder = () => jsonAnswer(201, { messageId: 'MSG-1' })): Responder {
  return (request) =>
    request.url.startsWith('http://scheduling.test/')
      ? jsonAnswer(201, { slotId: 'SLOT-7' })
      : notification(request);
}

async function setup(responder: Responder, catalog = installCatalog()) {
  const submitted = productOrderCreateSchema.parse({
    productOrderItem: [
      {
        id: '1',
        action: 'add',
        productOffering: { id: 'install' },
        product: { productCharacteristic: [{ name: 'serviceAddress', value: '1 Main Street' }] },
      },
    ],
  });
  const store = new InMemoryOrderStore();
  const { order, items } = decompose(catalog, ORDER, submitted, '2025-03-01T09:00:00.000Z');
  await store.createOrder(order, items);
  const clock = { ms: T0 };
  const now = () => new Date(clock.ms);
  const http = new ScriptedHttpClient(responder);
  const queue = new RecordingWorkQueue();
  const config = InMemoryConfigurationStore.seededFrom(catalog);
  const rules = new InMemoryRetryRuleStore();
  const deps: RunItemDeps = {
    store,
    tasks: new RecordingPlanTasks(),
    queue,
    http,
    catalog,
    config,
    limits: new InMemoryCalloutLimits(),
    auth: new Authenticator(new StaticSecretStore({}), http, now),
    now,
    telemetry: new RecordingTelemetry(),
    callbacks: testCallbacks,
    events: new RecordingAvailabilityEvents(),
    rules,
    sleep: async (ms) => {
      clock.ms += ms;
    },
  };
  return { deps, store, http, queue, config, rules, clock };
}

const dispatch = { orderId: ORDER, itemKey: KEY, taskToken: 'token-1' };
const start: StartItemMessage = { kind: 'start', orderId: ORDER, itemKey: KEY };
const hostsCalled = (http: ScriptedHttpClient) => http.requests.map((r) => new URL(r.url).host);

function quietLogs(t: TestContext): void {
  capturedLogs(t);
}

describe('runItem: an auto task that runs an integration procedure', () => {
  it('runs its steps through the callout machinery and completes with the output mapping', async (t) => {
    quietLogs(t);
    const { deps, store, http } = await setup(systems());

    await runItem(deps, dispatch, 'm-1');

    const item = store.item(ORDER, KEY);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.outputAttributes, { installationSlot: 'SLOT-7', confirmation: 'MSG-1' });
    assert.deepEqual(hostsCalled(http), ['scheduling.test', 'notification.test']);
    const [book, notify] = http.requests;
    assert.equal(book?.body, JSON.stringify({ address: '1 Main Street' }));
    assert.equal(notify?.url, 'http://notification.test/messages');
    assert.equal(notify?.body, JSON.stringify({ text: 'slot SLOT-7' }));
    assert.equal(book?.headers['idempotency-key'], `${ORDER}.${KEY}.find-slot`);
    assert.equal(notify?.headers['idempotency-key'], `${ORDER}.${KEY}.notify`);
    assert.deepEqual(
      item.procedure?.trace.map((s) => s.step),
      ['find-slot', 'notify', 'result'],
    );
  });

  it('presents the client certificate at a step whose system is behind mutual TLS, and keeps no key material', async (t) => {
    // Prepare: notification on https, knowing Switchboard by its certificate; it echoes what it was sent.
    quietLogs(t);
    const catalog = installCatalog({ baseUrl: 'https://notification.test', authProfile: 'notification-tls' });
    catalog.authProfiles['notification-tls'] = { id: 'notification-tls', type: 'mtls' };
    const { client, ca } = testPki();
    const secret = {
      certificate: client.certificate,
      privateKey: client.privateKey,
      caBundle: ca.certificate,
    };
    const { deps, store, http } = await setup(
      systems((request) => jsonAnswer(201, { messageId: 'MSG-1', echo: request })),
      catalog,
    );
    deps.auth = new Authenticator(new StaticSecretStore({ 'notification-tls': secret }), http, deps.now);

    // Act
    await runItem(deps, dispatch, 'm-1');

    // Assess
    const item = store.item(ORDER, KEY);
    assert.equal(item.state, 'Completed', item.error);
    const [book, notify] = http.requests;
    assert.equal(book?.tls, undefined, 'scheduling has no mutual TLS');
    assert.deepEqual(notify?.tls, { profileId: 'notification-tls', ...secret });
    const kept = JSON.stringify(item);
    for (const material of [client.privateKey, client.certificate, ...pemBodyLines(client.privateKey)]) {
      for (const form of [material, JSON.stringify(material).slice(1, -1)]) {
        assert.ok(!kept.includes(form), 'the item keeps key material');
      }
    }
  });

  it('holds at a step whose system is Down, and after the release goes on without repeating earlier steps', async (t) => {
    quietLogs(t);
    const { deps, store, http, config } = await setup(systems());
    await config.setSystemState('notification', 'Down', {
      by: OPERATOR,
      reason: 'maintenance',
      cause: 'operator',
      at: new Date(T0).toISOString(),
    });

    await runItem(deps, dispatch, 'm-1');

    const held = store.item(ORDER, KEY);
    assert.equal(held.state, 'OnHold');
    assert.equal(held.hold?.systemId, 'notification');
    assert.equal(held.hold?.interfaceId, undefined, 'a path of the system has no interface to hold it');
    assert.equal(held.procedure?.next, 1, 'find-slot is done and kept');
    assert.deepEqual(hostsCalled(http), ['scheduling.test']);
    const bySystem = await store.listHeldItems({ systemId: 'notification', limit: 10 });
    assert.deepEqual(
      bySystem.items.map((h) => h.key),
      [KEY],
    );
    const byInterface = await store.listHeldItems({
      systemId: 'notification',
      interfaceId: 'book-installation.notify',
      limit: 10,
    });
    assert.deepEqual(byInterface.items, [], 'no made-up interface lists it');

    await config.setSystemState('notification', 'Up', {
      by: OPERATOR,
      reason: 'back',
      cause: 'operator',
      at: new Date(T0).toISOString(),
    });
    await runItem(deps, start, 'm-2');

    const done = store.item(ORDER, KEY);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(
      hostsCalled(http),
      ['scheduling.test', 'notification.test'],
      'scheduling was called once',
    );
    assert.deepEqual(done.outputAttributes, { installationSlot: 'SLOT-7', confirmation: 'MSG-1' });
  });

  it('holds at a step whose interface is Offline, under that interface', async (t) => {
    quietLogs(t);
    const { deps, store, http, config } = await setup(systems());
    await config.setInterfaceStatus('book-slot', 'Offline', {
      by: OPERATOR,
      reason: 'new release',
      cause: 'operator',
      at: new Date(T0).toISOString(),
    });

    await runItem(deps, dispatch, 'm-1');

    const held = store.item(ORDER, KEY);
    assert.equal(held.state, 'OnHold');
    assert.deepEqual(
      { systemId: held.hold?.systemId, interfaceId: held.hold?.interfaceId },
      { systemId: 'scheduling', interfaceId: 'book-slot' },
    );
    assert.match(held.hold?.reason ?? '', /interface "book-slot" is Offline: new release/);
    assert.deepEqual(held.procedure?.trace ?? [], [], 'no step ran');
    assert.deepEqual(http.requests, [], 'nothing was sent');
  });

  it("waits On Hold when the circuit breaker takes a step's system Down, and resumes at that step after the probe", async (t) => {
    quietLogs(t);
    let refusing = true;
    const { deps, store, http, queue } = await setup(
      systems(() => {
        if (refusing)
          throw new CalloutError('connection failed (ECONNREFUSED): notification.test', undefined, true);
        return jsonAnswer(201, { messageId: 'MSG-3' });
      }),
      installCatalog({
        circuitBreaker: { failureThreshold: 1, healthPath: '/health', probeIntervalSeconds: 30 },
      }),
    );

    await runItem(deps, dispatch, 'm-1');

    const held = store.item(ORDER, KEY);
    assert.equal(held.state, 'OnHold', 'not failed: the breaker took its system Down');
    assert.equal(held.hold?.systemId, 'notification');
    assert.match(held.hold?.reason ?? '', /system "notification" is Down: 1 connection failures/);
    assert.equal(held.procedure?.next, 1);
    const system = await deps.config.getSystem('notification');
    assert.equal(system?.state, 'Down');
    const probe = queue.sent.find((m) => m.kind === 'probe');
    assert.ok(probe, 'the breaker probes the system health');

    refusing = false;
    await runItem(deps, probe, 'm-probe');
    assert.equal((await deps.config.getSystem('notification'))?.state, 'Up');
    await runItem(deps, start, 'm-2');

    const done = store.item(ORDER, KEY);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(done.outputAttributes, { installationSlot: 'SLOT-7', confirmation: 'MSG-3' });
    assert.equal(
      hostsCalled(http).filter((host) => host === 'scheduling.test').length,
      1,
      'the slot was booked once',
    );
  });

  it('retries a failed step under the retry rules, resuming at that step', async (t) => {
    quietLogs(t);
    let notifications = 0;
    const { deps, store, http, queue, rules, clock } = await setup(
      systems(() =>
        ++notifications === 1 ? jsonAnswer(503, { error: 'busy' }) : jsonAnswer(201, { messageId: 'MSG-2' }),
      ),
    );
    await rules.put(
      {
        id: 'notification-fast',
        scope: { kind: 'system', systemId: 'notification' },
        matches: { timeouts: false, connectionErrors: false, failedAnswers: false, statuses: ['5xx'] },
        policy: { type: 'fixed', count: 2, intervalSeconds: 5 },
        honourRetryAfter: true,
      },
      OPERATOR,
      new Date(T0).toISOString(),
    );

    await runItem(deps, dispatch, 'm-1');

    const failed = store.item(ORDER, KEY);
    assert.equal(failed.state, 'Failed');
    assert.equal(failed.retries, 1);
    assert.equal(failed.procedure?.next, 1);
    assert.deepEqual(queue.sent, [start], 'the retry is on its way');
    assert.deepEqual(queue.delays, [5]);

    clock.ms += 5_000;
    await runItem(deps, start, 'm-2');

    const done = store.item(ORDER, KEY);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(hostsCalled(http), ['scheduling.test', 'notification.test', 'notification.test']);
    assert.deepEqual(done.outputAttributes, { installationSlot: 'SLOT-7', confirmation: 'MSG-2' });
  });

  it('puts a step its system refuses for good in fallout, naming the procedure and the step', async (t) => {
    quietLogs(t);
    const { deps, store } = await setup(systems(() => jsonAnswer(400, { error: 'no such customer' })));

    await runItem(deps, dispatch, 'm-1');

    const item = store.item(ORDER, KEY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /procedure "book-installation" step "notify": notification answered 400/);
    assert.equal(item.procedure?.next, 1);
  });
});
