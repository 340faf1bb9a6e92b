import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costPerMillionOrders, type OrderUsage } from '../../bench/cost';
import { PRICES } from '../../bench/prices';

/** An order that asked nothing of AWS; tests set what they price. */
function usage(overrides: Partial<OrderUsage> = {}): OrderUsage {
  return {
    orders: 10,
    stateTransitions: 0,
    lambdaInvocations: 0,
    lambdaGbSeconds: 0,
    sqsRequests: 0,
    dynamoDbRequests: 0,
    dynamoDbRequestsByOperation: {},
    dynamoDbReadUnits: 0,
    dynamoDbWriteUnits: 0,
    eventBridgeEvents: 0,
    schedulerRequests: 0,
    apiRequests: 0,
    secretsManagerCalls: 0,
    msPerOrder: 0,
    serviceMsPerOrder: {},
    ...overrides,
  };
}

describe('costPerMillionOrders', () => {
  it('prices every service line and the total of a typical order, in dollars per million orders', () => {
    // Prepare
    const order = usage({
      stateTransitions: 5,
      lambdaInvocations: 4,
      lambdaGbSeconds: 0.5,
      sqsRequests: 10,
      dynamoDbRequests: 9,
      dynamoDbReadUnits: 6,
      dynamoDbWriteUnits: 12,
      eventBridgeEvents: 2,
      schedulerRequests: 1,
      apiRequests: 3,
      secretsManagerCalls: 1,
    });

    // Act
    const cost = costPerMillionOrders(order);

    // Assess: each line worked out by hand from the list prices in bench/prices.ts.
    assert.deepEqual(cost, {
      // 5 × $0.025 per 1,000
      'Step Functions': 125,
      // 4 × $0.20 per million + 0.5 GB-s × $0.0000133334 = 0.80 + 6.6667
      Lambda: 7.47,
      // 10 × $0.40 per million
      SQS: 4,
      // 6 × $0.125 + 12 × $0.625 per million; the request count itself is not billed
      DynamoDB: 8.25,
      // 2 events + 1 scheduler invocation at $1 per million
      EventBridge: 3,
      // 3 × $1 per million
      'API Gateway': 3,
      // 1 × $0.05 per 10,000
      'Secrets Manager': 5,
      // 125 + 7.4667 + 4 + 8.25 + 3 + 3 + 5
      total: 155.72,
    });
  });

  it('charges $125 per million orders for five state transitions, as the price per transition says', () => {
    // Act
    const cost = costPerMillionOrders(usage({ stateTransitions: 5 }));

    // Assess
    assert.equal(PRICES.stateTransition, 0.000025, 'the price this test was worked out at');
    assert.equal(cost['Step Functions'], 125);
    assert.equal(cost.total, 125);
  });

  it('gives every line, at zero, for an order that asked nothing', () => {
    // Act
    const cost = costPerMillionOrders(usage());

    // Assess
    assert.deepEqual(cost, {
      'Step Functions': 0,
      Lambda: 0,
      SQS: 0,
      DynamoDB: 0,
      EventBridge: 0,
      'API Gateway': 0,
      'Secrets Manager': 0,
      total: 0,
    });
  });

  it('rounds each line to cents, and the total from the unrounded lines', () => {
    // Prepare: two lines of $0.004 each, which round to nothing on their own.
    const order = usage({
      lambdaGbSeconds: 0.0003, // 0.0003 × 13.3334 = $0.0040
      dynamoDbReadUnits: 0.032, // 0.032 × 0.125 = $0.0040
    });

    // Act
    const cost = costPerMillionOrders(order);

    // Assess
    assert.equal(cost.Lambda, 0);
    assert.equal(cost.DynamoDB, 0);
    assert.equal(cost.total, 0.01);
  });

  it('leaves no floating-point residue in a line', () => {
    // Act: 3 × $0.40 per million is 1.2000000000000002 before rounding.
    const cost = costPerMillionOrders(usage({ sqsRequests: 3, lambdaGbSeconds: 1 }));

    // Assess
    assert.equal(cost.SQS, 1.2);
    assert.equal(cost.Lambda, 13.33);
    assert.equal(cost.total, 14.53);
  });

  it('prices orders the same whatever the number of orders they were averaged over', () => {
    // Act
    const few = costPerMillionOrders(usage({ orders: 1, stateTransitions: 7, apiRequests: 2 }));
    const many = costPerMillionOrders(usage({ orders: 500, stateTransitions: 7, apiRequests: 2 }));

    // Assess
    assert.deepEqual(few, many);
    assert.equal(few.total, 177);
  });
});
