import { z } from 'zod';
import { ERROR_ANSWERS } from './errors';
import {
  type AnswerContract,
  contractSchemas,
  type HeaderContract,
  named,
  type RouteContract,
  type WebhookContract,
} from './route';

/** A JSON Schema or OpenAPI object, as the document holds it. */
type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: Json;
  servers: Json[];
  tags: Json[];
  paths: Record<string, Record<string, Json>>;
  components: {
    schemas: Record<string, Json>;
    responses: Record<string, Json>;
    securitySchemes: Record<string, Json>;
  };
  [key: string]: unknown;
}

export interface DocumentInfo {
  version: string;
  /** The notifications sent to listeners, each a `webhooks` entry. */
  webhooks?: readonly WebhookContract[];
  tags: { name: string; description: string }[];
}

const SCHEMA_REF = (id: string) => `#/components/schemas/${id}`;

/** Where callbacks go: the callback URL a callout gave its system holds it whole. */
const CALLBACK_SERVER = {
  url: '{httpApi}',
  description: 'The HTTP API’s own URL (the stack’s output Url; `npm start`’s port locally)',
  variables: { httpApi: { default: 'http://localhost:3000', description: 'The HTTP API’s URL' } },
};
const JSON_SCHEMA_OPTIONS = {
  target: 'draft-2020-12',
  // Parameters are described as a client sends them (before defaults and coercion); bodies as each side
  // reads them (components, below).
  io: 'input',
  // A refinement cannot be said in JSON Schema: what it checks is in the field's description.
  unrepresentable: 'any',
  // zod names its string checks `startsWith`, `endsWith` and `includes` as formats JSON Schema does not
  // have, beside the pattern that says the same: the pattern alone is kept.
  override: ({ jsonSchema }: { jsonSchema: { format?: string } }) => {
    if (jsonSchema.format && ZOD_ONLY_FORMATS.has(jsonSchema.format)) delete jsonSchema.format;
  },
} as const;
const ZOD_ONLY_FORMATS = new Set(['starts_with', 'ends_with', 'includes']);

/**
 * The OpenAPI 3.1 document of the routes: each route's parameters, body and answers from its zod
 * schemas, the named schemas as components, every error answer with its body, and the security each
 * route asks for. Throws, naming the route, when a contract contradicts itself (a path parameter without
 * its schema, an operation id used twice).
 */
