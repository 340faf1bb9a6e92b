import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { characteristicType } from '../../lambdas/domain/order-view';

/** TM Forum's published TMF622 v5 OpenAPI document, beside the project (../shared/specs). */
export const TMF622_SPEC = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'shared',
  'specs',
  'TMF622-ProductOrdering-v5.0.0.oas.yaml',
);

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

/**
 * What is wrong with `body` as the TMF622 v5 document's schema `schemaName` (`CancelProductOrder`,
 * `ProductOrder`, …) defines it: one line per problem, with the JSON pointer of the field; none when it is
 * valid. The document is OpenAPI 3.0, whose schemas are JSON Schema but for two keywords: `nullable`
 * (read as "or null") and `discriminator`, which names, by `@type`, the subtype a value must also be
 * (an `IntegerCharacteristic`'s value an integer). TMF puts it beside `allOf` where Ajv's own support of it
 * expects `oneOf`, so it is written out as JSON Schema: wherever a schema with subtypes is used, a value
 * whose `@type` names one is held to that subtype too (see `withSubtypes`).
 */
export function tmf622Problems(schemaName: string, body: unknown): string[] {
  let validate = validators.get(schemaName);
  if (!validate) {
    ajv ??= loadSpec();
    const polymorphic = `${schemaName}${POLYMORPHIC}`;
    const found =
      ajv.getSchema(`tmf622#/components/schemas/${polymorphic}`) ??
      ajv.getSchema(`tmf622#/components/schemas/${schemaName}`);
    if (!found) throw new Error(`the TMF622 document has no schema ${schemaName}`);
    validate = found;
    validators.set(schemaName, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/** The document's schemas as published, by name. */
let published: Record<string, Json> | undefined;

function loadSpec(): Ajv {
  const document = parseYaml(readFileSync(TMF622_SPEC, 'utf8')) as { components: { schemas: unknown } };
  published = document.components.schemas as Record<string, Json>;
  const instance = new Ajv({ strict: false, allErrors: true });
  addFormats.default(instance);
  // The one format the document uses that ajv-formats does not know (an attachment's content).
  instance.addFormat('base64', /^[A-Za-z0-9+/]*={0,2}$/);
  const schemas = asJsonSchema(document.components.schemas) as Record<string, Json>;
  instance.addSchema({
    $id: 'tmf622',
    components: { schemas: withSubtypes(schemas, document.components.schemas as Record<string, Json>) },
  });
  return instance;
}

const POLYMORPHIC = '__withSubtypes';
const REF = (name: string) => `#/components/schemas/${name}`;

/**
 * The schemas with their discriminators written out. For each schema whose discriminator maps `@type`
 * values to subtypes, a companion `<name>__withSubtypes` is the schema and, for each subtype but itself,
 * "if `@type` is that value, the value is that subtype"; every use of the schema refers to the companion,
 * but the uses that are inheritance (a subtype's `allOf` naming its base), which keep the plain schema so
 * that checking a subtype never comes back to its own discriminator.
 */
function withSubtypes(schemas: Record<string, Json>, original: Record<string, Json>): Record<string, Json> {
  const mappings = new Map<string, [string, string][]>();
  for (const [name, schema] of Object.entries(original)) {
    const mapping = (schema.discriminator as { mapping?: Record<string, string> } | undefined)?.mapping;
    const subtypes = Object.entries(mapping ?? {}).filter(([, ref]) => ref !== REF(name));
    if (subtypes.length > 0) mappings.set(name, subtypes);
  }
  const polymorphicRef = (ref: unknown) => {
    const name = typeof ref === 'string' ? ref.replace('#/components/schemas/', '') : '';
    return mappings.has(name) ? REF(`${name}${POLYMORPHIC}`) : ref;
  };
  const rewrite = (node: unknown, inheritance = false): unknown => {
    if (Array.isArray(node)) return node.map((n) => rewrite(n, inheritance));
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => {
        if (key === '$ref' && !inheritance) return [key, polymorphicRef(value)];
        return [key, rewrite(value)];
      }),
    );
  };
  const result: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    // A subtype's allOf names its base (inheritance); anything else in it is a use.
    const { allOf, ...rest } = schema;
    result[name] = {
      ...(rewrite(rest) as Json),
      ...(Array.isArray(allOf)
        ? {
            allOf: allOf.map((part) =>
              isObject(part) && typeof part.$ref === 'string' && Object.keys(part).length === 1
                ? part
                : rewrite(part),
            ),
          }
        : {}),
    };
  }
  for (const [name, subtypes] of mappings) {
    result[`${name}${POLYMORPHIC}`] = {
      allOf: [
        { $ref: REF(name) },
        ...subtypes.map(([type, ref]) => ({
          if: { properties: { '@type': { const: type } }, required: ['@type'] },
          // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, a schema never awaited
          then: { $ref: ref },
        })),
      ],
    };
  }
  return result;
}

