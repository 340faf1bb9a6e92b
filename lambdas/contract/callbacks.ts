import { z } from 'zod';
import { CORRELATION_ID, callbackBodySchema } from '../domain/callback';
import { PROOF } from '../domain/callback-keys';
import { type HeaderContract, named, type RouteContract, route } from './route';

/**
 * The callbacks of fulfilment systems: where a system sends the answers (interim and final) of an
 * asynchronous callout it accepted, on the URL it was given with the request.
 */

export const callbackTags = [
  {
    name: 'callbacks',
    description:
      'Fulfilment systems’ answers to asynchronous callouts, on the callback URL each request carried; authorized by the URL’s proof (and a signature where the interface asks for one), not by a token',
  },
];

const correlationId = z
  .string()
  .regex(CORRELATION_ID)
  .describe('`<orderId>.<item key>.<nonce>`: the request the callback answers, as its callback URL has it');

const callbackStatus = named(
  'CallbackStatus',
  callbackBodySchema,
  'Switchboard’s own callback shape: a JSON object with its `status`; its other fields are read by the interface’s asynchronous response mapping (the attributes a final answer writes)',
);

const callbackBody = named(
  'CallbackBody',
  z.union([callbackStatus, z.json()]),
  'A CallbackStatus — or, when the interface has a callback mapping, whatever JSON its system sends, which the mapping turns into an outcome (400 saying why when it cannot)',
);

const callbackText = named(
  'CallbackText',
  z.string(),
  'Under a callback mapping only: a body that is not JSON (XML, form fields, text), which the mapping reads as the text it is',
);

export const callbackReceipt = named(
  'CallbackReceipt',
  z
    .object({
      correlationId: z.string(),
      callbackId: z
        .string()
        .regex(/^[0-9a-f]{32}$/)
        .describe(
          'Identifies the callback across re-sends: from its webhook-id or Idempotency-Key, else from its body',
        ),
      status: z.literal('accepted'),
    })
    .strict(),
  'The callback is safely queued; it is applied to its item shortly. A re-sent callback gets the same receipt.',
);

const SIGNED =
  'Standard Webhooks; required, with the other two, when the interface asks for signed callbacks (`callbackAuth: standard-webhooks`), else not read but for telling a re-send';

const CALLBACK_HEADERS: Record<string, HeaderContract> = {
  'idempotency-key': {
    description:
      'Identifies the callback across re-sends when there is no webhook-id: the same key gets the same receipt',
    schema: z.string().min(1),
  },
  'webhook-id': {
    description: `The message’s id, the same on every re-send of it (${SIGNED})`,
    schema: z.string().min(1),
  },
  'webhook-timestamp': {
    description: `When this send was signed, in epoch seconds, within 5 minutes of Switchboard’s clock (${SIGNED})`,
    schema: z.string().min(1),
  },
  'webhook-signature': {
    description: `\`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">\` under the system’s secret, several separated by spaces while it moves to a new secret (${SIGNED})`,
    schema: z.string().min(1),
  },
};

export const callbackRoutes: RouteContract[] = [
  route({
    method: 'POST',
    path: '/callbacks/{correlationId}/{proof}',
    operationId: 'receiveCallback',
    tag: 'callbacks',
    summary: 'A system’s answer to an asynchronous callout',
    description: [
      'Taken at the door and answered at once; the item is changed when the callback is applied, shortly after.',
      '401 when the proof is not Switchboard’s, the signature (where the interface asks for one) does not hold, or the URL expired and the item no longer waits on it;',
      '404 when no callout waits on the correlation id; 400 for a body without its status (or one the interface’s callback mapping cannot read);',
      '409 for a new callback to an item that no longer waits for it. A callback sent again (the same webhook-id, Idempotency-Key or body) gets the receipt it got the first time.',
      'A callback mapping may read any header besides these.',
    ].join(' '),
    access: 'callback',
    params: z.object({
      correlationId,
      proof: z
        .string()
        .regex(PROOF)
        .describe('The URL’s HMAC proof of the correlation id and its expiry: `<key id>.<expiry>.<mac>`'),
    }),
    headers: CALLBACK_HEADERS,
    body: {
      schema: callbackBody,
      description:
        'JSON: a CallbackStatus, or under a callback mapping whatever the system sends; any other media type only under a callback mapping, read as text. At most 192 KiB.',
      contentTypes: ['application/json'],
      example: { status: 'completed', serviceId: 'SVC-20261207-0042' },
      otherContent: {
        '*/*': {
          schema: callbackText,
          example: '<activation><state>ACTIVATED</state><ref>SVC-20261207-0042</ref></activation>',
        },
      },
    },
    answers: {
      202: {
        description: 'Accepted: queued for its item',
        schema: callbackReceipt,
        example: {
          correlationId:
            '3f2a9c1e-7b4d-4e8a-9c6f-1d2e3f4a5b6c.dsl-broadband.activate-line.1.9f86d081884c7d65',
          callbackId: '5d41402abc4b2a76b9719d911017c592',
          status: 'accepted',
        },
      },
    },
    errors: [400, 401, 404, 409, 413],
  }),
  route({
    method: 'POST',
    path: '/callbacks/{correlationId}',
    operationId: 'receiveCallbackWithoutProof',
    tag: 'callbacks',
    summary: 'A callback URL that lost its proof: always refused',
    description:
      'The callback URL’s last segment is its proof; without it the callback is refused (401) before anything is read, saying so, so that a system that cut the URL learns why.',
    access: 'callback',
    params: z.object({ correlationId: z.string().describe('What the URL carried as its correlation id') }),
    answers: {},
    errors: [401],
  }),
];
