import { z } from 'zod';

/**
 * TMF622 Product Ordering v5: the parts of ProductOrder_FVO Switchboard reads, checked strictly, while
 * the rest of the (extensible) TMF shape is kept as sent. Deliberate leniencies, documented in
 * docs/api.md: `@type` may be left out where the schema allows one value (it is assumed), references
 * may use `id` as the spec's examples do (or `entityId` as its schema says), and `externalId` may be a
 * plain string as in TMF622 v4 (it is answered in the v5 array form).
 */

/**
 * How many of each repeated part an order may have, and how long an external id may be (it is a key of
 * its own record): an order that passes stays one small record and a bounded number of writes.
 * Documented in docs/api.md (Limits).
 */
export const MAX_LINES = 100;
export const MAX_CHARACTERISTICS = 100;
export const MAX_PRICES = 20;
export const MAX_NOTES = 20;
export const MAX_RELATED_PARTIES = 20;
export const MAX_EXTERNAL_IDS = 10;
export const MAX_EXTERNAL_ID_LENGTH = 200;

const notes = z
  .array(z.looseObject({ text: z.string().optional() }))
  .max(MAX_NOTES)
  .optional();

const typeTag = (...values: [string, ...string[]]) => z.enum(values).optional();

const money = z.looseObject({ unit: z.string().min(1), value: z.number().finite() });

const price = z.looseObject({
  '@type': typeTag('Price'),
  taxIncludedAmount: money.optional(),
  dutyFreeAmount: money.optional(),
  taxRate: z.number().min(0).optional(),
  percentage: z.number().optional(),
});

const priceAlteration = z.looseObject({
  '@type': typeTag('PriceAlteration'),
  priceType: z.string().min(1),
  price,
  name: z.string().optional(),
  recurringChargePeriod: z.string().optional(),
  applicationDuration: z.number().int().optional(),
  priority: z.number().int().optional(),
});

const orderPrice = z.looseObject({
  '@type': typeTag('OrderPrice'),
  name: z.string().optional(),
  description: z.string().optional(),
  priceType: z.string().min(1),
  recurringChargePeriod: z.string().optional(),
  unitOfMeasure: z.string().optional(),
  price,
  priceAlteration: z.array(priceAlteration).max(MAX_PRICES).optional(),
});

/** Which JSON values each Characteristic subtype carries. */
const characteristicValueTypes: Record<string, (value: unknown) => boolean> = {
  Characteristic: () => true,
  StringCharacteristic: (v) => typeof v === 'string',
  NumberCharacteristic: (v) => typeof v === 'number',
  FloatCharacteristic: (v) => typeof v === 'number',
  IntegerCharacteristic: (v) => Number.isInteger(v),
  BooleanCharacteristic: (v) => typeof v === 'boolean',
  ObjectCharacteristic: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  StringArrayCharacteristic: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  NumberArrayCharacteristic: (v) => Array.isArray(v) && v.every((x) => typeof x === 'number'),
  FloatArrayCharacteristic: (v) => Array.isArray(v) && v.every((x) => typeof x === 'number'),
  IntegerArrayCharacteristic: (v) => Array.isArray(v) && v.every((x) => Number.isInteger(x)),
  BooleanArrayCharacteristic: (v) => Array.isArray(v) && v.every((x) => typeof x === 'boolean'),
  ObjectArrayCharacteristic: (v) => Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object'),
};

/**
 * The largest characteristic value an order may carry, as JSON. An order is kept whole in one record
 * (and read by every item that starts), so no single value may take most of it: a service address, a
 * note or a configuration fits; a document does not, and is better passed by reference.
 */
export const MAX_CHARACTERISTIC_VALUE_BYTES = 16 * 1024;
/** The largest order, as JSON, that is accepted: its record stays well under 64 KB with its bookkeeping. */
export const MAX_ORDER_BYTES = 48 * 1024;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');

const characteristic = z
  .looseObject({
    '@type': z
      .string()
      .refine((t) => t in characteristicValueTypes, {
        message: `must be one of ${Object.keys(characteristicValueTypes).join(', ')}`,
      })
      .optional(),
    id: z.string().optional(),
    name: z.string().min(1),
    valueType: z.string().optional(),
    value: z.json(),
  })
  .superRefine((c, ctx) => {
    const accepts = characteristicValueTypes[c['@type'] ?? 'Characteristic'];
    if (accepts && !accepts(c.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `does not fit @type ${c['@type']}` });
    }
    const size = jsonBytes(c.value);
    if (size > MAX_CHARACTERISTIC_VALUE_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `is ${size} bytes as JSON; a characteristic value may have at most ${MAX_CHARACTERISTIC_VALUE_BYTES}`,
      });
    }
  });

