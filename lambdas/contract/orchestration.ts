import { z } from 'zod';
import { itemTypes } from '../../statemachines/plan-definition';
import { ITEM_STATES, ORDER_STATES } from '../domain/orchestration';
import { STEP_TYPES } from '../domain/procedure';
import { ID_PATTERN } from '../shared/ids';
import { noteSchema, reasonSchema } from '../use-cases/operator-actions';
import { actorSchema as actor } from './common';
import { named, pathIdParam, type RouteContract, route } from './route';

/**
 * The orchestration view and the operators' actions on an item: an order's plan as a graph of its items,
 * each with everything it did (history, attempts, requests and answers, callbacks, a procedure's trace),
 * and complete, retry, skip, fail and abort.
 */

export const orchestrationTags = [
  {
    name: 'orchestration',
    description:
      'Operators: an order’s orchestration items and what each did, and the actions on an item (complete a manual task; retry, skip, fail an item in fallout; abort a running one)',
  },
];

/**
 * The body of `POST /orchestration/items/{itemId}/complete`: what the manual task found out, written
 * to the order context for the items after it, as attribute name → any JSON value. The body may be left
 * out (no attributes); a problem is named `attributes.<name>`.
 */
export const manualTaskAttributes = named(
  'ManualTaskAttributes',
  z
    .record(z.string().min(1).max(100), z.json())
    .refine((a) => Object.keys(a).length <= 50, 'at most 50 attributes'),
  'What an operator completing a manual task writes to the order context, by attribute name: at most 50, each name 1 to 100 characters',
);

const historyEntry = named(
  'ItemHistoryEntry',
  z
    .object({
      at: z.string(),
      state: z.enum(ITEM_STATES).describe('The state the item was in after it'),
      reason: z.string(),
      by: actor.optional().describe('The operator who caused it, when one did'),
    })
    .strict(),
  'One transition of an item (or an interim update its system sent while it ran)',
);

const payload = (what: string) =>
  z
    .unknown()
    .describe(
      `${what}: whole up to 12 KiB, else cut: {"truncated": true, "size", "sha256", "excerpt"} (a CutPayload)`,
    );

const cutPayload = named(
  'CutPayload',
  z
    .object({
      truncated: z.literal(true),
      size: z.number().int().describe('Its size in bytes, as JSON (or as the text it was)'),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      excerpt: z.string().describe('Its first 2,000 characters'),
    })
    .strict(),
  'A payload too large to keep whole (over 12 KiB), as an item’s log keeps it',
);

const calloutRequest = named(
  'CalloutRequest',
  z
    .object({
      method: z.string(),
      url: z.string(),
      headers: z
        .record(z.string(), z.string())
        .describe('As sent, but never with credentials (they are added at send time only)'),
      body: payload('The request mapping’s result').optional(),
      encodedBody: z
        .union([z.string(), cutPayload])
        .optional()
        .describe('The body as a custom adapter put it on the wire (XML, a form), when it is not JSON'),
      sentAt: z.string(),
    })
    .strict(),
  'A request an item sent to its system',
);

const calloutResponse = named(
  'CalloutResponse',
  z
    .object({
      status: z.number().int(),
      body: payload('The answer’s body').optional(),
      receivedAt: z.string(),
      durationMs: z.number(),
    })
    .strict(),
  'The answer an item’s system gave',
);

const attemptDecision = named(
  'AttemptDecision',
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('completed') }).strict(),
    z
      .object({
        kind: z.literal('accepted'),
        until: z.string().describe('Its callback is waited for until then'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('retry'),
        at: z.string().describe('When the next attempt is due'),
        ruleId: z.string().describe('The retry rule that decided'),
        retry: z.number().int(),
      })
      .strict(),
    z.object({ kind: z.literal('fallout'), reason: z.string(), ruleId: z.string().optional() }).strict(),
    z.object({ kind: z.literal('hold'), reason: z.string() }).strict(),
  ]),
  'What was decided after an attempt: completed, accepted (an asynchronous callout waits for its callback), retried later, fallout, or held',
);