/** OpenAPI 3.0 schema objects as JSON Schema: `nullable: true` becomes a type that admits null. */
function asJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(asJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const { discriminator: _dropped, nullable, ...rest } = node as Record<string, unknown>;
  const converted = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, asJsonSchema(v)]));
  if (nullable === true && typeof converted.type === 'string') converted.type = [converted.type, 'null'];
  return converted;
}

/**
 * The schema of an event's payload (its `event`), as the document names it: `<type>Payload`, but for
 * the milestone and jeopardy events, whose payloads drop the "Event".
 */
export function payloadSchemaOf(eventType: string): string {
  return eventType === 'ProductOrderMilestoneEvent' || eventType === 'ProductOrderJeopardyAlertEvent'
    ? `${eventType.replace(/Event$/, '')}Payload`
    : `${eventType}Payload`;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * A request body as TMF622 would have it, once Switchboard's documented leniencies (docs/api.md,
 * "Where Switchboard differs from TMF622") are undone: every `@type` a client may leave out where the
 * schema allows one value is filled in, `externalId` given as a string (TMF622 v4) becomes the v5 list,
 * and a reference named by `id` (as the specification's own examples do) is named by `entityId` too.
 * Written here from the documentation, not taken from the server: what the server accepts beyond
 * TMF622 must be exactly these, or the end-to-end check reports it. Only the subtype a characteristic's
 * value calls for is the server's own (order-view.ts): a wrong one fails TMF622's discriminator.
 */
export function undoLeniencies(body: unknown, rootType: string): unknown {
  if (!isObject(body)) return body;
  const typed = (part: unknown, type: string): unknown =>
    isObject(part) ? { '@type': type, ...part } : part;
  const list = (owner: Json, field: string, map: (part: unknown) => unknown): Json =>
    Array.isArray(owner[field]) ? { [field]: (owner[field] as unknown[]).map(map) } : {};
  const reference = (ref: unknown, type: string): unknown =>
    isObject(ref) ? { '@type': type, ...(ref.id !== undefined ? { entityId: ref.id } : {}), ...ref } : ref;
  const price = (p: unknown): unknown =>
    isObject(p)
      ? {
          '@type': 'OrderPrice',
          ...p,
          ...(isObject(p.price) ? { price: typed(p.price, 'Price') } : {}),
          ...list(p, 'priceAlteration', (a) =>
            isObject(a)
              ? {
                  ...(typed(a, 'PriceAlteration') as Json),
                  ...(isObject(a.price) ? { price: typed(a.price, 'Price') } : {}),
                }
              : a,
          ),
        }
      : p;
  const characteristic = (c: unknown): unknown => (isObject(c) ? typed(c, characteristicType(c.value)) : c);
  const product = (p: unknown): unknown =>
    isObject(p)
      ? {
          '@type': Array.isArray(p.productCharacteristic) || p.id === undefined ? 'Product' : 'ProductRef',
          ...(p.id !== undefined && !Array.isArray(p.productCharacteristic) ? { entityId: p.id } : {}),
          ...p,
          ...list(p, 'productCharacteristic', characteristic),
        }
      : p;
  const line = (l: unknown): unknown =>
    isObject(l)
      ? {
          '@type': 'ProductOrderItem',
          ...l,
          ...(l.productOffering !== undefined
            ? { productOffering: reference(l.productOffering, 'ProductOfferingRef') }
            : {}),
          ...(l.product !== undefined ? { product: product(l.product) } : {}),
          ...list(l, 'itemPrice', price),
          ...list(l, 'itemTotalPrice', price),
          ...list(l, 'note', (n) => typed(n, 'Note')),
        }
      : l;
  return {
    '@type': rootType,
    ...body,
    ...(typeof body.externalId === 'string'
      ? { externalId: [{ '@type': 'ExternalIdentifier', id: body.externalId }] }
      : list(body, 'externalId', (e) => typed(e, 'ExternalIdentifier'))),
    ...list(body, 'productOrderItem', line),
    ...list(body, 'orderTotalPrice', price),
    ...list(body, 'note', (n) => typed(n, 'Note')),
    ...(body.productOrder !== undefined
      ? { productOrder: reference(body.productOrder, 'ProductOrderRef') }
      : {}),
  };
}

/** The TMF622 schemas of each TMF622 route's request (when it was carried out) and answer. */
const TMF622_ROUTES: Record<string, { request?: string; answer: string }> = {
  'POST /productOrder': { request: 'ProductOrder_FVO', answer: 'ProductOrder' },
  'GET /productOrder': { answer: 'ProductOrder' },
  'GET /productOrder/{id}': { answer: 'ProductOrder' },
  'PATCH /productOrder/{id}': { request: 'ProductOrder_MVO', answer: 'ProductOrder' },
  'POST /cancelProductOrder': { request: 'CancelProductOrder_FVO', answer: 'CancelProductOrder' },
  'GET /cancelProductOrder': { answer: 'CancelProductOrder' },
  'GET /cancelProductOrder/{id}': { answer: 'CancelProductOrder' },
  'POST /hub': { request: 'Hub_FVO', answer: 'Hub' },
  'GET /hub': { answer: 'Hub' },
  'GET /hub/{id}': { answer: 'Hub' },
};

const TMF622_BASE = '/tmf-api/productOrderingManagement/v5';

/**
 * What is wrong, by the TMF622 v5 document, with a TMF622 route's exchange: the request it carried out
 * (once the documented leniencies are undone), and its answer — each resource answered, or the error.
 * An answer cut down by `fields` is checked by the API's own document only: TMF630 selection drops what
 * the resource's schema requires.
 */
export function tmf622ExchangeProblems(exchange: {
  routeKey: string;
  query?: Record<string, string>;
  requestBody?: string;
  status: number;
  body?: string;
}): string[] {
  const [method = '', path = ''] = exchange.routeKey.split(' ');
  if (!path.startsWith(TMF622_BASE)) return [];
  const route = TMF622_ROUTES[`${method} ${path.slice(TMF622_BASE.length)}`];
  if (!route) return [];
  const problems: string[] = [];
  const check = (schema: string, value: unknown, what: string) => {
    problems.push(
      ...tmf622Problems(schema, value).map((p) => `${exchange.routeKey} ${what} by TMF622 ${schema}: ${p}`),
    );
  };
  const parse = (text: string | undefined): unknown => {
    try {
      return text ? JSON.parse(text) : undefined;
    } catch {
      return undefined;
    }
  };
  const marked = (schema: string, value: unknown, what: string) => {
    const extensions = unmarkedExtensions(schema, value);
    if (extensions.length > 0)
      problems.push(
        `${exchange.routeKey} ${what}: ${extensions.join(', ')} extend TMF622 ${schema} without @schemaLocation`,
      );
  };
  const answer = parse(exchange.body);
  if (exchange.status >= 400) {
    if (isObject(answer) && answer['@type'] === 'Error') {
      check('Error', answer, `${exchange.status} body`);
      marked('Error', answer, `${exchange.status} body`);
    }
    return problems;
  }
  if (route.request && exchange.status < 300) {
    const rootType = route.request.replace(/_(FVO|MVO)$/, '');
    check(route.request, undoLeniencies(parse(exchange.requestBody), rootType), 'request body');
  }
  if (exchange.status === 204 || exchange.query?.fields !== undefined) return problems;
  const resources = Array.isArray(answer) ? answer : [answer];
  for (const [n, resource] of resources.entries()) {
    const what = Array.isArray(answer) ? `${exchange.status} body.${n}` : `${exchange.status} body`;
    check(route.answer, resource, what);
    marked(route.answer, resource, what);
  }
  return problems;
}

/** The attributes a TMF622 schema defines, through its allOf, oneOf, anyOf and references. */
function definedAttributes(name: string): Set<string> {
  ajv ??= loadSpec();
  const names = new Set<string>();
  const seen = new Set<unknown>();
  const collect = (schema: unknown): void => {
    if (!isObject(schema) || seen.has(schema)) return;
    seen.add(schema);
    if (typeof schema.$ref === 'string')
      collect(published?.[schema.$ref.replace('#/components/schemas/', '')]);
    for (const key of ['allOf', 'oneOf', 'anyOf'])
      if (Array.isArray(schema[key])) for (const part of schema[key] as unknown[]) collect(part);
    if (isObject(schema.properties))
      for (const attribute of Object.keys(schema.properties)) names.add(attribute);
  };
  collect(published?.[name]);
  return names;
}

/**
 * The attributes of a TMF622 body that its schema does not define, when the body does not name the
 * schema that does in `@schemaLocation`, as TMF630 asks of an extension.
 */
export function unmarkedExtensions(schemaName: string, body: unknown): string[] {
  if (!isObject(body) || '@schemaLocation' in body) return [];
  const defined = definedAttributes(schemaName);
  return Object.keys(body).filter((attribute) => !defined.has(attribute));
}
