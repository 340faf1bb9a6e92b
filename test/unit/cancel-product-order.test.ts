import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CancellationRecord,
  cancelledOrderIdOf,
  cancelProductOrderCreateSchema,
  toCancelProductOrderView,
} from '../../lambdas/domain/cancel-product-order';
import { tmf622Problems } from '../support/tmf622';

const API = 'https://api.example/tmf-api/productOrderingManagement/v5';

/** The zod problems of a body, as `field: message`. */
const problemsOf = (body: unknown) => {
  const parsed = cancelProductOrderCreateSchema.safeParse(body);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('a CancelProductOrder request', () => {
  it('names its order by id or by entityId, as the spec’s examples and its schema do', () => {
    for (const productOrder of [{ id: 'o-1' }, { entityId: 'o-1', '@type': 'ProductOrderRef' }]) {
      const body = cancelProductOrderCreateSchema.parse({
        '@type': 'CancelProductOrder',
        productOrder,
        cancellationReason: 'the customer moved',
        requestedCancellationDate: '2026-12-06T10:00:00Z',
      });
      assert.equal(cancelledOrderIdOf(body), 'o-1');
    }
  });

  it('is refused naming the field: no order, two names that differ, a date that is no date, server fields', () => {
    assert.deepEqual(problemsOf({}), ['productOrder: Invalid input: expected object, received undefined']);
    assert.deepEqual(problemsOf({ productOrder: {} }), [
      'productOrder.id: the order to cancel is named by id (or entityId)',
    ]);
    assert.deepEqual(problemsOf({ productOrder: { id: 'a', entityId: 'b' } }), [
      'productOrder.entityId: differs from id',
    ]);
    assert.match(
      problemsOf({ productOrder: { id: 'a' }, requestedCancellationDate: 'tomorrow' }).join(),
      /^requestedCancellationDate: /,
    );
    assert.deepEqual(problemsOf({ productOrder: { id: 'a' }, state: 'done', id: 'mine' }), [
      'id: is set by the server; leave it out',
      'state: is set by the server; leave it out',
    ]);
    assert.match(problemsOf({ productOrder: { id: 'a' }, '@type': 'ProductOrder' }).join(), /^@type: /);
  });

  it('keeps a field TMF lets a client extend with, as sent', () => {
    const body = cancelProductOrderCreateSchema.parse({ productOrder: { id: 'o-1' }, channel: 'web' });
    assert.equal((body as Record<string, unknown>).channel, 'web');
  });
});

describe('a CancelProductOrder answer', () => {
  const record: CancellationRecord = {
    id: 'c-1',
    orderId: 'o-1',
    state: 'acknowledged',
    creationDate: '2026-12-06T10:00:00.000Z',
    cancellationReason: 'the customer moved',
  };

  it('is valid by the TMF622 v5 schema in every state it moves through', () => {
    const states: CancellationRecord[] = [
      record,
      { ...record, state: 'inProgress' },
      {
        ...record,
        state: 'done',
        effectiveCancellationDate: '2026-12-06T10:01:00.000Z',
        endedAt: '2026-12-06T10:01:00.000Z',
      },
      {
        ...record,
        state: 'terminatedWithError',
        errorMessage: 'item dsl-broadband.start-billing.1 has completed, and it is a point of no return',
        endedAt: '2026-12-06T10:00:01.000Z',
      },
    ];
    for (const state of states) {
      const view = toCancelProductOrderView(state, API);
      assert.deepEqual(
        tmf622Problems('CancelProductOrder', view),
        [],
        `${state.state}: ${JSON.stringify(view)}`,
      );
    }
  });

  it('points to itself and to its order, and says why it ended in error as an extension of the type', () => {
    const view = toCancelProductOrderView(
      {
        ...record,
        state: 'terminatedWithError',
        errorMessage: 'past billing',
        endedAt: '2026-12-06T10:00:01.000Z',
      },
      API,
    );

    assert.equal(view.href, `${API}/cancelProductOrder/c-1`);
    assert.deepEqual(view.productOrder, {
      '@type': 'ProductOrderRef',
      id: 'o-1',
      href: `${API}/productOrder/o-1`,
    });
    assert.equal(view['@type'], 'SwitchboardCancelProductOrder');
    assert.equal(view['@baseType'], 'CancelProductOrder');
    assert.deepEqual(view.errorMessage, {
      '@type': 'ProductOrderErrorMessage',
      code: 'cancellationRefused',
      reason: 'The order cannot be cancelled',
      message: 'past billing',
      status: 'terminatedWithError',
      timestamp: '2026-12-06T10:00:01.000Z',
    });
    assert.deepEqual(tmf622Problems('ProductOrderErrorMessage', view.errorMessage), []);
  });
});
