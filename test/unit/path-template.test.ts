import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MappingError } from '../../lambdas/domain/errors';
import { expandPath, pathPlaceholders, pathTemplateProblems } from '../../lambdas/domain/path-template';

/** What mappings see, as much of it as a path template reads. */
const input = (attributes: Record<string, unknown>, lineAttributes: Record<string, unknown> = {}) => ({
  order: { id: 'o-1', externalId: [{ id: 'crm/42' }] },
  characteristics: { region: 'EU-West' },
  attributes,
  lineAttributes,
});

async function rejectsNaming(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MappingError, `a MappingError, not ${String(error)}`);
    assert.match(error.message, /^mapping "path of interface inventory-release-port": /);
    assert.match(error.message, message);
    return true;
  });
}

describe('path templates', () => {
  it('tell attribute names from JSONata expressions', () => {
    assert.deepEqual(
      pathPlaceholders('/ports/{portId}/lines/{ order.id }?region={$lowercase(characteristics.region)}'),
      [
        { text: '{portId}', attribute: 'portId' },
        { text: '{ order.id }', expression: 'order.id' },
        { text: '{$lowercase(characteristics.region)}', expression: '$lowercase(characteristics.region)' },
      ],
    );
    assert.deepEqual(pathPlaceholders('/ports/reservations'), []);
  });

  it('fill an attribute, the line’s own before the order’s', async () => {
    assert.equal(
      await expandPath('/ports/reservations/{portId}', input({ portId: 'P-1' }), 'inventory-release-port'),
      '/ports/reservations/P-1',
    );
    assert.equal(
      await expandPath(
        '/ports/reservations/{portId}',
        input({ portId: 'P-of-another-line' }, { portId: 'P-2' }),
        'inventory-release-port',
      ),
      '/ports/reservations/P-2',
    );
  });

  it('evaluate expressions over what mappings see, in the path and the query', async () => {
    assert.equal(
      await expandPath(
        '/orders/{order.id}/lines?region={$lowercase(characteristics.region)}&n={1 + 1}',
        input({}),
        'inventory-release-port',
      ),
      '/orders/o-1/lines?region=eu-west&n=2',
    );
  });

  it('percent-encode each value, so a value never adds a segment or a parameter', async () => {
    assert.equal(
      await expandPath(
        '/customers/{order.externalId[0].id}?tag={tag}',
        input({ tag: 'a&b=c d' }),
        'inventory-release-port',
      ),
      '/customers/crm%2F42?tag=a%26b%3Dc%20d',
    );
  });

  it('name the placeholder when the order has no value for it', async () => {
    await rejectsNaming(
      expandPath('/ports/reservations/{portId}', input({}), 'inventory-release-port'),
      /placeholder \{portId\} names attribute "portId", which no item of the order has written/,
    );
    await rejectsNaming(
      expandPath('/x/{order.nothing}', input({}), 'inventory-release-port'),
      /placeholder \{order\.nothing\} produced no value/,
    );
  });

  it('refuse a value that is no scalar, or an empty string that would name another resource', async () => {
    await rejectsNaming(
      expandPath('/ports/{port}', input({ port: { id: 'P-1' } }), 'inventory-release-port'),
      /placeholder \{port\} must produce a string, a number or a boolean, not object/,
    );
    await rejectsNaming(
      expandPath('/ports/{port}', input({ port: null }), 'inventory-release-port'),
      /not null/,
    );
    await rejectsNaming(
      expandPath('/ports/reservations/{portId}', input({ portId: '' }), 'inventory-release-port'),
      /produced an empty string/,
    );
  });

  it('are checked at synth: stray braces, empty placeholders and JSONata that does not parse', () => {
    assert.deepEqual(pathTemplateProblems('/ports/{portId}?q={order.id}'), []);
    assert.deepEqual(pathTemplateProblems('/ports/{portId'), [
      'has a brace that opens or closes no placeholder (a placeholder is "{name}" or "{expression}")',
    ]);
    assert.deepEqual(pathTemplateProblems('/ports/{}'), ['has an empty placeholder {}']);
    const [problem] = pathTemplateProblems('/ports/{order.}');
    assert.match(problem ?? '', /^placeholder \{order\.\} is not valid JSONata: /);
  });
});
