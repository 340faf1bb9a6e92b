/**
 * AWS list prices, us-east-1, in US dollars, as published on the services' pricing pages and read on
 * 2026-11-27 (docs/performance.md names the sources). Free tiers are left out: the model prices an order
 * at volume. Lambda runs on arm64 (lib/constructs/switchboard-function.ts).
 */
export const PRICES = {
  readAt: '2026-11-27',
  region: 'us-east-1',
  /** Step Functions Standard, per state transition ($0.025 per 1,000). */
  stateTransition: 0.025 / 1_000,
  /** Lambda, per request ($0.20 per million). */
  lambdaRequest: 0.2 / 1_000_000,
  /** Lambda arm64, per GB-second (first tier). */
  lambdaArmGbSecond: 0.0000133334,
  /** SQS standard, per request of up to 64 KB ($0.40 per million). */
  sqsRequest: 0.4 / 1_000_000,
  /** DynamoDB on-demand, Standard table class, per write request unit ($0.625 per million). */
  dynamoDbWriteUnit: 0.625 / 1_000_000,
  /** DynamoDB on-demand, Standard table class, per read request unit ($0.125 per million). */
  dynamoDbReadUnit: 0.125 / 1_000_000,
  /** EventBridge, per custom event published ($1.00 per million). */
  eventBridgeEvent: 1 / 1_000_000,
  /** EventBridge Scheduler, per invocation ($1.00 per million). */
  schedulerInvocation: 1 / 1_000_000,
  /** API Gateway HTTP API, per request of up to 512 KB ($1.00 per million, first 300 million). */
  httpApiRequest: 1 / 1_000_000,
  /** Secrets Manager, per API call ($0.05 per 10,000). */
  secretsManagerCall: 0.05 / 10_000,
} as const;
