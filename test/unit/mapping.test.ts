import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MappingError } from '../../lambdas/domain/errors';
import { evaluateAttributeMapping, evaluateMapping } from '../../lambdas/domain/mapping';

/** Asserts the promise rejects with a MappingError for the mapping whose message matches. */
async function rejectsWithMappingError(promise: Promise<unknown>, mapping: string, message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MappingError, `a MappingError, not ${String(error)}`);
    assert.equal(error.name, 'MappingError');
    assert.equal(error.mapping, mapping);
    assert.ok(error.message.startsWith(`mapping "${mapping}": `), error.message);
    assert.match(error.message, message);
    return true;
  });
}

describe('evaluateMapping', () => {
  it('turns order data into a request body', async () => {
    // Prepare
    const expression = `{
      "orderId": order.id,
      "bandwidthMbps": $number(characteristics.bandwidth),
      "charges": prices.price.taxIncludedAmount.value
    }`;
    const input = {
      order: { id: 'o-1' },
      characteristics: { bandwidth: '100' },
      prices: [
        { price: { taxIncludedAmount: { value: 30 } } },
        { price: { taxIncludedAmount: { value: 5 } } },
      ],
    };

    // Act
    const result = await evaluateMapping('reserve-request', expression, input);

    // Assess
    assert.deepEqual(result, { orderId: 'o-1', bandwidthMbps: 100, charges: [30, 5] });
  });

  it('returns plain JSON for a JSONata sequence', async () => {
    const result = await evaluateMapping('filter', 'values[$ > 1]', { values: [1, 2, 3] });

    assert.deepEqual(result, [2, 3]);
    assert.deepEqual(Object.keys(result as object), ['0', '1']);
  });

  it('evaluates the same expression afresh for each input', async () => {
    const expression = '{ "port": response.portId }';

    const first = await evaluateMapping('m', expression, { response: { portId: 'p-1' } });
    const second = await evaluateMapping('m', expression, { response: { portId: 'p-2' } });

    assert.deepEqual([first, second], [{ port: 'p-1' }, { port: 'p-2' }]);
  });

  it('reports a runtime error, such as calling a function that does not exist', async () => {
    await rejectsWithMappingError(
      evaluateMapping('calls-nothing', '$nope()', {}),
      'calls-nothing',
      /function/,
    );
  });

  it('reports invalid syntax, every time it is evaluated', async () => {
    for (let i = 0; i < 2; i++) {
      await rejectsWithMappingError(
        evaluateMapping('half-written', '{ "a": ', {}),
        'half-written',
        /is not valid JSONata: /,
      );
    }
  });

  it('reports a result of undefined (nothing matched)', async () => {
    await rejectsWithMappingError(
      evaluateMapping('finds-nothing', 'response.portId', { response: {} }),
      'finds-nothing',
      /produced no value$/,
    );
  });

  it('reports a function result, built-in or lambda', async () => {
    await rejectsWithMappingError(evaluateMapping('builtin', '$sum', {}), 'builtin', /produced a function/);
    await rejectsWithMappingError(
      evaluateMapping('lambda', 'function($x) { $x }', {}),
      'lambda',
      /produced a function/,
    );
  });

  it('reports a function nested in the result, with its path', async () => {
    await rejectsWithMappingError(
      evaluateMapping('nested', '{ "a": { "f": $uppercase } }', {}),
      'nested',
      /produced a function at a\.f/,
    );
  });

  it('reports an infinite number inside the result, with its path', async () => {
    await rejectsWithMappingError(
      evaluateMapping('infinite', '{ "rate": { "value": x } }', { x: Number.POSITIVE_INFINITY }),
      'infinite',
      /produced Infinity at rate\.value$/,
    );
    await rejectsWithMappingError(
      evaluateMapping('not-a-number', '{ "n": [1, x] }', { x: Number.NaN }),
      'not-a-number',
      /produced NaN at n\.1$/,
    );
  });

  // Product bug: toJson names the top of the result "the top" for functions but leaves the path empty
  // for numbers, so the message ends in "produced Infinity at ".
  it('says where an infinite number is when it is the whole result', async () => {
    await rejectsWithMappingError(
      evaluateMapping('divides', '1 / 0', {}),
      'divides',
      /produced Infinity at the top$/,
    );
  });
});

describe('evaluateAttributeMapping', () => {
  it('returns the object of attributes', async () => {
    const attributes = await evaluateAttributeMapping('reserve-response', '{ "portId": response.portId }', {
      response: { portId: 'DSLAM-7/3' },
    });

    assert.deepEqual(attributes, { portId: 'DSLAM-7/3' });
  });

  for (const [what, expression] of [
    ['an array', '[1, 2]'],
    ['a string', '"port"'],
    ['a number', '42'],
    ['null', 'null'],
  ] as const) {
    it(`rejects ${what}`, async () => {
      await rejectsWithMappingError(
        evaluateAttributeMapping('attrs', expression, {}),
        'attrs',
        /must produce an object of attributes$/,
      );
    });
  }
});
