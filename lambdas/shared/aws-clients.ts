import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from './observability';

// One client per service for the life of the execution environment. Endpoints come from the standard
// AWS_ENDPOINT_URL_* variables, which is how the local runtime points them at loopback. Each is traced:
// on Lambda every call is a subsegment of the invocation's trace (a no-op where tracing is off).
const traced = <T>(client: T): T => tracer.captureAWSv3Client(client);

export const dynamoDocuments = DynamoDBDocumentClient.from(traced(new DynamoDBClient({})), {
  // A system's JSON may carry numbers beyond 2^53 (ICCIDs): JSON.parse already made them imprecise, and
  // refusing to store them would make the worker re-send the callout on every retry.
  marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false, allowImpreciseNumbers: true },
});
export const sqs = traced(new SQSClient({}));
export const stepFunctions = traced(new SFNClient({}));
export const secretsManager = traced(new SecretsManagerClient({}));
export const eventBridge = traced(new EventBridgeClient({}));
export const scheduler = traced(new SchedulerClient({}));
