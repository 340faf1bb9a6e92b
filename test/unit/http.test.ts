import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../../lambdas/domain/errors';
import { errorResponse, MAX_BODY_BYTES, parseJsonBody, problemsFrom } from '../../lambdas/shared/http';
import { capturedLogs } from './fixtures/logs';

function event(body: string | undefined, headers: Record<string, string> = {}, isBase64Encoded = false) {
  return { body, headers, isBase64Encoded } as unknown as APIGatewayProxyEventV2;
}

const JSON_TYPE = { 'content-type': 'application/json' };

function validationProblems(act: () => unknown) {
  try {
    act();
  } catch (error) {
    assert.ok(error instanceof ValidationError, `a ValidationError, not ${String(error)}`);
    return error.problems;
  }
  assert.fail('the body was accepted');
}

describe('parseJsonBody', () => {
  it('parses a JSON body', () => {
    const parsed = parseJsonBody(event('{"productOrderItem":[{"id":"1"}]}', JSON_TYPE));

    assert.deepEqual(parsed, { productOrderItem: [{ id: '1' }] });
  });

  it('accepts JSON media types with parameters or a +json suffix, and a body sent without content-type', () => {
    for (const type of [
      'application/json; charset=utf-8',
      'application/merge-patch+json',
      'APPLICATION/JSON',
    ]) {
      assert.deepEqual(parseJsonBody(event('{"a":1}', { 'content-type': type })), { a: 1 }, type);
    }
    assert.deepEqual(parseJsonBody(event('{"a":1}', { 'Content-Type': 'application/json' })), { a: 1 });
    assert.deepEqual(parseJsonBody(event('[1]')), [1]);
  });

  it('decodes a base64 body', () => {
    const body = Buffer.from('{"name":"Zoë"}', 'utf8').toString('base64');

    assert.deepEqual(parseJsonBody(event(body, JSON_TYPE, true)), { name: 'Zoë' });
  });

  it('measures a base64 body by its decoded size', () => {
    const decoded = `"${'a'.repeat(200 * 1024)}"`;
    const encoded = Buffer.from(decoded, 'utf8').toString('base64');
    assert.ok(encoded.length > MAX_BODY_BYTES, 'the encoded form alone is over the limit');

    const parsed = parseJsonBody(event(encoded, JSON_TYPE, true));

    assert.equal((parsed as string).length, 200 * 1024);
  });

  it('refuses a body over the limit, counting bytes, not characters', () => {
    const atLimit = `"${'a'.repeat(MAX_BODY_BYTES - 2)}"`;
    const multiByte = `"${'é'.repeat(MAX_BODY_BYTES / 2)}"`; // fewer characters than the limit, more bytes

    assert.equal((parseJsonBody(event(atLimit, JSON_TYPE)) as string).length, MAX_BODY_BYTES - 2);
    assert.throws(() => parseJsonBody(event(`${atLimit} `, JSON_TYPE)), PayloadTooLargeError);
    assert.throws(
      () => parseJsonBody(event(multiByte, JSON_TYPE)),
      (error: unknown) => {
        assert.ok(error instanceof PayloadTooLargeError);
        assert.match(error.message, new RegExp(`at most ${MAX_BODY_BYTES} are accepted`));
        return true;
      },
    );
  });

  it('checks the size before the content type', () => {
    assert.throws(
      () => parseJsonBody(event('x'.repeat(MAX_BODY_BYTES + 1), { 'content-type': 'text/plain' })),
      PayloadTooLargeError,
    );
  });

  it('refuses a content type that is not JSON', () => {
    for (const type of ['text/plain', 'application/xml', 'application/jsonx', 'multipart/form-data']) {
      assert.deepEqual(
        validationProblems(() => parseJsonBody(event('{}', { 'content-type': type }))),
        [{ field: 'content-type', message: `must be application/json, not ${type}` }],
      );
    }
  });

  it('refuses an empty body', () => {
    for (const body of [undefined, '']) {
      assert.deepEqual(
        validationProblems(() => parseJsonBody(event(body, JSON_TYPE))),
        [{ field: '', message: 'the body is empty; a JSON object is expected' }],
      );
    }
  });

  it('refuses a body that is not valid JSON', () => {
    const problems = validationProblems(() => parseJsonBody(event('{"a":', JSON_TYPE)));

    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.field, '');
    assert.match(problems[0]?.message ?? '', /^the body is not valid JSON: /);
  });
});

describe('errorResponse', () => {
  const bodyOf = (response: ReturnType<typeof errorResponse>) => JSON.parse(response.body ?? '');

  it('answers a ValidationError with 400 and every problem', () => {
    const problems = [
      { field: 'productOrderItem.0.action', message: 'invalid' },
      { field: 'externalId', message: 'too long' },
    ];

    const response = errorResponse(new ValidationError(problems));

    assert.equal(response.statusCode, 400);
    assert.deepEqual(response.headers, { 'content-type': 'application/json' });
    assert.deepEqual(bodyOf(response), {
      '@type': 'Error',
      code: '400',
      reason: 'Bad Request',
      message: 'productOrderItem.0.action: invalid; externalId: too long',
      status: '400',
      problems,
      // The extension is named, as TMF630 asks.
      '@schemaLocation': '/openapi.json#/components/schemas/Error',
    });
  });

  for (const [error, status, reason] of [
    [new NotFoundError('order o-1 does not exist'), 404, 'Not Found'],
    [new ConflictError('the item is not FatallyFailed'), 409, 'Conflict'],
    [new PayloadTooLargeError('the body has 300000 bytes'), 413, 'Payload Too Large'],
  ] as const) {
    it(`answers a ${error.name} with ${status} and its message`, () => {
      const response = errorResponse(error);

      assert.equal(response.statusCode, status);
      assert.deepEqual(bodyOf(response), {
        '@type': 'Error',
        code: String(status),
        reason,
        message: error.message,
        status: String(status),
      });
    });
  }

  it('answers any other error with 500, logging it without putting its message in the answer', (t) => {
    const logged = capturedLogs(t, 'ERROR');

    const response = errorResponse(new Error('connect ECONNREFUSED 10.0.0.7:8000 secret-table-name'));

    assert.equal(response.statusCode, 500);
    const body = bodyOf(response);
    assert.equal(body.code, '500');
    assert.equal(body.message, 'The request could not be completed; it was logged.');
    assert.equal('problems' in body, false);
    assert.equal(response.body?.includes('secret-table-name'), false);
    assert.equal(logged().length, 1);
    assert.match(String(logged()[0]), /ECONNREFUSED/);
  });

  it('answers a thrown non-Error with 500 too', (t) => {
    capturedLogs(t);

    assert.equal(errorResponse('just a string').statusCode, 500);
  });
});

describe('problemsFrom', () => {
  it('names each issue by its dotted path', () => {
    const problems = problemsFrom([
      { path: ['productOrderItem', 0, 'action'], message: 'invalid' },
      { path: [], message: 'top' },
    ]);

    assert.deepEqual(problems, [
      { field: 'productOrderItem.0.action', message: 'invalid' },
      { field: '', message: 'top' },
    ]);
  });
});
