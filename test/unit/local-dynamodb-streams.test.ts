import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { changeOf } from '../../lambdas/order-events/handler';
import { passesFilters, repaired } from '../../local/dynamodb-streams';

const record = (sk: string) => ({ dynamodb: { Keys: { pk: { S: 'ORDER#o-1' }, sk: { S: sk } } } });
// The pattern the stack's OrderEvents mapping has (lib/stateless-stack.ts), as CloudFormation carries it.
const ORDER_EVENTS = [{ dynamodb: { Keys: { sk: { S: ['ORDER', 'CANCEL', { prefix: 'ITEM#' }] } } } }];

describe('the local stream event source’s filters', () => {
  it('passes the records a pattern’s values and prefixes allow, and no other', () => {
    assert.equal(passesFilters(ORDER_EVENTS, record('ORDER')), true);
    assert.equal(passesFilters(ORDER_EVENTS, record('ITEM#dsl.reserve-port.1')), true);
    assert.equal(passesFilters(ORDER_EVENTS, record('CANCEL')), true);
    assert.equal(passesFilters(ORDER_EVENTS, record('~LOG#dsl.reserve-port.1#0001')), false);
    assert.equal(passesFilters(ORDER_EVENTS, record('PROGRESS')), false);
    assert.equal(passesFilters(ORDER_EVENTS, { dynamodb: {} }), false);
    assert.equal(passesFilters([], record('PROGRESS')), true, 'no filter: every record');
  });
});

describe('DynamoDB Local’s stream images', () => {
  it('get back the empty maps its stream gives as {}, and keep every other value', () => {
    assert.deepEqual(
      repaired({
        vars: {},
        procedure: { M: { vars: {}, next: { N: '1' } } },
        list: { L: [{}, { S: 'x' }] },
        empty: { L: [] },
        name: { S: 'n' },
      }),
      {
        vars: { M: {} },
        procedure: { M: { vars: { M: {} }, next: { N: '1' } } },
        list: { L: [{ M: {} }, { S: 'x' }] },
        empty: { L: [] },
        name: { S: 'n' },
      },
    );
  });
});

describe('a stream record as a change of the orders table', () => {
  it('reads its keys, images, sequence and time', () => {
    const stream: DynamoDBRecord = {
      eventName: 'MODIFY',
      dynamodb: {
        Keys: marshall({ pk: 'ORDER#o-1', sk: 'ORDER' }) as never,
        OldImage: marshall({ pk: 'ORDER#o-1', sk: 'ORDER', state: 'acknowledged' }) as never,
        NewImage: marshall({
          pk: 'ORDER#o-1',
          sk: 'ORDER',
          state: 'inProgress',
          updatedAt: '2025-03-01T09:00:01.123Z',
        }) as never,
        SequenceNumber: '700000000000000000001',
        ApproximateCreationDateTime: 1740819601,
      },
    };
    const change = changeOf(stream);
    assert.deepEqual(change, {
      kind: 'MODIFY',
      pk: 'ORDER#o-1',
      sk: 'ORDER',
      old: { pk: 'ORDER#o-1', sk: 'ORDER', state: 'acknowledged' },
      new: { pk: 'ORDER#o-1', sk: 'ORDER', state: 'inProgress', updatedAt: '2025-03-01T09:00:01.123Z' },
      sequence: '700000000000000000001',
      at: '2025-03-01T09:00:01.123Z',
    });
    assert.equal(changeOf({ eventName: 'INSERT', dynamodb: {} }), undefined);
  });
});
