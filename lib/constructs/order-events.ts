import { Duration } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type EventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { FilterCriteria, FilterRule, type IDestination, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Catalog } from '../../lambdas/domain/catalog';
import { ORDER_EVENT_SOURCE } from '../../lambdas/domain/order-events';
import { ORDERS_WATCHED } from '../../lambdas/shared/order-table';
import type { QueueWithDlq } from './queue-with-dlq';
import { type FunctionTelemetry, SwitchboardFunction } from './switchboard-function';

export interface OrderEventsProps {
  catalog: Catalog;
  telemetry: FunctionTelemetry;
  ordersTable: Table;
  configurationTable: Table;
  bus: EventBus;
  /** The delivery queue and its dead letters (the stateful stack's). */
  deliveries: QueueWithDlq;
  /** What an event, a schedule or an asynchronous invocation could not deliver is kept there. */
  undelivered: Queue;
  onFailure: IDestination;
}

/** Deliveries posted at once, at most: listeners are order capture's systems, which take a steady pace. */
const DELIVERY_MAX_CONCURRENCY = 5;

/**
 * TMF622 events and due dates (docs/architecture.md): `OrderEvents` reads the orders table's stream,
 * announces its changes on the bus and assesses watched orders for jeopardy, with a sweep every minute;
 * a rule hands each event to `EventDelivery`, which fans it out to the hub's listeners and posts each
 * delivery from its queue. Added in the stack's own scope, so the resources keep their logical ids.
 */
export function addOrderEvents(scope: Construct, props: OrderEventsProps) {
  const { catalog, telemetry, ordersTable, configurationTable, bus, deliveries, undelivered, onFailure } =
    props;
  const orderEvents = new SwitchboardFunction(scope, 'OrderEvents', {
    entry: 'lambdas/order-events/handler.ts',
    description:
      "Announces orders' changes as TMF622 events on the bus, from the orders table's stream; watches due dates",
    catalog,
    telemetry,
    invocation: 'stream',
  })
    // It reads orders and keeps their jeopardy on them (the ORDER record's watch attributes).
    .bindTable('ORDERS_TABLE', ordersTable, 'read-update', { indexes: [ORDERS_WATCHED] })
    .bindEventBus('EVENT_BUS_NAME', bus);
  // Time passing alone can put an order in jeopardy (an item that overruns): every minute, the orders
  // whose next look has come. A sweep that fails is the next minute's to do.
  new Rule(scope, 'DueDateSweep', {
    description: 'Every minute: the orders with a due date whose next look for jeopardy has come',
    schedule: Schedule.rate(Duration.minutes(1)),
    targets: [new LambdaFunction(orderEvents, { retryAttempts: 0, deadLetterQueue: undelivered })],
  });
  orderEvents.addEventSource(
    new DynamoEventSource(ordersTable, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      // An order's changes come within a second or so: one invocation takes them together, and reads
      // the order once for all of them.
      maxBatchingWindow: Duration.seconds(1),
      // A batch that keeps failing is halved until the change that fails is alone; it is tried for six
      // hours, the order's later changes waiting behind it, then kept (its place in the stream) for an
      // operator, who has the stream's 24 hours to read it again.
      bisectBatchOnError: true,
      retryAttempts: 50,
      maxRecordAge: Duration.hours(6),
      onFailure: new SqsDlq(undelivered),
      // Only the records whose changes announce something: an order's, an item's, a cancellation's
      // (not an item's log records, written on every transition).
      filters: [
        FilterCriteria.filter({
          dynamodb: {
            Keys: {
              sk: {
                S: [
                  ...FilterRule.isEqual('ORDER'),
                  ...FilterRule.isEqual('CANCEL'),
                  ...FilterRule.beginsWith('ITEM#'),
                ],
              },
            },
          },
        }),
      ],
    }),
  );
  const eventDelivery = new SwitchboardFunction(scope, 'EventDelivery', {
    entry: 'lambdas/event-delivery/handler.ts',
    description: "Delivers TMF622 events to the hub's listeners, signed, each retried for more than a day",
    catalog,
    telemetry,
    // Invoked by the rule with each event (asynchronously), and by the delivery queue's event source.
    invocation: { asynchronous: onFailure },
  })
    .bindQueueConsumer('DELIVERY_QUEUE_URL', deliveries.queue)
    .bindQueueSender('DELIVERY_DEAD_LETTER_QUEUE_URL', deliveries.deadLetterQueue);
  // It fans an event out as deliveries on the queue it consumes.
  deliveries.queue.grantSendMessages(eventDelivery);
  eventDelivery.bindListeners('CONFIGURATION_TABLE', configurationTable, [
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
  ]);
  eventDelivery.addEventSource(
    new SqsEventSource(deliveries.queue, {
      batchSize: 10,
      reportBatchItemFailures: true,
      maxConcurrency: DELIVERY_MAX_CONCURRENCY,
    }),
  );
  new Rule(scope, 'OrderEventsToListeners', {
    eventBus: bus,
    description: "TMF622 events: fanned out to the hub's listeners",
    eventPattern: { source: [ORDER_EVENT_SOURCE] },
    targets: [
      new LambdaFunction(eventDelivery, {
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
        deadLetterQueue: undelivered,
      }),
    ],
  });
  return { orderEvents, eventDelivery };
}
