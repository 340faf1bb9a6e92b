import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handleCallback } from '../../lambdas/callback-api/handler';
import type { Catalog } from '../../lambdas/domain/catalog';
import { MappingError, ValidationError } from '../../lambdas/domain/errors';
import { mappableHeaders, mapSystemAnswer } from '../../lambdas/domain/system-outcome';
import { applyCallback } from '../../lambdas/use-cases/apply-callback';
import { receiveCallback } from '../../lambdas/use-cases/receive-callback';
import { runItem } from '../../lambdas/use-cases/run-item';
import { exchangeProblems } from '../support/contract';
import {
  ACTIVATE_ONLY,
  asyncCatalog,
  asyncWorld,
  correlationFor,
  dispatch,
  ORDER,
  proofFor,
} from './fixtures/async';
import { capturedLogs } from './fixtures/logs';

/**
 * Callback mappings: a system that calls back in its own vocabulary has its callbacks read at the door
 * by its interface's mapping, which says what each comes to — interim (with what it learnt), completed
 * (with the attributes it writes), or failed (with the system's reason).
 */

const MAPPING = `(
  $event := headers."x-event";
  body.state = "ACTIVATED" ? { "outcome": "completed", "attributes": { "serviceId": body.ref } } :
  body.state = "REJECTED" ? { "outcome": "failed", "reason": "rejected with code " & $string(body.reasonCode) } :
  body.state = "WORKING" ? { "outcome": "interim", "note": $event, "attributes": { "eta": body.eta } } :
  $contains($string(body), "<done/>") ? { "outcome": "completed" }
)`;

function vocabularyCatalog(): Catalog {
  const catalog = asyncCatalog();
  const activation = catalog.interfaces['activate-line'];
  assert.ok(activation);
  const { asyncResponseMapping: _replaced, ...rest } = activation;
  catalog.interfaces['activate-line'] = { ...rest, callbackMapping: 'activation-words' };
  catalog.mappings['activation-words'] = MAPPING;
  return catalog;
}

async function waiting(t: TestContext) {
  capturedLogs(t);
  const world = await asyncWorld({ catalog: vocabularyCatalog() });
  await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
  const correlationId = correlationFor(ACTIVATE_ONLY, 'delivery-1');
  const proof = await proofFor(correlationId);
  /** A callback as the handler hands it over: JSON parsed, anything else refused by the parser. */
  const send = (raw: string, headers: Record<string, string> = {}) =>
    receiveCallback(world.intake, {
      correlationId,
      proof,
      rawBody: raw,
      parseBody: () => {
        try {
          return JSON.parse(raw);
        } catch {
          throw new ValidationError([{ field: '', message: 'the body is not valid JSON' }]);
        }
      },
      headers,
    });
  return { ...world, send };
}