const attempt = named(
  'CalloutAttempt',
  z
    .object({
      number: z.number().int().min(1),
      at: z.string(),
      request: calloutRequest.optional(),
      status: z.number().int().optional().describe('The answer’s HTTP status, if one came'),
      error: z.string().optional(),
      durationMs: z.number().optional(),
      decision: attemptDecision,
    })
    .strict(),
  'One attempt of a callout, or of a procedure’s HTTP step',
);

const stepTrace = named(
  'ProcedureStepTrace',
  z
    .object({
      step: z.string().describe('The step’s id'),
      type: z.enum(STEP_TYPES),
      skipped: z.literal(true).optional().describe('Its condition did not hold'),
      input: payload('What the step sent (an HTTP step’s request) or evaluated over').optional(),
      output: payload('What it gave').optional(),
      startedAt: z.string(),
      ms: z.number(),
    })
    .strict(),
  'One step an integration procedure ran, or skipped',
);

export const itemView = named(
  'OrchestrationItem',
  z
    .object({
      id: z.string().describe('`<orderId>.<key>`: what /orchestration/items/{itemId} takes'),
      key: z
        .string()
        .describe('`<planId>.<planItemId>[.<line>]`: unique in the order; what dependencies name'),
      orderId: z.string(),
      planId: z.string(),
      planItemId: z.string(),
      lineId: z.string().optional().describe('The order line a line-scoped item fulfils'),
      type: z.enum(itemTypes),
      interfaceId: z.string().optional(),
      dependsOn: z.array(z.string()).describe('Keys of the items it waits for'),
      compensates: z.string().optional().describe('A compensation: the key of the completed item it undoes'),
      supersedes: z
        .string()
        .optional()
        .describe('An amendment’s run again: the key of the item it runs again with the amended order'),
      revision: z.number().int().optional().describe('The order revision that made it (absent: 1)'),
      watched: z
        .literal(true)
        .optional()
        .describe('Its order has a due date: its changes are watched for jeopardy'),
      priority: z
        .number()
        .int()
        .min(0)
        .max(3)
        .optional()
        .describe('Its order’s TMF622 priority, 0 (highest) to 3; absent for 4 or none'),
      state: z.enum(ITEM_STATES),
      callbackNonce: z
        .string()
        .optional()
        .describe('The nonce of the callback URL its latest attempt sent (the correlation id’s last part)'),
      requestGeneration: z
        .number()
        .int()
        .optional()
        .describe('How many times its request was made new (a new Idempotency-Key and callback URL)'),
      keptAnswer: z
        .object({ nonce: z.string(), callbackId: z.string(), receivedAt: z.string() })
        .strict()
        .optional()
        .describe('A final answer that came while no attempt waited, kept for its next attempt'),
      leaseUntil: z.string().optional().describe('While a worker runs it: until when its hold lasts'),
      retries: z.number().int().optional(),
      nextAttemptAt: z.string().optional().describe('While Failed: when its next attempt is due'),
      hold: z
        .object({
          systemId: z.string(),
          interfaceId: z.string().optional(),
          since: z.string(),
          reason: z.string(),
        })
        .strict()
        .optional()
        .describe('Why and since when it waits On Hold (kept after release, as its last hold)'),
      completedBy: actor.optional().describe('The operator who completed a manual task'),
      frozenUntil: z
        .string()
        .optional()
        .describe('While Frozen: until when its system’s late answer is waited for'),
      lateAnswer: z.enum(['acted', 'notActed']).optional(),
      amendFreeze: z
        .object({ revision: z.number().int(), until: z.string() })
        .strict()
        .optional()
        .describe('While an amendment of its order is assessed, it does not start'),
      awaiting: z
        .object({
          since: z.string(),
          deadline: z.string(),
          poll: z.object({ path: z.string() }).strict().optional(),
          step: z.string().optional(),
        })
        .strict()
        .optional()
        .describe(
          'An asynchronous callout its system accepted: since when it waits, until when, the status path it polls, the procedure step that waits',
        ),
      interimAttributes: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('What interim updates of its current request said so far'),
      error: z.string().optional(),
      createdAt: z.string(),
      startedAt: z.string().optional(),
      completedAt: z.string().optional(),
      updatedAt: z.string(),
      history: z.array(historyEntry).describe('Every transition, oldest first, interim updates among them'),
      attempts: z.array(attempt).optional(),
      request: calloutRequest.optional().describe('The latest request sent'),
      response: calloutResponse.optional().describe('The latest answer received'),
      asyncResponse: z
        .object({ body: payload('The body'), receivedAt: z.string() })
        .strict()
        .optional()
        .describe('The final answer that came on the callback'),
      procedure: z
        .object({
          next: z.number().int().describe('The index of the step it runs next'),
          steps: z.record(z.string(), z.unknown()).describe('What each step gave, by step id'),
          vars: z.record(z.string(), z.unknown()).describe('The variables set so far'),
          trace: z.array(stepTrace),
        })
        .strict()
        .optional()
        .describe('An auto task’s integration procedure: where it is, and every step it ran'),
      attributes: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('The attributes it wrote to the order context'),
    })
    .strict(),
  'An orchestration item as operators see it: its state and everything it did (never its task tokens or the bookkeeping of its deliveries)',
);

