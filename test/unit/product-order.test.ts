import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { offeringIdOf, productOrderCreateSchema } from '../../lambdas/domain/product-order';

type Json = Record<string, unknown>;

const line = (extra: Json = {}): Json => ({
  id: '1',
  action: 'add',
  productOffering: { id: 'dsl-broadband' },
  ...extra,
});
const order = (extra: Json = {}): Json => ({ productOrderItem: [line()], ...extra });

/** The dotted paths of every issue of a rejected order. */
function rejectedPaths(input: unknown): string[] {
  const result = productOrderCreateSchema.safeParse(input);
  assert.equal(result.success, false, 'the order is rejected');
  return (result.error?.issues ?? []).map((issue) => issue.path.join('.'));
}

function issueAt(input: unknown, path: string) {
  const issue = productOrderCreateSchema
    .safeParse(input)
    .error?.issues.find((i) => i.path.join('.') === path);
  assert.ok(issue, `an issue at ${path}`);
  return issue;
}

describe('productOrderCreateSchema', () => {
  it('accepts a minimal order and keeps the fields it does not model', () => {
    // Prepare
    const input = order({ 'x-crm-channel': 'shop', productOrderItem: [line({ 'x-note': 'keep me' })] });

    // Act
    const result = productOrderCreateSchema.safeParse(input);

    // Assess
    assert.ok(result.success);
    assert.equal(result.data.productOrderItem[0]?.id, '1');
    assert.equal((result.data as Json)['x-crm-channel'], 'shop');
    assert.equal((result.data.productOrderItem[0] as Json)['x-note'], 'keep me');
    assert.equal(result.data.externalId, undefined);
  });

  it('normalises an externalId string to the v5 array form', () => {
    const result = productOrderCreateSchema.parse(order({ externalId: 'crm-42' }));

    assert.deepEqual(result.externalId, [{ id: 'crm-42' }]);
  });

  it('keeps an externalId array as sent', () => {
    const externalId = [{ id: 'crm-42', owner: 'CRM', externalIdentifierType: 'crmOrder' }];

    const result = productOrderCreateSchema.parse(order({ externalId }));

    assert.deepEqual(result.externalId, externalId);
  });

  it('rejects an empty externalId string and an external identifier without id', () => {
    assert.deepEqual(rejectedPaths(order({ externalId: '' })), ['externalId']);
    assert.deepEqual(rejectedPaths(order({ externalId: [{ owner: 'CRM' }] })), ['externalId']);
  });

  it('requires at least one productOrderItem', () => {
    assert.deepEqual(rejectedPaths({}), ['productOrderItem']);
    assert.equal(
      issueAt({ productOrderItem: [] }, 'productOrderItem').message,
      'an order needs at least one productOrderItem',
    );
  });

  it('rejects an action outside add, modify, delete and noChange', () => {
    assert.deepEqual(rejectedPaths(order({ productOrderItem: [line({ action: 'suspend' })] })), [
      'productOrderItem.0.action',
    ]);
  });

  it('rejects two lines with one id, naming the second and the first', () => {
    const input = order({ productOrderItem: [line({ id: 'a' }), line({ id: 'a' }), line({ id: 'b' })] });

    const paths = rejectedPaths(input);

    assert.deepEqual(paths, ['productOrderItem.1.id']);
    assert.match(issueAt(input, 'productOrderItem.1.id').message, /also the id of productOrderItem\.0/);
  });

  it('requires a productOffering on every line but a noChange one', () => {
    const input = order({
      productOrderItem: [
        { id: '1', action: 'add' },
        { id: '2', action: 'noChange' },
        { id: '3', action: 'delete' },
      ],
    });

    assert.deepEqual(rejectedPaths(input), [
      'productOrderItem.0.productOffering',
      'productOrderItem.2.productOffering',
    ]);
  });

  it('accepts an offering named by entityId, and offeringIdOf reads it', () => {
    const result = productOrderCreateSchema.parse(
      order({ productOrderItem: [line({ productOffering: { entityId: 'voice' } })] }),
    );

    const first = result.productOrderItem[0];
    assert.ok(first);
    assert.equal(offeringIdOf(first), 'voice');
  });

  it('rejects an offering reference with neither id nor entityId, or with both differing', () => {
    assert.deepEqual(
      rejectedPaths(order({ productOrderItem: [line({ productOffering: { name: 'DSL' } })] })),
      ['productOrderItem.0.productOffering.id'],
    );
    assert.deepEqual(
      rejectedPaths(order({ productOrderItem: [line({ productOffering: { id: 'a', entityId: 'b' } })] })),
      ['productOrderItem.0.productOffering.entityId'],
    );
  });

  it('prefers id over entityId and answers "" for a line without offering', () => {
    assert.equal(offeringIdOf({ productOffering: { id: 'dsl', entityId: 'dsl' } }), 'dsl');
    assert.equal(offeringIdOf({}), '');
  });

  it('rejects a characteristic whose value does not fit its @type', () => {
    const characteristics = [
      { '@type': 'StringCharacteristic', name: 'address', value: 'Main St 1' },
      { '@type': 'IntegerCharacteristic', name: 'bandwidth', value: 'abc' },
      { '@type': 'BooleanArrayCharacteristic', name: 'flags', value: [true, 'no'] },
      { '@type': 'IntegerCharacteristic', name: 'ports', value: 2 },
    ];
    const input = order({
      productOrderItem: [line({ product: { productCharacteristic: characteristics } })],
    });

    const paths = rejectedPaths(input);

    assert.deepEqual(paths, [
      'productOrderItem.0.product.productCharacteristic.1.value',
      'productOrderItem.0.product.productCharacteristic.2.value',
    ]);
    assert.equal(
      issueAt(input, 'productOrderItem.0.product.productCharacteristic.1.value').message,
      'does not fit @type IntegerCharacteristic',
    );
  });

  it('rejects a characteristic @type it does not know, and one without a name', () => {
    const characteristics = [
      { '@type': 'ColourCharacteristic', name: 'colour', value: 'red' },
      { value: 'nameless' },
    ];

    const paths = rejectedPaths(
      order({ productOrderItem: [line({ product: { productCharacteristic: characteristics } })] }),
    );

    assert.deepEqual(paths, [
      'productOrderItem.0.product.productCharacteristic.0.@type',
      'productOrderItem.0.product.productCharacteristic.1.name',
    ]);
  });

  it('requires priceType and price on an item price', () => {
    const input = order({ productOrderItem: [line({ itemPrice: [{ name: 'monthly' }] })] });

    assert.deepEqual(rejectedPaths(input).sort(), [
      'productOrderItem.0.itemPrice.0.price',
      'productOrderItem.0.itemPrice.0.priceType',
    ]);
  });

  it('accepts a full item price with an alteration', () => {
    const itemPrice = [
      {
        priceType: 'recurring',
        recurringChargePeriod: 'month',
        price: { taxIncludedAmount: { unit: 'EUR', value: 30 }, taxRate: 0.2 },
        priceAlteration: [{ priceType: 'discount', price: { percentage: 10 }, applicationDuration: 3 }],
      },
    ];

    const result = productOrderCreateSchema.safeParse(order({ productOrderItem: [line({ itemPrice })] }));

    assert.equal(result.success, true);
  });

  it('rejects a draft order: Switchboard keeps none', () => {
    const input = order({ requestedInitialState: 'draft' });

    assert.deepEqual(rejectedPaths(input), ['requestedInitialState']);
    assert.match(issueAt(input, 'requestedInitialState').message, /only "acknowledged" is supported/);
    assert.equal(
      productOrderCreateSchema.safeParse(order({ requestedInitialState: 'acknowledged' })).success,
      true,
    );
  });

  it('requires date-times with a time zone', () => {
    assert.deepEqual(rejectedPaths(order({ requestedStartDate: 'tomorrow' })), ['requestedStartDate']);
    assert.deepEqual(rejectedPaths(order({ requestedCompletionDate: '2025-03-01' })), [
      'requestedCompletionDate',
    ]);
    assert.equal(
      productOrderCreateSchema.safeParse(
        order({
          requestedStartDate: '2025-03-01T10:00:00Z',
          requestedCompletionDate: '2025-03-02T10:00:00+01:00',
        }),
      ).success,
      true,
    );
  });

  it('rejects a wrong @type on the order', () => {
    assert.deepEqual(rejectedPaths(order({ '@type': 'ProductOrderX' })), ['@type']);
  });
});