export function openApiDocument(routes: readonly RouteContract[], info: DocumentInfo): OpenApiDocument {
  checkRoutes(routes);
  // A route's own body and answers are named after its operation, so that every schema is a component.
  for (const r of routes) {
    const base = r.operationId.charAt(0).toUpperCase() + r.operationId.slice(1);
    if (r.body) nameOnce(r.body.schema, `${base}Request`);
    for (const [type, other] of Object.entries(r.body?.otherContent ?? {}))
      nameOnce(other.schema, `${base}Request${mediaTypeName(type)}`);
    for (const [status, answer] of Object.entries(r.answers))
      if (answer?.schema) nameOnce(answer.schema, `${base}${status}`);
  }
  for (const answer of Object.values(ERROR_ANSWERS)) nameOnce(answer.schema, `${answer.name}Body`);
  for (const hook of info.webhooks ?? []) nameOnce(hook.schema, hook.name);

  const requests = routes.flatMap((r) =>
    r.body ? [r.body.schema, ...Object.values(r.body.otherContent ?? {}).map((other) => other.schema)] : [],
  );
  const answers = [
    ...routes.flatMap((r) =>
      Object.values(r.answers).flatMap((answer) => (answer?.schema ? [answer.schema] : [])),
    ),
    ...Object.values(ERROR_ANSWERS).map((answer) => answer.schema),
    ...(info.webhooks ?? []).map((hook) => hook.schema),
  ];
  const { schemas, requestId } = components(requests.map(idOf), answers.map(idOf));

  const paths: OpenApiDocument['paths'] = {};
  for (const r of routes) {
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, Json>)[r.method.toLowerCase()] = operation(r, requestId);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard',
      version: info.version,
      summary: 'Order-fulfilment orchestration for telecom orders: TMF622 product ordering and its operation',
      description: [
        'TMF622 Product Ordering v5 (`/tmf-api/productOrderingManagement/v5`), the orchestration view and',
        'operator actions (`/orchestration`), the operators’ administration (`/admin`), and the callbacks',
        'of fulfilment systems (`/callbacks`). Generated from the zod schemas the functions validate',
        'requests with (`npm run openapi`); docs/api.md is the guide. Errors are TMF630 `Error` bodies',
        'with a `problems` list naming each field that is wrong.',
      ].join(' '),
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [
      {
        url: '/',
        description:
          'The address this document was read from: the console’s distribution (which forwards the API’s paths) or `npm start`’s port; callbacks go to the HTTP API’s own URL',
      },
    ],
    tags: info.tags,
    paths,
    ...(info.webhooks && info.webhooks.length > 0
      ? { webhooks: Object.fromEntries(info.webhooks.map((hook) => [hook.name, webhook(hook)])) }
      : {}),
    components: {
      schemas,
      // The error answers some route gives (a linter refuses components nothing uses).
      responses: Object.fromEntries(
        Object.entries(ERROR_ANSWERS)
          .filter(([status]) => routes.some((r) => errorStatusesOf(r).includes(Number(status))))
          .map(([, answer]) => [
            answer.name,
            {
              description: answer.description,
              content: { 'application/json': { schema: { $ref: SCHEMA_REF(idOf(answer.schema)) } } },
            },
          ]),
      ),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: [
            'A Cognito access token, checked by API Gateway. Its roles come from the user’s groups',
            '(`submitters`, `order-readers`, `operators`) or a machine client’s scopes',
            '(`switchboard/submit`, `switchboard/read-orders`, `switchboard/operate`); each operation',
            'lists the roles that may call it, any one of them suffices.',
          ].join(' '),
        },
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-signature',
          description: [
            'Standard Webhooks signature of a callback (with `webhook-id` and `webhook-timestamp`), by',
            'the system’s secret; required when its interface asks for signed callbacks. Every callback',
            'is also authorized by the HMAC proof its URL carries (the `proof` path segment).',
          ].join(' '),
        },
        ...(info.webhooks && info.webhooks.length > 0
          ? {
              eventSignature: {
                type: 'apiKey',
                in: 'header',
                name: 'webhook-signature',
                description: [
                  'Standard Webhooks signature of an event Switchboard sends a listener (with `webhook-id`',
                  'and `webhook-timestamp`), by the secret answered when the listener was registered: the',
                  'listener verifies it before it trusts the event.',
                ].join(' '),
              },
            }
          : {}),
      },
    },
  };
}

/**
 * The components: each named schema as a request is sent (`io: input`: a field with a default may be left
 * out) where requests use it, and as an answer is made (`io: output`: a field with a default is always
 * there) where answers use it. A schema both use, and that reads differently either way, is two
 * components: `<name>` for answers and `<name>Input` for requests. `requestId` names the one requests use.
 */
function components(requestIds: string[], answerIds: string[]) {
  const generate = (io: 'input' | 'output') => {
    const generated = z.toJSONSchema(contractSchemas, { ...JSON_SCHEMA_OPTIONS, io, uri: SCHEMA_REF }) as {
      schemas: Record<string, Json>;
    };
    return Object.fromEntries(
      Object.entries(hoistShared(generated.schemas)).map(
        ([id, schema]) => [id, withoutKeys(schema, ['$schema', '$id', 'id'])] as const,
      ),
    );
  };
  const input = generate('input');
  const output = generate('output');
  const forRequests = reachable(requestIds, input);
  const forAnswers = reachable(answerIds, output);
  const split = new Set(
    [...forRequests].filter(
      (id) => forAnswers.has(id) && JSON.stringify(input[id]) !== JSON.stringify(output[id]),
    ),
  );
  // A request-side schema that refers to a split one refers to its input form.
  const toInput = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(toInput);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => {
        const id =
          key === '$ref' && typeof value === 'string' ? value.replace(SCHEMA_REF(''), '') : undefined;
        return [key, id !== undefined && split.has(id) ? SCHEMA_REF(`${id}Input`) : toInput(value)];
      }),
    );
  };
  const requestId = (id: string) => (split.has(id) ? `${id}Input` : id);
  const schemas: Record<string, Json> = {};
  for (const id of forAnswers) schemas[id] = output[id] as Json;
  for (const id of forRequests) schemas[requestId(id)] = toInput(input[id]) as Json;
  return {
    schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
    requestId,
  };
}

