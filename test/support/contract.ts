import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from '../../lambdas/contract/document';
import { switchboardOpenApi } from '../../lib/openapi';
import type { ApiExchange } from '../../local/api-gateway';

/**
 * Checks requests and answers against the API's generated OpenAPI document, so that the document cannot
 * drift from the code: every problem names the route (`GET /admin/systems/{systemId}`), the status and
 * the field. The end-to-end tests run it on every exchange of the local runtime (contract-watch.ts); unit
 * tests of handlers may call it on what a handler answered.
 */

/** One request to the API and its answer, as the local API Gateway saw them. */
export type Exchange = ApiExchange;

interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema: unknown }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
  responses: Record<
    string,
    {
      $ref?: string;
      content?: Record<string, { schema: unknown }>;
      headers?: Record<string, { required?: boolean; schema: unknown }>;
    }
  >;
}

let checker: { document: OpenApiDocument; ajv: Ajv2020; compiled: Map<string, ValidateFunction> } | undefined;

function load() {
  if (checker) return checker;
  const document = switchboardOpenApi();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');
  checker = { document, ajv, compiled: new Map() };
  return checker;
}

/** What is wrong with `value` by `schema` (a schema of the document), one line per problem. */
function problemsOf(schema: unknown, value: unknown, where: string): string[] {
  const { ajv, compiled } = load();
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    // Schemas of parameters and answers refer to the components by `#/components/…` of the document.
    validate = ajv.compile(rebase(schema) as object);
    compiled.set(key, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (e) =>
      `${where}${e.instancePath.replaceAll('/', '.')}: ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
  );
}

/** A schema written inside the document, its `#/components/…` references read against the document. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi${v}` : rebase(v),
    ]),
  );
}

function operationOf(routeKey: string): Operation | undefined {
  const [method = '', path = ''] = routeKey.split(' ');
  return load().document.paths[path]?.[method.toLowerCase()] as Operation | undefined;
}

/** The answer for a status: the operation's own, or the shared error answer it refers to. */
function answerOf(operation: Operation, status: number) {
  const answer = operation.responses[String(status)];
  if (!answer?.$ref) return answer;
  const name = answer.$ref.replace('#/components/responses/', '');
  return load().document.components.responses[name] as Operation['responses'][string];
}

/** Everything in the exchange that the document does not allow, each naming the route and the field. */
export function exchangeProblems(exchange: Exchange, { request = true } = {}): string[] {
  const route = exchange.routeKey;
  const operation = operationOf(route);
  if (!operation) return [`${route}: no such operation in the document`];
  const problems: string[] = [];
  const answer = answerOf(operation, exchange.status);
  if (!answer) {
    problems.push(`${route}: answered ${exchange.status}, a status the document does not list`);
  } else {
    const schema = answer.content?.['application/json']?.schema;
    if (schema) {
      const parsed = parseJson(exchange.body);
      if (parsed === undefined) problems.push(`${route} ${exchange.status}: the body is not JSON`);
      else problems.push(...problemsOf(schema, parsed.value, `${route} ${exchange.status} body`));
    } else if (exchange.body && exchange.status !== 204) {
      problems.push(`${route} ${exchange.status}: a body the document does not describe`);
    }
    for (const [name, header] of Object.entries(answer.headers ?? {})) {
      const value = exchange.headers?.[name];
      if (value === undefined) {
        if (header.required) problems.push(`${route} ${exchange.status}: no ${name} header`);
        continue;
      }
      problems.push(...problemsOf(header.schema, value, `${route} ${exchange.status} header ${name}`));
    }
  }
  // A request carried out must be one the document takes: it says what a client may send.
  if (request && exchange.status < 300) problems.push(...requestProblems(route, operation, exchange));
  return problems;
}

