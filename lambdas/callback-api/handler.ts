import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { SecretsManagerSecretStore } from '../adapters/secrets-manager-secret-store';
import { SqsCallbackQueue } from '../adapters/sqs-callback-queue';
import { NotFoundError } from '../domain/errors';
import { dynamoDocuments, secretsManager, sqs } from '../shared/aws-clients';
import { CALLBACK_SIGNING_KEY, callbackSigningKey } from '../shared/callback-signing-key';
import { requiredEnv } from '../shared/env';
import { errorResponse, json, parseJsonBody } from '../shared/http';

/**
 * The largest callback body accepted: with its envelope it still fits one SQS message on any queue
 * (256 KiB at the least), and what is kept of it in the item's log is cut to 12 KiB anyway.
 */
export const MAX_CALLBACK_BODY_BYTES = 192 * 1024;

import { type ReceiveCallbackDeps, receiveCallback } from '../use-cases/receive-callback';

/**
 * `POST /callbacks/{correlationId}?token=…`: where systems send the answers of asynchronous callouts.
 * No Cognito token here — a system has none; the proof in the URL is what authorizes the call.
 * Answers 202 once the callback is safely queued for the correlator.
 */
export async function handleCallback(
  deps: ReceiveCallbackDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    if (event.routeKey !== 'POST /callbacks/{correlationId}')
      throw new NotFoundError(`no route ${event.routeKey}`);
    const raw = event.body ?? '';
    const receipt = await receiveCallback(deps, {
      correlationId: event.pathParameters?.correlationId ?? '',
      token: event.queryStringParameters?.token,
      rawBody: event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw,
      parseBody: () => parseJsonBody(event, MAX_CALLBACK_BODY_BYTES),
      ...(event.headers?.['idempotency-key'] ? { idempotencyKey: event.headers['idempotency-key'] } : {}),
    });
    return json(202, receipt);
  } catch (error) {
    return errorResponse(error);
  }
}

let deps: ReceiveCallbackDeps | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): ReceiveCallbackDeps {
  if (deps) return deps;
  const secrets = new SecretsManagerSecretStore(secretsManager, {
    [CALLBACK_SIGNING_KEY]: requiredEnv('CALLBACK_SIGNING_SECRET_ARN'),
  });
  deps = {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    queue: new SqsCallbackQueue(sqs, requiredEnv('CALLBACK_QUEUE_URL')),
    signingKey: () => callbackSigningKey(secrets),
    now: () => new Date(),
  };
  return deps;
}

export const handler = (event: APIGatewayProxyEventV2) => handleCallback(productionDeps(), event);