/** The components `roots` refer to, directly or through others, themselves included. */
function reachable(roots: string[], schemas: Record<string, Json>): Set<string> {
  const found = new Set<string>();
  const visit = (id: string) => {
    if (found.has(id) || !schemas[id]) return;
    found.add(id);
    for (const match of JSON.stringify(schemas[id]).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
      visit(match[1] as string);
  };
  for (const id of roots) visit(id);
  return found;
}

function operation(r: RouteContract, requestId: (id: string) => string): Json {
  const parameters = [
    ...objectParameters(r.params, 'path'),
    ...objectParameters(r.query, 'query'),
    ...Object.entries(r.headers ?? {}).map(([name, header]) => ({
      name,
      in: 'header',
      required: header.required === true,
      description: header.description,
      schema: inline(header.schema),
    })),
  ];
  const responses: Record<string, Json> = {};
  for (const [status, answer] of Object.entries(r.answers)) if (answer) responses[status] = response(answer);
  for (const status of errorStatusesOf(r))
    responses[String(status)] = {
      $ref: `#/components/responses/${ERROR_ANSWERS[status as keyof typeof ERROR_ANSWERS].name}`,
    };
  return {
    operationId: r.operationId,
    tags: [r.tag],
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    security: r.access === 'callback' ? [{}, { webhookSignature: [] }] : [{ bearer: [...r.access.roles] }],
    // Systems call back on the HTTP API's own address, which the distribution does not forward.
    ...(r.access === 'callback' ? { servers: [CALLBACK_SERVER] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(r.body
      ? {
          requestBody: {
            required: r.body.required !== false,
            ...(r.body.description ? { description: r.body.description } : {}),
            content: Object.fromEntries([
              ...(r.body.contentTypes ?? ['application/json']).map((type) => [
                type,
                {
                  schema: { $ref: SCHEMA_REF(requestId(idOf(r.body?.schema))) },
                  ...(r.body?.example !== undefined ? { example: r.body.example } : {}),
                },
              ]),
              ...Object.entries(r.body.otherContent ?? {}).map(([type, other]) => [
                type,
                {
                  schema: { $ref: SCHEMA_REF(requestId(idOf(other.schema))) },
                  ...(other.example !== undefined ? { example: other.example } : {}),
                },
              ]),
            ]),
          },
        }
      : {}),
    responses,
  };
}

/** A listener's notification: what Switchboard POSTs, and what the listener answers. */
function webhook(hook: WebhookContract): Json {
  return {
    post: {
      operationId: `notify${hook.name}`,
      summary: hook.summary,
      security: [{ eventSignature: [] }],
      ...(hook.description ? { description: hook.description } : {}),
      ...(hook.headers
        ? {
            parameters: Object.entries(hook.headers).map(([name, header]) => ({
              name,
              in: 'header',
              required: header.required === true,
              description: header.description,
              schema: inline(header.schema),
            })),
          }
        : {}),
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { $ref: SCHEMA_REF(idOf(hook.schema)) },
            ...(hook.example !== undefined ? { example: hook.example } : {}),
          },
        },
      },
      responses: {
        '2XX': { description: 'Received: any 2xx answer ends the delivery of this event' },
        default: { description: 'Not received: the delivery is tried again with backoff' },
      },
    },
  };
}

/** The error statuses a route may answer: its own, and the gateway's and the functions' on every route. */
const errorStatusesOf = (r: RouteContract): number[] =>
  [...new Set<number>([...r.errors, ...(r.access === 'callback' ? [] : [401]), 429, 500, 503])].sort(
    (a, b) => a - b,
  );

function response(answer: AnswerContract): Json {
  return {
    description: answer.description,
    ...(answer.headers ? { headers: headers(answer.headers) } : {}),
    ...(answer.schema
      ? {
          content: {
            'application/json': {
              schema: { $ref: SCHEMA_REF(idOf(answer.schema)) },
              ...(answer.example !== undefined ? { example: answer.example } : {}),
            },
          },
        }
      : {}),
  };
}

const headers = (all: Record<string, HeaderContract>): Json =>
  Object.fromEntries(
    Object.entries(all).map(([name, header]) => [
      name,
      { description: header.description, required: header.required === true, schema: inline(header.schema) },
    ]),
  );

