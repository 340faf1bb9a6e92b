import type { LocalRuntime } from '../local/runtime';
import { planWatcher } from './local-api';
import { PRICES } from './prices';

/** What one order asked of AWS, counted from a metered local runtime (averages over the orders run). */
export interface OrderUsage {
  orders: number;
  /** States entered by the order's plan execution: what Standard workflows bill. */
  stateTransitions: number;
  lambdaInvocations: number;
  /** Invocation time × memory size, as Lambda bills it (measured here, so an estimate of AWS's). */
  lambdaGbSeconds: number;
  /** Every SQS request but the event source mappings' empty receives (those cost by the hour, not the order). */
  sqsRequests: number;
  dynamoDbRequests: number;
  /** The DynamoDB requests by operation (both tables), per order: where to look for fewer. */
  dynamoDbRequestsByOperation: Record<string, number>;
  dynamoDbReadUnits: number;
  dynamoDbWriteUnits: number;
  eventBridgeEvents: number;
  schedulerRequests: number;
  apiRequests: number;
  secretsManagerCalls: number;
  /** From the order's POST to the end of its plan, averaged. */
  msPerOrder: number;
  /** By service: the time its requests took to be answered, per order (what bounds the order's time). */
  serviceMsPerOrder: Record<string, number>;
}

/**
 * Runs `orders` orders one at a time through a runtime started with `meter`, and counts what they asked
 * of each service. `runOne` submits an order (and drives it, for holds) and returns its id once submitted.
 */
export async function meterOrders(
  runtime: LocalRuntime,
  orders: number,
  runOne: (n: number) => Promise<string>,
): Promise<OrderUsage> {
  const meter = runtime.meter;
  if (!meter) throw new Error('the runtime was not started with meter: true');
  const plans = planWatcher(runtime);
  // What a previous order still does (a slot released after its plan ended) is not this one's.
  await settle();
  meter.reset();
  runtime.lambdas.resetUsage();
  runtime.api.requests.clear();
  let transitions = 0;
  let elapsed = 0;
  try {
    for (let n = 0; n < orders; n++) {
      const startedAt = Date.now();
      const id = await runOne(n);
      const execution = await plans.finished(id);
      elapsed += Date.now() - startedAt;
      if (execution.status !== 'SUCCEEDED')
        throw new Error(
          `order ${id} ended ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`,
        );
      transitions += execution.stateTransitions;
      await settle();
    }
  } finally {
    plans.stop();
  }
  const reading = meter.reading();
  const requests = (prefix: string, except?: (key: string) => boolean) =>
    Object.entries(reading.requests)
      .filter(([key]) => key.startsWith(`${prefix} `) && !except?.(key))
      .reduce((sum, [, n]) => sum + n, 0);
  const functions = Object.values(runtime.lambdas.usage());
  const per = (n: number) => round(n / orders);
  return {
    orders,
    stateTransitions: per(transitions),
    lambdaInvocations: per(functions.reduce((sum, f) => sum + f.invocations, 0)),
    lambdaGbSeconds: round(
      functions.reduce((sum, f) => sum + (f.milliseconds / 1000) * (f.memoryMB / 1024), 0) / orders,
      4,
    ),
    sqsRequests: per(requests('sqs', (key) => key.endsWith('(empty)'))),
    dynamoDbRequests: per(requests('dynamodb')),
    dynamoDbRequestsByOperation: Object.fromEntries(
      Object.entries(reading.requests)
        .filter(([key]) => key.startsWith('dynamodb '))
        .map(([key, n]) => [key.slice('dynamodb '.length), per(n)]),
    ),
    dynamoDbReadUnits: per(reading.dynamoDb.readUnits),
    dynamoDbWriteUnits: per(reading.dynamoDb.writeUnits),
    eventBridgeEvents: per(reading.requests['eventbridge PutEvents'] ?? 0),
    schedulerRequests: per(requests('scheduler')),
    apiRequests: per([...runtime.api.requests.values()].reduce((sum, n) => sum + n, 0)),
    secretsManagerCalls: per(requests('secretsmanager')),
    msPerOrder: per(elapsed),
    serviceMsPerOrder: Object.fromEntries(
      Object.entries(reading.milliseconds).map(([service, ms]) => [service, per(ms)]),
    ),
  };
}

/** The AWS price of a million orders that each use `usage`, by service, at PRICES. */
export function costPerMillionOrders(usage: OrderUsage): Record<string, number> {
  const million = 1_000_000;
  const lines = {
    'Step Functions': usage.stateTransitions * PRICES.stateTransition,
    Lambda: usage.lambdaInvocations * PRICES.lambdaRequest + usage.lambdaGbSeconds * PRICES.lambdaArmGbSecond,
    SQS: usage.sqsRequests * PRICES.sqsRequest,
    DynamoDB:
      usage.dynamoDbReadUnits * PRICES.dynamoDbReadUnit + usage.dynamoDbWriteUnits * PRICES.dynamoDbWriteUnit,
    EventBridge:
      usage.eventBridgeEvents * PRICES.eventBridgeEvent +
      usage.schedulerRequests * PRICES.schedulerInvocation,
    'API Gateway': usage.apiRequests * PRICES.httpApiRequest,
    'Secrets Manager': usage.secretsManagerCalls * PRICES.secretsManagerCall,
  };
  const priced = Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, round(v * million, 2)]));
  return { ...priced, total: round(Object.values(lines).reduce((a, b) => a + b, 0) * million, 2) };
}

/** Lets what an order set going finish (a slot released after the plan ended, the last deletes). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
