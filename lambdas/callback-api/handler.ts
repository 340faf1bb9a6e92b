import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { SecretsManagerSecretStore } from '../adapters/secrets-manager-secret-store';
import { SqsCallbackQueue } from '../adapters/sqs-callback-queue';
import { callbackReceipt } from '../contract/callbacks';
import { NotFoundError } from '../domain/errors';
import { mappableHeaders } from '../domain/system-outcome';
import { dynamoDocuments, secretsManager, sqs } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { CALLBACK_SIGNING_KEY, callbackKeyRing, systemCallbackKeysOf } from '../shared/callback-signing-key';
import { jsonRecordEnv, requiredEnv } from '../shared/env';
import { answer, errorResponse, parseJsonBody } from '../shared/http';

/**
 * The largest callback body accepted: with its envelope it still fits one SQS message on any queue
 * (256 KiB at the least), and what is kept of it in the item's log is cut to 12 KiB anyway.
 */
export const MAX_CALLBACK_BODY_BYTES = 192 * 1024;

import { lambdaHandler } from '../shared/handler';
import { type ReceiveCallbackDeps, receiveCallback } from '../use-cases/receive-callback';

/**
 * The callback routes: the correlation id, then the URL's proof (domain/callback-keys.ts); a URL without
 * its proof is answered 401 saying so.
 */
export const CALLBACK_ROUTES: readonly string[] = [
  'POST /callbacks/{correlationId}/{proof}',
  'POST /callbacks/{correlationId}',
];

/**
 * `POST /callbacks/{correlationId}/{proof}`: where systems send the answers of asynchronous callouts.
 * No Cognito token here — a system has none; the proof in the URL, and the system's signature where its
 * interface wants one, are what authorize the call. Answers 202 once the callback is safely queued for
 * the correlator.
 */
export async function handleCallback(
  deps: ReceiveCallbackDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    if (!CALLBACK_ROUTES.includes(event.routeKey)) throw new NotFoundError(`no route ${event.routeKey}`);
    const raw = event.body ?? '';
    const headers = event.headers ?? {};
    const receipt = await receiveCallback(deps, {
      correlationId: event.pathParameters?.correlationId ?? '',
      proof: event.pathParameters?.proof,
      rawBody: event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw,
      parseBody: () => parseJsonBody(event, MAX_CALLBACK_BODY_BYTES),
      ...(headers['idempotency-key'] ? { idempotencyKey: headers['idempotency-key'] } : {}),
      headers: mappableHeaders(headers),
      webhook: {
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
      },
    });
    return answer(callbackReceipt, 202, receipt);
  } catch (error) {
    return errorResponse(error);
  }
}

let deps: ReceiveCallbackDeps | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): ReceiveCallbackDeps {
  if (deps) return deps;
  const secrets = new SecretsManagerSecretStore(secretsManager, {
    ...jsonRecordEnv('CALLBACK_SYSTEM_SECRETS'),
    [CALLBACK_SIGNING_KEY]: requiredEnv('CALLBACK_SIGNING_SECRET_ARN'),
  });
  deps = {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    queue: new SqsCallbackQueue(sqs, requiredEnv('CALLBACK_QUEUE_URL')),
    keys: () => callbackKeyRing(secrets),
    catalog: bundledCatalog(),
    systemKeys: (systemId) => systemCallbackKeysOf(secrets, systemId),
    now: () => new Date(),
  };
  return deps;
}

export const handler = lambdaHandler(
  (event: APIGatewayProxyEventV2) => handleCallback(productionDeps(), event),
  { correlationIdPath: 'requestContext.requestId' },
);