describe('a callback in the system’s own vocabulary', () => {
  it('is read at the door into an outcome, queued with the body as the system sent it', async (t) => {
    const { send, callbackQueue } = await waiting(t);

    await send(JSON.stringify({ state: 'WORKING', eta: '10:30' }), { 'x-event': 'line.working' });

    assert.deepEqual(
      callbackQueue.sent.map((m) => [m.body, m.outcome]),
      [
        [
          { state: 'WORKING', eta: '10:30' },
          { status: 'inProgress', note: 'line.working', attributes: { eta: '10:30' } },
        ],
      ],
    );
  });

  it('keeps what interim updates learnt on the item, and completes it with the final answer’s attributes too', async (t) => {
    const { send, callbackQueue, correlator, store } = await waiting(t);
    await send(JSON.stringify({ state: 'WORKING', eta: '10:30' }), { 'x-event': 'line.working' });
    await send(JSON.stringify({ state: 'ACTIVATED', ref: 'SVC-42' }));

    for (const message of callbackQueue.sent) await applyCallback(correlator, message);

    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.outputAttributes, { eta: '10:30', serviceId: 'SVC-42' });
    assert.ok(item.history.some((h) => h.reason === 'interim update from the system: line.working'));
  });

  it('fails the item with the reason the mapping read from the system’s words', async (t) => {
    const { send, callbackQueue, correlator, store } = await waiting(t);
    await send(JSON.stringify({ state: 'REJECTED', reasonCode: 42 }));

    await applyCallback(correlator, callbackQueue.sent[0] as (typeof callbackQueue.sent)[number]);

    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /^the system reported failure: rejected with code 42 /);
  });

  it('may be no JSON at all: the mapping reads its text', async (t) => {
    const { send, callbackQueue } = await waiting(t);

    await send('<status><done/></status>', { 'content-type': 'application/xml' });

    assert.deepEqual(callbackQueue.sent[0]?.body, '<status><done/></status>');
    assert.deepEqual(callbackQueue.sent[0]?.outcome, { status: 'completed', attributes: {} });
  });

  it('is taken through the API as the document says: XML on the callback route, answered with its receipt', async (t) => {
    const { intake, callbackQueue } = await waiting(t);
    const correlationId = correlationFor(ACTIVATE_ONLY, 'delivery-1');
    const proof = await proofFor(correlationId);
    const routeKey = 'POST /callbacks/{correlationId}/{proof}';
    const body = '<status><done/></status>';
    const requestHeaders = { 'content-type': 'application/xml', 'x-event': 'line.done' };

    const answer = await handleCallback(intake, {
      routeKey,
      rawPath: `/callbacks/${correlationId}/${proof}`,
      pathParameters: { correlationId, proof },
      headers: requestHeaders,
      body,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2);

    assert.equal(answer.statusCode, 202);
    assert.equal(callbackQueue.sent.length, 1);
    assert.deepEqual(
      exchangeProblems({
        routeKey,
        pathParameters: { correlationId, proof },
        requestHeaders,
        requestBody: body,
        status: answer.statusCode ?? 0,
        headers: answer.headers as Record<string, string>,
        ...(answer.body === undefined ? {} : { body: answer.body }),
      }),
      [],
    );
  });

  it('is refused with 400 naming the body when the mapping cannot read it, and nothing is queued', async (t) => {
    const { send, callbackQueue } = await waiting(t);

    await assert.rejects(send(JSON.stringify({ state: 'TELEPORTED' })), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.problems[0]?.field, 'body');
      assert.match(
        error.problems[0]?.message ?? '',
        /^interface "activate-line" could not read this callback: mapping "activation-words": produced no value/,
      );
      return true;
    });
    assert.deepEqual(callbackQueue.sent, []);
  });
});

describe('mapSystemAnswer', () => {
  const map = (expression: string) => mapSystemAnswer('m', expression, { body: {}, headers: {} });

  it('turns the mapping’s result into an outcome, a final answer always with attributes', async () => {
    assert.deepEqual((await map('{ "outcome": "completed" }')).outcome, {
      status: 'completed',
      attributes: {},
    });
    assert.deepEqual((await map('{ "outcome": "interim", "note": "n" }')).outcome, {
      status: 'inProgress',
      note: 'n',
      attributes: {},
    });
    assert.deepEqual((await map('{ "outcome": "failed", "reason": "r" }')).result, {
      outcome: 'failed',
      reason: 'r',
    });
  });

  for (const [what, expression, says] of [
    ['an unknown outcome', '{ "outcome": "done" }', /outcome must be "interim", "completed" or "failed"/],
    ['no object', '"completed"', /the result .*expected object/i],
    [
      'attributes that are not an object',
      '{ "outcome": "completed", "attributes": [1] }',
      /attributes must be an object/,
    ],
    ['a field it does not know', '{ "outcome": "completed", "status": 200 }', /status|unrecognized/i],
    [
      'a note longer than 2000 characters',
      '{ "outcome": "interim", "note": $pad("", 2001, "x") }',
      /note must be at most 2000/,
    ],
  ] as [string, string, RegExp][]) {
    it(`refuses ${what}, naming the field`, async () => {
      await assert.rejects(map(expression), (error: unknown) => {
        assert.ok(error instanceof MappingError);
        assert.match(
          error.message,
          /^mapping "m": must produce \{outcome, note\?, reason\?, attributes\?\}: /,
        );
        assert.match(error.message, says);
        return true;
      });
    });
  }

  it('sees headers by lower-case name, repeated ones joined', () => {
    assert.deepEqual(mappableHeaders({ 'X-Event': 'a', 'set-cookie': ['b', 'c'], gone: undefined }), {
      'x-event': 'a',
      'set-cookie': 'b, c',
    });
  });
});
