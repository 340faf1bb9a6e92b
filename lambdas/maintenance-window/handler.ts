import { z } from 'zod';
import { DynamoDbConfigurationStore } from '../adapters/dynamodb-configuration-store';
import { EventBridgeAvailabilityEvents } from '../adapters/eventbridge-availability-events';
import { dynamoDocuments, eventBridge } from '../shared/aws-clients';
import { requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import type { AvailabilityDeps } from '../use-cases/change-availability';
import { runMaintenancePhase } from '../use-cases/maintenance-windows';

const phaseSchema = z
  .object({
    systemId: z.string().min(1),
    windowId: z.string().min(1),
    phase: z.enum(['start', 'end']),
  })
  .strict();

/**
 * Invoked by a maintenance window's one-time schedule (EventBridge Scheduler on AWS, the local runtime's
 * own scheduler locally) at the window's start and at its end.
 */
export async function handleMaintenancePhase(deps: AvailabilityDeps, event: unknown): Promise<void> {
  await runMaintenancePhase(deps, phaseSchema.parse(event));
}

let deps: AvailabilityDeps | undefined;
function productionDeps(): AvailabilityDeps {
  deps ??= {
    config: new DynamoDbConfigurationStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    events: new EventBridgeAvailabilityEvents(eventBridge, requiredEnv('EVENT_BUS_NAME')),
    now: () => new Date(),
  };
  return deps;
}

export const handler = lambdaHandler((event: unknown) => handleMaintenancePhase(productionDeps(), event));