function requestProblems(route: string, operation: Operation, exchange: Exchange): string[] {
  const problems: string[] = [];
  const parameters = operation.parameters ?? [];
  const sources = {
    path: exchange.pathParameters ?? {},
    query: exchange.query ?? {},
    header: exchange.requestHeaders ?? {},
  };
  for (const parameter of parameters) {
    const value = sources[parameter.in as keyof typeof sources]?.[parameter.name];
    if (value === undefined) {
      if (parameter.required)
        problems.push(`${route}: accepted without the ${parameter.in} parameter ${parameter.name}`);
      continue;
    }
    problems.push(
      ...problemsOf(
        parameter.schema,
        asParameterValue(parameter.schema, value),
        `${route} ${parameter.in} ${parameter.name}`,
      ),
    );
  }
  const known = new Set(parameters.filter((p) => p.in === 'query').map((p) => p.name));
  for (const name of Object.keys(sources.query))
    if (!known.has(name))
      problems.push(`${route}: accepted the query parameter ${name}, which the document does not list`);
  const requestBody = operation.requestBody;
  if (requestBody && !exchange.requestBody) {
    if (requestBody.required) problems.push(`${route}: accepted a request without its body`);
  } else if (requestBody) {
    const { content } = requestBody;
    const type = (
      (exchange.requestHeaders?.['content-type'] ?? 'application/json').split(';')[0]?.trim() ?? ''
    ).toLowerCase();
    const json = /^application\/(.+\+)?json$/.test(type);
    const media =
      content[type] ??
      (json ? content['application/json'] : undefined) ??
      content[`${type.split('/')[0]}/*`] ??
      content['*/*'];
    if (!media) problems.push(`${route}: accepted a body of type ${type}, which the document does not list`);
    else if (!json)
      // A text body (XML, form fields) is described as the string it is.
      problems.push(...problemsOf(media.schema, exchange.requestBody, `${route} request body`));
    else {
      const parsed = parseJson(exchange.requestBody);
      if (parsed === undefined) problems.push(`${route}: accepted a body that is not JSON`);
      else problems.push(...problemsOf(media.schema, parsed.value, `${route} request body`));
    }
  } else if (exchange.requestBody) {
    problems.push(`${route}: accepted a body, which the document does not describe`);
  }
  return problems;
}

/** A query or path value as its schema reads it: a number where the schema wants one. */
function asParameterValue(schema: unknown, value: string): unknown {
  const type = (schema as { type?: unknown }).type;
  if ((type === 'number' || type === 'integer') && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function parseJson(text: string | undefined): { value: unknown } | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with `value` as the document's component schema `name` says (a webhook's body: `ProductOrderStateChangeEvent`),
 * one line per problem naming the field; none when it is valid.
 */
export function schemaProblems(name: string, value: unknown): string[] {
  if (!load().document.components.schemas[name]) return [`the document has no schema ${name}`];
  return problemsOf({ $ref: `#/components/schemas/${name}` }, value, name);
}

/**
 * What is wrong with a delivery to a listener as the document's webhook `name` describes it: its JSON
 * body and its headers (lower-case names), each problem named.
 */
export function webhookProblems(
  name: string,
  delivery: { headers: Record<string, string>; body: string },
): string[] {
  const hook = (load().document.webhooks as Record<string, { post: Operation }> | undefined)?.[name]?.post;
  if (!hook) return [`the document has no webhook ${name}`];
  const problems: string[] = [];
  for (const parameter of hook.parameters ?? []) {
    const value = delivery.headers[parameter.name];
    if (value === undefined) {
      if (parameter.required) problems.push(`webhook ${name}: no ${parameter.name} header`);
    } else problems.push(...problemsOf(parameter.schema, value, `webhook ${name} header ${parameter.name}`));
  }
  const parsed = parseJson(delivery.body);
  const schema = hook.requestBody?.content['application/json']?.schema;
  if (parsed === undefined) problems.push(`webhook ${name}: the body is not JSON`);
  else if (schema) problems.push(...problemsOf(schema, parsed.value, `webhook ${name} body`));
  return problems;
}

/** Problems of an answer alone (a unit test of a handler): its body and headers against the document. */
export function answerProblems(
  routeKey: string,
  answer: { statusCode?: number; body?: string; headers?: Record<string, unknown> },
): string[] {
  return exchangeProblems(
    {
      routeKey,
      status: answer.statusCode ?? 200,
      ...(answer.body !== undefined ? { body: answer.body } : {}),
      headers: Object.fromEntries(
        Object.entries(answer.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
      ),
    },
    { request: false },
  );
}

/**
 * The answer, once asserted to be one the document allows (each problem named): how a unit test wraps a
 * handler, so that every answer it sees, success or error, is checked against the contract.
 */
export function documented<
  T extends { statusCode?: number; body?: string; headers?: Record<string, unknown> },
>(routeKey: string, answer: T): T {
  const problems = answerProblems(routeKey, answer);
  assert.deepEqual(
    problems,
    [],
    `${routeKey} answered ${answer.statusCode ?? 200} against the document:\n${problems.join('\n')}`,
  );
  return answer;
}
