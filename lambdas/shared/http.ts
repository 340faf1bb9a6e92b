import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { z } from 'zod';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  PreconditionRequiredError,
  type Problem,
  UnauthorizedError,
  ValidationError,
} from '../domain/errors';
import { MAX_JSON_DEPTH, tooDeep } from '../domain/json-depth';
import { schemaLocationOf } from '../domain/schema-location';
import { describeError, logger } from './logger';

/** The most a request body may hold. */
export const MAX_BODY_BYTES = 256 * 1024;

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * A JSON answer whose body the compiler holds to its schema in the API's contract (lambdas/contract):
 * the schema the document describes the answer with is the type the handler answers with.
 */
export function answer<S extends z.ZodType>(
  _schema: S,
  status: number,
  body: z.output<S>,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return json(status, body, headers);
}

/** A TMF630-style error body: `code`, `reason`, `message`, `status`, plus every problem by field. */
function errorBody(status: number, reason: string, message: string, problems?: Problem[]) {
  return {
    '@type': 'Error',
    code: String(status),
    reason,
    message,
    status: String(status),
    // `problems` extends TMF630's Error: the answer names the schema that defines it.
    ...(problems ? { problems, '@schemaLocation': schemaLocationOf('Error') } : {}),
  };
}

/** The one place domain errors become HTTP answers. Unknown errors are logged and answered without detail. */
export function errorResponse(error: unknown): APIGatewayProxyStructuredResultV2 {
  if (error instanceof ValidationError) {
    return json(400, errorBody(400, 'Bad Request', error.message, error.problems));
  }
  if (error instanceof UnauthorizedError) return json(401, errorBody(401, 'Unauthorized', error.message));
  if (error instanceof ForbiddenError) return json(403, errorBody(403, 'Forbidden', error.message));
  if (error instanceof NotFoundError) return json(404, errorBody(404, 'Not Found', error.message));
  if (error instanceof ConflictError) return json(409, errorBody(409, 'Conflict', error.message));
  // Both name the header, as a validation error names its field.
  if (error instanceof PreconditionFailedError)
    return json(
      412,
      errorBody(412, 'Precondition Failed', error.message, [{ field: 'If-Match', message: error.message }]),
    );
  if (error instanceof PreconditionRequiredError)
    return json(
      428,
      errorBody(428, 'Precondition Required', error.message, [{ field: 'If-Match', message: error.message }]),
    );
  if (error instanceof PayloadTooLargeError)
    return json(413, errorBody(413, 'Payload Too Large', error.message));
  logger.error('unhandled error', describeError(error));
  return json(
    500,
    errorBody(500, 'Internal Server Error', 'The request could not be completed; it was logged.'),
  );
}

/** The request body as JSON, refusing what is too big or not JSON before anything else looks at it. */
export function parseJsonBody(event: APIGatewayProxyEventV2, maxBytes = MAX_BODY_BYTES): unknown {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > maxBytes) {
    throw new PayloadTooLargeError(
      `the body has ${bytes.byteLength} bytes; at most ${maxBytes} are accepted`,
    );
  }
  const contentType = event.headers?.['content-type'] ?? event.headers?.['Content-Type'];
  if (contentType && !/^application\/(.+\+)?json\b/i.test(contentType)) {
    throw new ValidationError([
      { field: 'content-type', message: `must be application/json, not ${contentType}` },
    ]);
  }
  if (bytes.byteLength === 0)
    throw new ValidationError([{ field: '', message: 'the body is empty; a JSON object is expected' }]);
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ValidationError([
      { field: '', message: `the body is not valid JSON: ${(error as Error).message}` },
    ]);
  }
  const deep = tooDeep(body);
  if (deep) {
    throw new ValidationError([
      { field: deep.join('.'), message: `nests deeper than ${MAX_JSON_DEPTH} levels, the most accepted` },
    ]);
  }
  return body;
}

/** The value as the schema reads it, or a ValidationError naming every field that is wrong. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(problemsFrom(parsed.error.issues));
  return parsed.data;
}

/** Turns zod issues into problems named by their field path. */
export function problemsFrom(
  issues: readonly {
    path: readonly PropertyKey[];
    message: string;
    code?: string;
    keys?: readonly string[];
  }[],
): Problem[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // An unknown field is named itself, not its parent.
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: 'is not a known field' }));
    }
    return [{ field: path.join('.'), message: issue.message }];
  });
}
