import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CharacteristicSpec,
  checkLineCharacteristics,
  interpretValue,
  offeringSchema,
} from '../../lambdas/domain/offering';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { offering } from './fixtures/catalogs';

const spec = (declared: Pick<CharacteristicSpec, 'valueType'> & Partial<CharacteristicSpec>) =>
  ({ name: 'c', required: false, ...declared }) as CharacteristicSpec;

describe('interpretValue: what a value sent for a characteristic means', () => {
  const integer = spec({ valueType: 'integer', unit: 'Mbit/s' });

  it('takes a number or an integer sent as its JSON text, and refuses any other text', () => {
    assert.deepEqual(interpretValue(integer, '100'), { value: 100 });
    assert.deepEqual(interpretValue(integer, 100), { value: 100 });
    assert.deepEqual(interpretValue(integer, '1e2'), { value: 100 });
    assert.deepEqual(interpretValue(integer, '100M'), { problem: 'must be an integer (Mbit/s), not "100M"' });
    for (const text of [' 100', '100 ', '0100', '+100', '', '1_000', '0x10', 'Infinity'])
      assert.ok(interpretValue(integer, text).problem, JSON.stringify(text));
    assert.equal(interpretValue(integer, '1.5').problem, 'must be an integer (Mbit/s), not "1.5"');
    assert.equal(interpretValue(integer, 2 ** 53).problem, `must be an integer (Mbit/s), not ${2 ** 53}`);
    const number = spec({ valueType: 'number' });
    assert.deepEqual(interpretValue(number, '-0.25'), { value: -0.25 });
    assert.equal(interpretValue(number, true).problem, 'must be a number, not true');
  });

  it('takes a boolean sent as "true" or "false" only', () => {
    const boolean = spec({ valueType: 'boolean' });
    assert.deepEqual(interpretValue(boolean, 'true'), { value: true });
    assert.deepEqual(interpretValue(boolean, false), { value: false });
    assert.equal(interpretValue(boolean, 'yes').problem, 'must be true or false, not "yes"');
    assert.equal(interpretValue(boolean, 1).problem, 'must be true or false, not 1');
  });

  it('takes strings, objects and arrays only as they are', () => {
    assert.deepEqual(interpretValue(spec({ valueType: 'string' }), 'x'), { value: 'x' });
    assert.equal(interpretValue(spec({ valueType: 'string' }), 12).problem, 'must be a string, not 12');
    assert.deepEqual(interpretValue(spec({ valueType: 'object' }), { a: 1 }), { value: { a: 1 } });
    assert.equal(
      interpretValue(spec({ valueType: 'object' }), [1]).problem,
      'must be a JSON object, not [1]',
    );
    assert.equal(
      interpretValue(spec({ valueType: 'object' }), null).problem,
      'must be a JSON object, not null',
    );
    assert.deepEqual(interpretValue(spec({ valueType: 'array' }), []), { value: [] });
    assert.equal(
      interpretValue(spec({ valueType: 'array' }), '[]').problem,
      'must be a JSON array, not "[]"',
    );
  });

  it('holds the value to the allowed values, the bounds and the whole pattern', () => {
    const speeds = spec({ valueType: 'integer', unit: 'Mbit/s', allowedValues: [50, 100] });
    assert.deepEqual(interpretValue(speeds, '50'), { value: 50 });
    assert.equal(interpretValue(speeds, '30').problem, 'must be one of 50, 100 (Mbit/s), not "30"');
    const bounded = spec({ valueType: 'number', minimum: 1, maximum: 5 });
    assert.equal(interpretValue(bounded, 0.5).problem, 'must be at least 1, not 0.5');
    assert.equal(interpretValue(bounded, '6').problem, 'must be at most 5, not "6"');
    const postcode = spec({ valueType: 'string', pattern: '[0-9]{5}' });
    assert.deepEqual(interpretValue(postcode, '12345'), { value: '12345' });
    assert.equal(interpretValue(postcode, 'x12345').problem, 'must match [0-9]{5}, not "x12345"');
    assert.ok(interpretValue(postcode, '123456').problem, 'the pattern matches the whole value');
  });

  it('takes no text for a number when strict, as for what the catalog itself gives', () => {
    assert.equal(
      interpretValue(integer, '100', { strict: true }).problem,
      'must be an integer (Mbit/s), not "100"',
    );
  });

  it('shows a long value cut short', () => {
    const problem = interpretValue(integer, 'x'.repeat(500)).problem ?? '';
    assert.ok(problem.length < 100, problem);
    assert.match(problem, /…$/);
  });
});