const revision = named(
  'OrderRevision',
  z
    .object({
      revision: z.number().int().min(2),
      at: z.string(),
      by: actor,
      changes: z.array(
        z.discriminatedUnion('change', [
          z
            .object({ lineId: z.string(), change: z.literal('changed'), fields: z.array(z.string()) })
            .strict(),
          z.object({ lineId: z.string(), change: z.literal('removed') }).strict(),
          z.object({ lineId: z.string(), change: z.literal('added') }).strict(),
        ]),
      ),
      redone: z.array(z.string()).describe('Items compensated and run again (`<key>` → `<key>.r<revision>`)'),
      discarded: z.array(z.string()).describe('Items of removed lines not started'),
      compensated: z.array(z.string()).describe('Items of removed lines undone'),
    })
    .strict(),
  'One amendment of an order: who, when, what changed line by line, and what it redid',
);

export const itemGraph = named(
  'OrchestrationGraph',
  z
    .object({
      orderId: z.string(),
      state: z.enum(ORDER_STATES),
      submittedBy: actor.optional(),
      revision: z.number().int().min(1).describe('1 as submitted, one more with each amendment'),
      revisions: z.array(revision).optional(),
      cancellation: z
        .object({
          id: z.string().describe('The CancelProductOrder’s id'),
          previousState: z.enum(ORDER_STATES).describe('Where the order goes back to if it is refused'),
          compensations: z.array(z.string()).optional().describe('The compensation items it runs'),
        })
        .strict()
        .optional()
        .describe('The cancellation under way, or the one that cancelled the order'),
      items: z.array(itemView).describe('Sorted by key'),
      dependencies: z
        .array(z.object({ from: z.string(), to: z.string() }).strict())
        .describe('`to` waits for `from` (item keys)'),
    })
    .strict(),
  'An order’s plan as a graph: its items as nodes, their dependencies as edges',
);

/** An item's id: an order id, a dot, and the item's key (`pathId`, then `parseItemId`). */
const itemIdParams = z.object({
  itemId: z
    .string()
    .max(200)
    .regex(ID_PATTERN)
    .regex(/^[^.]+\..+$/)
    .describe('`<orderId>.<item key>`, as the item’s `id` in the orchestration view'),
});

const ORDER = '3f2a9c1e-7b4d-4e8a-9c6f-1d2e3f4a5b6c';
const RESERVE = 'dsl-broadband.reserve-port.1';

