import { AsyncLocalStorage } from 'node:async_hooks';
import type { JSONObject } from '@aws-lambda-powertools/commons/types';
import { search } from '@aws-lambda-powertools/jmespath';
import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The functions' logger: Powertools Logger, one JSON object a line, with the Lambda context, the cold
 * start and the X-Ray trace id (injected per invocation by the handler's middleware, shared/handler.ts).
 * Its level comes from the function's application log level (AWS_LAMBDA_LOG_LEVEL, set by the stack).
 */
export const powertoolsLogger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'switchboard',
  // How the handler's middleware finds the caller's request id in the event (shared/handler.ts).
  correlationIdSearchFn: (expression, data) => search(expression, data as JSONObject),
});

/** The keys every line about one piece of work carries: which order, item, system and callback. */
export interface LogKeys {
  orderId?: string;
  itemKey?: string;
  system?: string;
  interface?: string;
  correlationId?: string;
  messageId?: string;
}

// A batch's records run concurrently in one invocation, so the keys of each are kept with its own async
// context, not on the logger (whose keys would be the last record's for all of them).
const scope = new AsyncLocalStorage<LogKeys>();

/** Runs `work` with these keys on every line logged within it (and within what it awaits). */
export function withLogKeys<T>(keys: LogKeys, work: () => T): T {
  return scope.run({ ...scope.getStore(), ...defined(keys) }, work);
}

/** Runs `work` with these keys alone: none of the enclosing work's (another item's system, say). */
export function withOwnLogKeys<T>(keys: LogKeys, work: () => T): T {
  return scope.run(defined(keys), work);
}

/** Adds keys to the current work's lines once they are known (the system, after the item is read). */
export function addLogKeys(keys: LogKeys): void {
  const current = scope.getStore();
  if (current) Object.assign(current, defined(keys));
}

type Fields = Record<string, unknown>;

function defined(keys: LogKeys): LogKeys {
  return Object.fromEntries(Object.entries(keys).filter(([, value]) => value !== undefined));
}

function withKeys(fields: Fields | undefined): Fields {
  const keys = scope.getStore();
  return keys ? { ...keys, ...fields } : (fields ?? {});
}

/** Structured logs, as CloudWatch Logs Insights reads them: a message, then fields. */
export const logger = {
  debug: (message: string, fields?: Fields) => powertoolsLogger.debug(message, withKeys(fields)),
  info: (message: string, fields?: Fields) => powertoolsLogger.info(message, withKeys(fields)),
  warn: (message: string, fields?: Fields) => powertoolsLogger.warn(message, withKeys(fields)),
  error: (message: string, fields?: Fields) => powertoolsLogger.error(message, withKeys(fields)),
};

export function describeError(error: unknown): Fields {
  return error instanceof Error ? { error: error.name, cause: error.message } : { error: String(error) };
}