/** The spec's FVO names the referenced offering `entityId`, its own examples (and v4) `id`: either is accepted. */
const productOfferingRef = z
  .looseObject({
    '@type': typeTag('ProductOfferingRef'),
    '@referredType': z.string().optional(),
    id: z.string().min(1).optional(),
    entityId: z.string().min(1).optional(),
    href: z.string().optional(),
    name: z.string().optional(),
    version: z.string().optional(),
  })
  .superRefine((ref, ctx) => {
    if (ref.id === undefined && ref.entityId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: 'the offering is named by id (or entityId)' });
    }
    if (ref.id !== undefined && ref.entityId !== undefined && ref.id !== ref.entityId) {
      ctx.addIssue({ code: 'custom', path: ['entityId'], message: 'differs from id' });
    }
  });

/** The offering a line orders, however the client named it. */
export const offeringIdOf = (line: { productOffering?: { id?: string; entityId?: string } }): string =>
  line.productOffering?.id ?? line.productOffering?.entityId ?? '';

const product = z.looseObject({
  '@type': typeTag('Product', 'ProductRef'),
  id: z.string().optional(),
  href: z.string().optional(),
  name: z.string().optional(),
  productCharacteristic: z.array(characteristic).max(MAX_CHARACTERISTICS).optional(),
});

export const ITEM_ACTIONS = ['add', 'modify', 'delete', 'noChange'] as const;

const productOrderItem = z.looseObject({
  '@type': typeTag('ProductOrderItem'),
  id: z.string().min(1).max(100),
  action: z.enum(ITEM_ACTIONS),
  quantity: z.number().int().min(1).optional(),
  productOffering: productOfferingRef.optional(),
  product: product.optional(),
  itemPrice: z.array(orderPrice).max(MAX_PRICES).optional(),
  itemTotalPrice: z.array(orderPrice).max(MAX_PRICES).optional(),
  note: notes,
});

const externalIdentifier = z.looseObject({
  '@type': typeTag('ExternalIdentifier'),
  id: z.string().min(1).max(MAX_EXTERNAL_ID_LENGTH),
  owner: z.string().max(200).optional(),
  externalIdentifierType: z.string().max(200).optional(),
});

const dateTime = z.iso.datetime({ offset: true });

export const productOrderCreateSchema = z
  .looseObject({
    '@type': typeTag('ProductOrder'),
    externalId: z
      .union([
        z.string().min(1).max(MAX_EXTERNAL_ID_LENGTH),
        z.array(externalIdentifier).max(MAX_EXTERNAL_IDS, `at most ${MAX_EXTERNAL_IDS} external ids`),
      ])
      .optional()
      .transform((v) => (typeof v === 'string' ? [{ id: v }] : v)),
    description: z.string().max(2000).optional(),
    category: z.string().optional(),
    priority: z.string().optional(),
    requestedInitialState: z
      .enum(['acknowledged'], {
        message: 'only "acknowledged" is supported; Switchboard keeps no draft orders',
      })
      .optional(),
    requestedStartDate: dateTime.optional(),
    requestedCompletionDate: dateTime.optional(),
    productOrderItem: z
      .array(productOrderItem)
      .min(1, 'an order needs at least one productOrderItem')
      .max(MAX_LINES),
    orderTotalPrice: z.array(orderPrice).max(MAX_PRICES).optional(),
    note: notes,
    relatedParty: z
      .array(z.looseObject({ role: z.string().optional() }))
      .max(MAX_RELATED_PARTIES)
      .optional(),
  })
  .superRefine((order, ctx) => {
    const seen = new Map<string, number>();
    order.productOrderItem.forEach((line, index) => {
      const first = seen.get(line.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['productOrderItem', index, 'id'],
          message: `"${line.id}" is also the id of productOrderItem.${first}`,
        });
      }
      seen.set(line.id, index);
      // A line's state is what its items make of it (order-view.ts), never what a client says.
      if ('state' in line) {
        ctx.addIssue({
          code: 'custom',
          path: ['productOrderItem', index, 'state'],
          message: 'is set by the server and must not be sent',
        });
      }
      if (line.action !== 'noChange' && line.productOffering === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['productOrderItem', index, 'productOffering'],
          message: 'is required: it chooses the plan that fulfils the line',
        });
      }
    });
  });

export type ProductOrderCreate = z.infer<typeof productOrderCreateSchema>;
export type ProductOrderItemCreate = ProductOrderCreate['productOrderItem'][number];

/**
 * Fields the server sets; a client that sends them is told so instead of being silently ignored (and
 * never answered as if Switchboard had set them).
 */
export const SERVER_SET_FIELDS = [
  'id',
  'href',
  'state',
  'orderDate',
  'completionDate',
  'creationDate',
  'expectedCompletionDate',
  'fulfilmentAttributes',
  'productOrderErrorMessage',
  'productOrderJeopardyAlert',
  'productOrderMilestone',
] as const;