const EXAMPLE_FALLOUT_ITEM = {
  id: `${ORDER}.${RESERVE}`,
  key: RESERVE,
  orderId: ORDER,
  planId: 'dsl-broadband',
  planItemId: 'reserve-port',
  lineId: '1',
  type: 'callout',
  interfaceId: 'reserve-port',
  dependsOn: [],
  state: 'FatallyFailed',
  retries: 0,
  error: 'HTTP 400 from inventory: bandwidth 100 is not offered at this address',
  createdAt: '2026-12-07T09:30:00.000Z',
  startedAt: '2026-12-07T09:30:01.000Z',
  updatedAt: '2026-12-07T09:30:01.420Z',
  history: [
    { at: '2026-12-07T09:30:01.000Z', state: 'Running', reason: 'prerequisites done' },
    {
      at: '2026-12-07T09:30:01.420Z',
      state: 'FatallyFailed',
      reason: 'HTTP 400 from inventory: bandwidth 100 is not offered at this address',
    },
  ],
  attempts: [
    {
      number: 1,
      at: '2026-12-07T09:30:01.000Z',
      request: {
        method: 'POST',
        url: 'https://inventory.example.net/ports/reservations',
        headers: { 'content-type': 'application/json', 'idempotency-key': `${ORDER}.${RESERVE}` },
        body: { address: '1 Main Street, Springfield', bandwidth: 100 },
        sentAt: '2026-12-07T09:30:01.000Z',
      },
      status: 400,
      error: 'HTTP 400 from inventory: bandwidth 100 is not offered at this address',
      durationMs: 412,
      decision: {
        kind: 'fallout',
        reason: 'retry rule "default" does not retry HTTP 400',
        ruleId: 'default',
      },
    },
  ],
  request: {
    method: 'POST',
    url: 'https://inventory.example.net/ports/reservations',
    headers: { 'content-type': 'application/json', 'idempotency-key': `${ORDER}.${RESERVE}` },
    body: { address: '1 Main Street, Springfield', bandwidth: 100 },
    sentAt: '2026-12-07T09:30:01.000Z',
  },
  response: {
    status: 400,
    body: { error: 'bandwidth 100 is not offered at this address' },
    receivedAt: '2026-12-07T09:30:01.412Z',
    durationMs: 412,
  },
};

const EXAMPLE_RETRIED_ITEM = {
  ...EXAMPLE_FALLOUT_ITEM,
  state: 'Pending',
  updatedAt: '2026-12-07T10:02:00.000Z',
  history: [
    ...EXAMPLE_FALLOUT_ITEM.history,
    {
      at: '2026-12-07T10:02:00.000Z',
      state: 'Pending',
      reason: 'retry asked by olga: inventory added 100 Mbit/s at the exchange (INC-4711)',
      by: { id: 'u-7d1f', name: 'olga' },
    },
  ],
};

const EXAMPLE_GRAPH = {
  orderId: ORDER,
  state: 'held',
  submittedBy: { id: 'c-crm', name: 'order-capture' },
  revision: 1,
  items: [
    {
      id: `${ORDER}.dsl-broadband.activate-line.1`,
      key: 'dsl-broadband.activate-line.1',
      orderId: ORDER,
      planId: 'dsl-broadband',
      planItemId: 'activate-line',
      lineId: '1',
      type: 'callout',
      interfaceId: 'activate-line',
      dependsOn: [RESERVE],
      state: 'Pending',
      createdAt: '2026-12-07T09:30:00.000Z',
      updatedAt: '2026-12-07T09:30:00.000Z',
      history: [],
    },
    EXAMPLE_FALLOUT_ITEM,
  ],
  dependencies: [{ from: RESERVE, to: 'dsl-broadband.activate-line.1' }],
};

