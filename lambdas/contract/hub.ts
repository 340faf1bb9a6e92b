import { z } from 'zod';
import { hubCreateSchema } from '../domain/listener';
import { TMF622_BASE_PATH } from '../domain/order-view';
import { schemaLocationOf } from '../domain/schema-location';
import { LOCATION_HEADER, named, pathIdParam, RESULT_COUNT_HEADER, type RouteContract, route } from './route';

/** TMF622's hub: register, list, read and remove the listeners that order events are delivered to. */

export const hubTags = [
  {
    name: 'hub',
    description:
      'TMF622 event listeners: where the events of the orders the registrant may read are delivered, signed (see webhooks)',
  },
];

const hubFields = {
  '@type': z.literal('Hub'),
  id: z.string(),
  href: z.string(),
  callback: z.string().describe('Where events are POSTed'),
  query: z.string().optional().describe('The TMF630 notification filter, as registered'),
};

export const hubView = named(
  'Hub',
  z.object(hubFields).strict(),
  'A TMF622 Hub: a listener, where the events it passes are delivered',
);

export const registeredHub = named(
  'RegisteredHub',
  z
    .object({
      ...hubFields,
      '@schemaLocation': z
        .literal(schemaLocationOf('RegisteredHub'))
        .describe('Where `secret`, an extension of TMF’s Hub, is defined: this schema (TMF630)'),
      secret: z
        .string()
        .regex(/^whsec_[A-Za-z0-9+/]{43}=$/)
        .describe(
          'Switchboard extension: the secret that signs every delivery (Standard Webhooks), `whsec_` and base64 of 32 bytes. Answered this once: keep it',
        ),
    })
    .strict(),
  'A Hub as its registration answers it: with the secret that signs its deliveries',
);

export const hubList = named('HubList', z.array(hubView));

const idParams = z.object({ id: pathIdParam('The listener’s id, as answered when it was registered') });

const EXAMPLE_HUB_FVO = {
  callback: 'https://crm.example.com/tmf-events',
  query: 'eventType=ProductOrderStateChangeEvent,ProductOrderMilestoneEvent',
};

const EXAMPLE_HUB = {
  '@type': 'Hub',
  id: '0f9c3b8e-2d6a-4c1f-8b7e-5a4d3c2b1a09',
  href: `${TMF622_BASE_PATH}/hub/0f9c3b8e-2d6a-4c1f-8b7e-5a4d3c2b1a09`,
  ...EXAMPLE_HUB_FVO,
};

export const hubRoutes: RouteContract[] = [
  route({
    method: 'POST',
    path: `${TMF622_BASE_PATH}/hub`,
    operationId: 'registerListener',
    tag: 'hub',
    summary: 'Register a listener',
    description:
      'The listener receives the events of the orders its registrant may read (a submitter’s own, a reader’s or an operator’s every order) that pass its filter, each signed with its secret, which this answer holds, once. One caller may have at most 20 listeners (409 past that).',
    access: { roles: ['submitter', 'reader', 'operator'] },
    body: {
      schema: named('Hub_FVO', hubCreateSchema, 'TMF622 Hub_FVO: the callback, and optionally a filter'),
      description: 'TMF622 Hub_FVO',
      example: EXAMPLE_HUB_FVO,
    },
    answers: {
      201: {
        description: 'The listener, with its secret (this once)',
        schema: registeredHub,
        headers: { location: LOCATION_HEADER },
        example: {
          ...EXAMPLE_HUB,
          '@schemaLocation': schemaLocationOf('RegisteredHub'),
          secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4H4uGF6/gWo=',
        },
      },
    },
    errors: [400, 403, 409, 413],
  }),
  route({
    method: 'GET',
    path: `${TMF622_BASE_PATH}/hub`,
    operationId: 'listListener',
    tag: 'hub',
    summary: 'List listeners: the caller’s own (an operator’s, every one)',
    access: { roles: ['submitter', 'reader', 'operator'] },
    answers: {
      200: {
        description: 'Every listener the caller may see, in one page, without their secrets',
        schema: hubList,
        headers: { 'x-result-count': RESULT_COUNT_HEADER },
        example: [EXAMPLE_HUB],
      },
    },
    errors: [403],
  }),
  route({
    method: 'GET',
    path: `${TMF622_BASE_PATH}/hub/{id}`,
    operationId: 'retrieveListener',
    tag: 'hub',
    summary: 'Read a listener',
    description:
      'Its registrant, or an operator; another’s is answered 404, as one that does not exist. The secret is not answered.',
    access: { roles: ['submitter', 'reader', 'operator'] },
    params: idParams,
    answers: { 200: { description: 'The listener', schema: hubView, example: EXAMPLE_HUB } },
    errors: [400, 403, 404],
  }),
  route({
    method: 'DELETE',
    path: `${TMF622_BASE_PATH}/hub/{id}`,
    operationId: 'unregisterListener',
    tag: 'hub',
    summary: 'Remove a listener',
    description:
      'Its registrant, or an operator; another’s is answered 404, as one that does not exist. Deliveries already queued for it are dropped.',
    access: { roles: ['submitter', 'reader', 'operator'] },
    params: idParams,
    answers: { 204: { description: 'Removed: no more events are delivered to it' } },
    errors: [400, 403, 404],
  }),
];
