import { z } from 'zod';
import { schemaLocationOf } from '../domain/schema-location';
import { named } from './route';

/**
 * The error bodies of the API. Switchboard's own are TMF630's `Error` (shared/http.ts: errorResponse),
 * with `problems`, an extension that names each field that is wrong; API Gateway answers the requests
 * it refuses itself (no token, throttled, unreadable path, too large to pass on) with a bare `message`.
 */

export const problemSchema = named(
  'Problem',
  z
    .object({
      field: z
        .string()
        .describe(
          'The field, as a dotted path into the body (productOrderItem.0.action), or a header or query parameter; empty for the body as a whole',
        ),
      message: z.string(),
    })
    .strict(),
  'One thing wrong with a request, named by the field it concerns',
);

export const errorSchema = named(
  'Error',
  z
    .object({
      '@type': z.literal('Error'),
      code: z.string().describe('The HTTP status, as TMF630 asks for an application code'),
      reason: z.string().describe("The status's reason phrase"),
      message: z.string().describe('What went wrong, every problem included'),
      status: z.string().describe('The HTTP status'),
      problems: z
        .array(problemSchema)
        .optional()
        .describe('Switchboard extension: every problem of the request by field (400, 412, 428)'),
      '@schemaLocation': z
        .literal(schemaLocationOf('Error'))
        .optional()
        .describe('Where `problems` is defined (this schema), answered with it'),
    })
    .strict(),
  'TMF630 error, with Switchboard’s `problems` extension',
);

export const gatewayErrorSchema = named(
  'GatewayError',
  z.object({ message: z.string() }).strict(),
  'API Gateway’s own refusal, before any Switchboard function runs',
);

/** An error API Gateway may answer itself on that status, as well as Switchboard's functions. */
const eitherError = named(
  'ErrorOrGatewayError',
  z.union([errorSchema, gatewayErrorSchema]),
  'A TMF630 error from Switchboard, or API Gateway’s own refusal',
);

/** What each error status means on every route, and the body it carries. */
export const ERROR_ANSWERS = {
  400: {
    name: 'BadRequest',
    description:
      'The request is malformed or breaks a rule; `problems` names each field. Nothing was written.',
    schema: eitherError,
  },
  401: {
    name: 'Unauthorized',
    description: 'No valid token (API Gateway), or a callback URL whose proof does not hold',
    schema: eitherError,
  },
  403: { name: 'Forbidden', description: "The caller's roles do not allow this", schema: errorSchema },
  404: {
    name: 'NotFound',
    description: 'No such resource (or one the caller may not see)',
    schema: errorSchema,
  },
  409: {
    name: 'Conflict',
    description: 'The resource is not in a state that allows this; nothing was written',
    schema: errorSchema,
  },
  412: {
    name: 'PreconditionFailed',
    description: 'If-Match names a revision that is no longer the current one; nothing was written',
    schema: errorSchema,
  },
  413: {
    name: 'PayloadTooLarge',
    description: 'The body is larger than the route accepts',
    schema: eitherError,
  },
  428: {
    name: 'PreconditionRequired',
    description: 'The change must be conditional: send If-Match with the ETag you read',
    schema: errorSchema,
  },
  429: {
    name: 'TooManyRequests',
    description: "API Gateway's throttling: more requests a second than the route takes; send again later",
    schema: gatewayErrorSchema,
  },
  500: {
    name: 'InternalServerError',
    description:
      'The request could not be completed; it was logged (a TMF630 error from the function, or API Gateway’s own when the function itself failed)',
    schema: eitherError,
  },
  503: {
    name: 'ServiceUnavailable',
    description:
      'API Gateway’s: the function did not answer within the integration’s 30 seconds; send again later',
    schema: gatewayErrorSchema,
  },
} as const;
