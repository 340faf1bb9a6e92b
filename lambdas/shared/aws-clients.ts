import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// One client per service for the life of the execution environment. Endpoints come from the standard
// AWS_ENDPOINT_URL_* variables, which is how the local runtime points them at loopback.
export const dynamoDocuments = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  // A system's JSON may carry numbers beyond 2^53 (ICCIDs): JSON.parse already made them imprecise, and
  // refusing to store them would make the worker re-send the callout on every retry.
  marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false, allowImpreciseNumbers: true },
});
export const sqs = new SQSClient({});
export const stepFunctions = new SFNClient({});
export const secretsManager = new SecretsManagerClient({});
export const eventBridge = new EventBridgeClient({});
export const scheduler = new SchedulerClient({});