/** The four actions on an item in fallout (or waiting, or running), each a route of its own. */
const ACTIONS = [
  {
    action: 'retry',
    summary: 'Retry an item in fallout, or waiting for its retry, now',
    description:
      'A fresh attempt now, its retry count reset: the item is Pending again, no longer holds its order, and goes to the worker (On Hold first if its system is away). 409 when the item is in no state to retry.',
    body: reasonSchema,
    bodyName: 'OperatorReason',
  },
  {
    action: 'skip',
    summary: 'Skip an item in fallout, waiting for a retry, or On Hold',
    description:
      'The item counts as done, with the note; the worker then finishes it (its plan task answered, its dependents started). 409 for an item past its point of no return (one that is itself a point of no return, or comes after one that completed), or in no state to skip.',
    body: noteSchema,
    bodyName: 'OperatorNote',
  },
  {
    action: 'fail',
    summary: 'Fail the order of an item in fallout, or waiting for a retry',
    description:
      'The order is failed, the item leaves the fallout list with who and why, and the plan’s wait for it fails, which ends the plan’s execution (and a cancellation under way ends terminatedWithError). 409 when the item is in no state for it.',
    body: reasonSchema,
    bodyName: 'OperatorReason',
  },
  {
    action: 'abort',
    summary: 'Abort a Running item: its system will not answer, or its worker hangs',
    description:
      'The attempt ends as one that got no answer, and its system’s retry rules decide, as for any failed callout: Failed until its next attempt, or fallout. 409 when the item is not Running.',
    body: reasonSchema,
    bodyName: 'OperatorReason',
  },
] as const;

export const orchestrationRoutes: RouteContract[] = [
  route({
    method: 'GET',
    path: '/orchestration/orders/{orderId}/items',
    operationId: 'getOrchestrationGraph',
    tag: 'orchestration',
    summary: 'An order’s orchestration items, as a graph, with everything each did',
    access: { roles: ['operator'] },
    params: z.object({ orderId: pathIdParam('The order’s id') }),
    answers: {
      200: {
        description: 'The order’s items and their dependencies',
        schema: itemGraph,
        example: EXAMPLE_GRAPH,
      },
    },
    errors: [400, 403, 404],
  }),
  route({
    method: 'POST',
    path: '/orchestration/items/{itemId}/complete',
    operationId: 'completeManualTask',
    tag: 'orchestration',
    summary: 'Complete a manual task waiting for an operator',
    description:
      'Only a manual task that waits (Running) can complete (409 otherwise, and when two operators complete it at once, for the second). The attributes go to the order context for the items after it; the worker then finishes the item.',
    access: { roles: ['operator'] },
    params: itemIdParams,
    body: {
      schema: manualTaskAttributes,
      required: false,
      description: 'The attributes the task found out, if any',
      example: { technicianVisitDate: '2026-12-10', cpeSerial: 'ZX-8800-4411' },
    },
    answers: { 200: { description: 'The item, completed', schema: itemView } },
    errors: [400, 403, 404, 409, 413],
  }),
  ...ACTIONS.map(({ action, summary, description, body, bodyName }) =>
    route({
      method: 'POST',
      path: `/orchestration/items/{itemId}/${action}`,
      operationId: `${action}OrchestrationItem`,
      tag: 'orchestration',
      summary,
      description: `${description} Recorded in the item’s history with who and why.`,
      access: { roles: ['operator'] },
      params: itemIdParams,
      body: {
        schema: named(
          bodyName,
          body,
          bodyName === 'OperatorNote'
            ? 'Why the operator skips it (1 to 1,000 characters)'
            : 'Why the operator acts (1 to 1,000 characters)',
        ),
        ...(action === 'retry'
          ? { example: { reason: 'inventory added 100 Mbit/s at the exchange (INC-4711)' } }
          : {}),
      },
      answers: {
        200: {
          description: 'The item, as it is after the action',
          schema: itemView,
          ...(action === 'retry' ? { example: EXAMPLE_RETRIED_ITEM } : {}),
        },
      },
      errors: [400, 403, 404, 409, 413],
    }),
  ),
];
