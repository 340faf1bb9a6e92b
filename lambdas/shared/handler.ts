import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { powertoolsLogger } from './logger';
import { metrics, tracer } from './observability';

export interface HandlerOptions {
  /**
   * Where the event carries the caller's request id (for an API, `requestContext.requestId`): logged
   * as `correlation_id` on every line of the invocation.
   */
  correlationIdPath?: string;
}

/**
 * Every function's handler: the function's own work (which keeps the project's rules — the TMF630
 * error bodies, the batch's backoff) wrapped in middy with Powertools' middlewares: the trace of the
 * invocation (the response is left out: it may hold an order), the Lambda context and the cold start on
 * every log line, and the cold-start metric.
 */
export function lambdaHandler<TEvent, TResult>(
  handle: (event: TEvent, context: Context) => Promise<TResult>,
  options: HandlerOptions = {},
) {
  return middy<TEvent, TResult>(handle)
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(
      injectLambdaContext(powertoolsLogger, {
        resetKeys: true,
        ...(options.correlationIdPath ? { correlationIdPath: options.correlationIdPath } : {}),
      }),
    )
    .use(coldStartMetric());
}

/**
 * Publishes the cold-start metric. Not Powertools' `logMetrics`: every metric here is written as it
 * happens (adapters/powertools-telemetry.ts), so that middleware would find nothing stored to flush and
 * warn on every invocation.
 */
function coldStartMetric(): MiddlewareObj {
  return {
    before: (request) => {
      metrics.captureColdStartMetric(request.context.functionName);
    },
  };
}
