import { z } from 'zod';
import { DynamoDbConfigurationStore } from '../adapters/dynamodb-configuration-store';
import type { Catalog } from '../domain/catalog';
import type { ConfigurationStore } from '../ports/configuration-store';
import { dynamoDocuments } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { describeError, logger } from '../shared/logger';
import { seedConfiguration } from '../use-cases/seed-configuration';

/** The CloudFormation custom resource event, as much of it as the seeder reads. */
const customResourceEventSchema = z.object({
  RequestType: z.enum(['Create', 'Update', 'Delete']),
  ResponseURL: z.url(),
  StackId: z.string(),
  RequestId: z.string(),
  LogicalResourceId: z.string(),
  PhysicalResourceId: z.string().optional(),
});

export interface SeederDeps {
  config: ConfigurationStore;
  catalog: Catalog;
  now: () => Date;
  /** Sends CloudFormation the result (a PUT to the pre-signed ResponseURL). */
  respond: (url: string, body: string) => Promise<void>;
}

const PHYSICAL_ID = 'switchboard-configuration';

/**
 * A custom resource that seeds the configuration table from the catalog baked into this bundle. Create
 * and Update seed; Delete leaves the table alone (it is retained with the stateful stack). Whatever
 * happens, CloudFormation gets an answer, so a failed seed fails the deployment instead of hanging it.
 */
export async function handleSeedEvent(deps: SeederDeps, raw: unknown): Promise<void> {
  const parsed = customResourceEventSchema.safeParse(raw);
  if (!parsed.success) {
    logger.error('not a CloudFormation custom resource event', { problems: parsed.error.issues.length });
    return;
  }
  const event = parsed.data;
  const reply = (status: 'SUCCESS' | 'FAILED', reason: string, data?: Record<string, unknown>) =>
    deps.respond(
      event.ResponseURL,
      JSON.stringify({
        Status: status,
        Reason: reason,
        PhysicalResourceId: event.PhysicalResourceId ?? PHYSICAL_ID,
        StackId: event.StackId,
        RequestId: event.RequestId,
        LogicalResourceId: event.LogicalResourceId,
        ...(data ? { Data: data } : {}),
      }),
    );
  if (event.RequestType === 'Delete') return reply('SUCCESS', 'the configuration table is retained');
  let result: Awaited<ReturnType<typeof seedConfiguration>>;
  try {
    result = await seedConfiguration(deps, deps.catalog);
  } catch (error) {
    logger.error('seeding failed', describeError(error));
    await reply('FAILED', `seeding the configuration failed: ${(error as Error).message}`.slice(0, 1000));
    return;
  }
  logger.info('configuration seeded', { ...result });
  // An operator's runtime change the catalog overruled: their histories say which value replaced which.
  if (result.overrides.dropped.length > 0)
    logger.warn("operators' runtime changes replaced by the catalog's new values", {
      dropped: result.overrides.dropped,
    });
  // A reply that cannot be delivered throws: Lambda retries the invocation, and seeding is idempotent.
  await reply('SUCCESS', `seeded ${result.systems} systems and ${result.interfaces} interfaces`, {
    Systems: result.systems,
    Interfaces: result.interfaces,
  });
}

async function putResponse(url: string, body: string): Promise<void> {
  // A pre-signed S3 URL: no content-type, or the signature does not match.
  const response = await fetch(url, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!response.ok) throw new Error(`CloudFormation response refused: ${response.status}`);
}

let deps: SeederDeps | undefined;
function productionDeps(): SeederDeps {
  deps ??= {
    config: new DynamoDbConfigurationStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    catalog: bundledCatalog(),
    now: () => new Date(),
    respond: putResponse,
  };
  return deps;
}

export const handler = lambdaHandler((event: unknown) => handleSeedEvent(productionDeps(), event));