describe('offeringSchema: what an offering declares', () => {
  const issuesOf = (characteristics: unknown[]) => {
    const parsed = offeringSchema.safeParse({ id: 'dsl', name: 'DSL', characteristics });
    assert.ok(!parsed.success, 'the offering is refused');
    return parsed.error.issues.map((i) => [i.path.join('.'), i.message]);
  };

  it('reads an offering with defaults: no characteristics, none required', () => {
    assert.deepEqual(offeringSchema.parse({ id: 'voice', name: 'Voice' }), {
      id: 'voice',
      name: 'Voice',
      characteristics: [],
    });
    assert.deepEqual(
      offeringSchema.parse({ id: 'v', name: 'V', characteristics: [{ name: 'n', valueType: 'string' }] })
        .characteristics,
      [{ name: 'n', valueType: 'string', required: false }],
    );
  });

  it('refuses a pattern that is no regular expression, or on anything but a string', () => {
    assert.deepEqual(issuesOf([{ name: 'a', valueType: 'string', pattern: '([' }]), [
      [
        'characteristics.0.pattern',
        'is not a valid regular expression: Invalid regular expression: /^(?:([)$/u: Unterminated character class',
      ],
    ]);
    assert.deepEqual(issuesOf([{ name: 'a', valueType: 'integer', pattern: '[0-9]+' }]), [
      ['characteristics.0.pattern', 'only a string takes a pattern, not an integer'],
    ]);
  });

  it('refuses bounds on what is not a number, and a maximum under the minimum', () => {
    assert.deepEqual(issuesOf([{ name: 'a', valueType: 'string', minimum: 1 }]), [
      ['characteristics.0.minimum', 'only a number or an integer takes a minimum, not a string'],
    ]);
    assert.deepEqual(issuesOf([{ name: 'a', valueType: 'number', minimum: 5, maximum: 1 }]), [
      ['characteristics.0.maximum', 'is less than the minimum, 5'],
    ]);
  });

  it('refuses allowed values on a boolean, and allowed values that do not fit the declaration', () => {
    assert.deepEqual(issuesOf([{ name: 'a', valueType: 'boolean', allowedValues: [1] }]), [
      [
        'characteristics.0.allowedValues',
        'only a string, a number or an integer takes allowed values, not true or false',
      ],
    ]);
    assert.deepEqual(
      issuesOf([{ name: 'a', valueType: 'integer', maximum: 100, allowedValues: [50, '100', 1.5, 250] }]),
      [
        ['characteristics.0.allowedValues.1', 'must be an integer, not "100"'],
        ['characteristics.0.allowedValues.2', 'must be an integer, not 1.5'],
        ['characteristics.0.allowedValues.3', 'must be at most 100, not 250'],
      ],
    );
  });

  it('holds a default to the declaration, and refuses one on a required characteristic', () => {
    assert.deepEqual(issuesOf([{ name: 'a', valueType: 'integer', default: '100' }]), [
      ['characteristics.0.default', 'must be an integer, not "100"'],
    ]);
    assert.deepEqual(issuesOf([{ name: 'a', valueType: 'string', allowedValues: ['x'], default: 'y' }]), [
      ['characteristics.0.default', 'must be one of "x", not "y"'],
    ]);
    assert.deepEqual(issuesOf([{ name: 'a', valueType: 'string', required: ['add'], default: 'x' }]), [
      ['characteristics.0.default', 'a required characteristic takes no default: a line always carries it'],
    ]);
  });

  it('refuses a characteristic named twice, an unknown value type, an unknown field and an unknown action', () => {
    assert.deepEqual(
      issuesOf([
        { name: 'a', valueType: 'string' },
        { name: 'a', valueType: 'integer' },
      ]),
      [['characteristics.1.name', '"a" is also the name of characteristic 1']],
    );
    const wrong = issuesOf([{ name: 'a', valueType: 'text', colour: 'red', required: ['upgrade'] }]).map(
      ([path]) => path,
    );
    assert.deepEqual(wrong.sort(), [
      'characteristics.0',
      'characteristics.0.required',
      'characteristics.0.valueType',
    ]);
  });
});