function objectParameters(shape: z.ZodObject | undefined, where: 'path' | 'query'): Json[] {
  if (!shape) return [];
  return Object.entries(shape.shape).map(([name, schema]) => {
    const s = schema as z.ZodType;
    return {
      name,
      in: where,
      // A parameter with a default or `.optional()` may be left out.
      required: where === 'path' || !s.safeParse(undefined).success,
      ...(s.description ? { description: s.description } : {}),
      schema: inline(s),
    };
  });
}

/** A parameter's or header's schema, written out where it is used. */
const inline = (schema: z.ZodType): Json =>
  withoutKeys(z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as Json, ['$schema']);

/** A media type as part of a schema's name: `text/xml` TextXml, a wildcard `*` Any. */
const mediaTypeName = (type: string): string =>
  type
    .replaceAll('*', 'any')
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== '')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/** A schema without a name gets `id`, checked as every name is (two schemas never share one). */
function nameOnce(schema: z.ZodType, id: string): void {
  if (!contractSchemas.has(schema)) named(id, schema);
}

function idOf(schema: z.ZodType | undefined): string {
  const id = schema ? contractSchemas.get(schema)?.id : undefined;
  if (!id) throw new Error('a route schema has no name in the document');
  return id;
}

const withoutKeys = (object: Json, keys: string[]): Json =>
  Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));

/** Routes that contradict themselves are refused before anything is written. */
function checkRoutes(routes: readonly RouteContract[]): void {
  const operations = new Set<string>();
  const keys = new Set<string>();
  for (const r of routes) {
    const where = `${r.method} ${r.path}`;
    if (operations.has(r.operationId))
      throw new Error(`${where}: operationId ${r.operationId} is used twice`);
    operations.add(r.operationId);
    if (keys.has(where)) throw new Error(`${where}: declared twice`);
    keys.add(where);
    const inPath = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string).sort();
    const declared = Object.keys(r.params?.shape ?? {}).sort();
    if (inPath.join() !== declared.join())
      throw new Error(
        `${where}: the path's parameters (${inPath.join(', ') || 'none'}) are not the params declared (${declared.join(', ') || 'none'})`,
      );
    // A route that only refuses (a callback URL without its proof) declares its errors alone.
    if (Object.keys(r.answers).length === 0 && r.errors.length === 0)
      throw new Error(`${where}: no answer is declared`);
  }
}

/**
 * zod gathers schemas used in several named ones without a name of their own (a recursive JSON value)
 * under `__shared`'s `$defs`, referred to by a pointer that is not one within the document. Each becomes
 * a component of its own: `JsonValue` for any JSON value (however many copies zod made), else
 * `Shared<n>`; the references follow.
 */
function hoistShared(schemas: Record<string, Json>): Record<string, Json> {
  const { __shared: shared, ...named } = schemas;
  const defs = (shared?.$defs ?? {}) as Record<string, Json>;
  const renamed = new Map<string, string>();
  let n = 0;
  for (const [key, def] of Object.entries(defs)) {
    const text = JSON.stringify(def).replaceAll(`#/components/schemas/__shared#/$defs/${key}`, '#self');
    renamed.set(key, text === JSON_VALUE_SHAPE ? 'JsonValue' : `Shared${++n}`);
  }
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => {
        const shared =
          k === '$ref' &&
          typeof v === 'string' &&
          /^#\/components\/schemas\/__shared#\/\$defs\/(.+)$/.exec(v);
        return [k, shared ? SCHEMA_REF(renamed.get(shared[1] as string) ?? '') : rewrite(v)];
      }),
    );
  };
  const hoisted: Record<string, Json> = {};
  for (const [key, def] of Object.entries(defs)) hoisted[renamed.get(key) as string] = rewrite(def) as Json;
  // In a JSON body, any JSON value is any value at all: the empty schema says so, and reads as `unknown`
  // to a client generator (zod's recursive union defeats some generators' types).
  if (hoisted.JsonValue) hoisted.JsonValue = { description: 'Any JSON value' };
  return { ...(rewrite(named) as Record<string, Json>), ...hoisted };
}

/** What zod makes of `z.json()`, its own reference written `#self`. */
const JSON_VALUE_SHAPE = JSON.stringify({
  anyOf: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'null' },
    { type: 'array', items: { $ref: '#self' } },
    { type: 'object', propertyNames: { type: 'string' }, additionalProperties: { $ref: '#self' } },
  ],
});