describe('checkLineCharacteristics: a line held to its offering', () => {
  const dsl = offering('dsl-broadband', [
    { name: 'bandwidth', valueType: 'integer', unit: 'Mbit/s', required: true, allowedValues: [50, 100] },
    { name: 'serviceAddress', valueType: 'string', required: ['add'] },
    { name: 'contactEmail', valueType: 'string', pattern: '[^@]+@[^@]+' },
    { name: 'staticIp', valueType: 'boolean', default: false },
  ]);
  const lineOf = (characteristics: Record<string, unknown>[], action = 'add') => {
    const order = productOrderCreateSchema.parse({
      productOrderItem: [
        {
          id: 'L1',
          action,
          productOffering: { id: 'dsl-broadband' },
          product: { productCharacteristic: characteristics },
        },
      ],
    });
    const [line] = order.productOrderItem;
    assert.ok(line);
    return line;
  };
  const FIELD = 'productOrderItem.3.product.productCharacteristic';

  it('names every problem of the line at once, each by its field, with the line and the characteristic', () => {
    const line = lineOf([
      { name: 'bandwidth', value: '100M' },
      { name: 'bandwith', value: 100 },
      { name: 'contactEmail', value: 'nobody' },
      { name: 'contactEmail', value: 'a@b' },
    ]);

    const { problems } = checkLineCharacteristics(dsl, line, 3);

    assert.deepEqual(problems, [
      {
        field: `${FIELD}.0.value`,
        message: 'line "L1": characteristic "bandwidth" must be an integer (Mbit/s), not "100M"',
      },
      {
        field: `${FIELD}.1.name`,
        message:
          'line "L1": characteristic "bandwith" is not one offering "dsl-broadband" takes (it takes: bandwidth, serviceAddress, contactEmail, staticIp)',
      },
      {
        field: `${FIELD}.2.value`,
        message: 'line "L1": characteristic "contactEmail" must match [^@]+@[^@]+, not "nobody"',
      },
      {
        field: `${FIELD}.3.name`,
        message: 'line "L1": characteristic "contactEmail" appears twice (first as productCharacteristic.2)',
      },
      { field: FIELD, message: 'line "L1": characteristic "serviceAddress" is required: a string' },
    ]);
  });

  it('asks for a characteristic required for some actions only on lines with one of them', () => {
    const modify = checkLineCharacteristics(dsl, lineOf([{ name: 'bandwidth', value: 50 }], 'modify'), 0);
    assert.deepEqual(modify.problems, []);
    const add = checkLineCharacteristics(dsl, lineOf([{ name: 'bandwidth', value: 50 }]), 0);
    assert.deepEqual(
      add.problems.map((p) => p.message),
      ['line "L1": characteristic "serviceAddress" is required: a string'],
    );
  });

  it('keeps the line as read: typed values (with a matching @type where one was sent) and the defaults', () => {
    const line = lineOf([
      { name: 'bandwidth', '@type': 'StringCharacteristic', value: '100' },
      { name: 'serviceAddress', id: 'c-2', value: '1 Main Street' },
    ]);

    const checked = checkLineCharacteristics(dsl, line, 0);

    assert.deepEqual(checked.problems, []);
    assert.deepEqual(checked.line.product?.productCharacteristic, [
      { name: 'bandwidth', '@type': 'IntegerCharacteristic', value: 100 },
      { name: 'serviceAddress', id: 'c-2', value: '1 Main Street' },
      { name: 'staticIp', value: false },
    ]);
    assert.deepEqual(
      line.product?.productCharacteristic?.[0],
      {
        name: 'bandwidth',
        '@type': 'StringCharacteristic',
        value: '100',
      },
      'the line as sent is left as it was',
    );
  });

  it('gives back the very line when nothing changes, and adds a product for defaults to a line without one', () => {
    const exact = lineOf([
      { name: 'bandwidth', value: 50 },
      { name: 'serviceAddress', value: 'x' },
      { name: 'staticIp', value: true },
    ]);
    assert.equal(checkLineCharacteristics(dsl, exact, 0).line, exact);

    const tv = offering('tv', [{ name: 'package', valueType: 'string', default: 'basic' }]);
    const [bare] = productOrderCreateSchema.parse({
      productOrderItem: [{ id: 'T', action: 'add', productOffering: { id: 'tv' } }],
    }).productOrderItem;
    assert.ok(bare);
    assert.deepEqual(checkLineCharacteristics(tv, bare, 0).line.product, {
      productCharacteristic: [{ name: 'package', value: 'basic' }],
    });
  });

  it('gives back the line as sent when it has problems', () => {
    const line = lineOf([{ name: 'bandwidth', value: '100' }]);
    const checked = checkLineCharacteristics(dsl, line, 0);
    assert.equal(checked.problems.length, 1);
    assert.equal(checked.line, line);
  });
});
