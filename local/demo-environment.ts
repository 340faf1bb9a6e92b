import { mkdirSync } from 'node:fs';
import { z } from 'zod';
import { credentialSchemas } from '../lambdas/domain/auth-profile';
import { systemCallbackSecretSchema } from '../lambdas/domain/webhook-signature';
import {
  DEMO_SYSTEM_PORTS,
  type DemoCredentials,
  type DemoSystems,
  demoCredentials,
  FREE_DEMO_PORTS,
  startDemoSystems,
} from '../simulators/demo-systems';
import type { DynamoDbChoice } from './dynamodb';
import { type LocalRuntime, startLocalRuntime } from './runtime';
import { readSecretValues, secretsFile, writeDefaultSecrets } from './secrets-manager';
import type { SqsChoice } from './sqs';
import { synthesize } from './synthesize';

export interface DemoEnvironmentOptions {
  /** Where the runtime keeps its data; its secrets.json also gives the simulators their credentials. */
  dataDir: string;
  /** Where the app is synthesized. */
  assemblyDir: string;
  /** The API's port; 0 picks a free one. */
  port: number;
  host?: string;
  /** `fixed`: the catalog's demo ports (4101–4108); `free`: any free ports, passed to synth as base URLs. */
  systemPorts: 'fixed' | 'free';
  latencyMs?: number;
  /** How long the simulated activation takes to send its final callback (the benchmark sends its own). */
  activationFinalDelayMs?: number;
  /** How long the simulated activation takes to send its interim callback. */
  activationInterimDelayMs?: number;
  dynamoDb?: DynamoDbChoice;
  /** Where SQS keeps its messages (see LocalRuntimeOptions.sqs). */
  sqs?: SqsChoice;
  log?: (line: string) => void;
  /** Counts the runtime's AWS requests (see LocalRuntimeOptions.meter). */
  meter?: boolean;
  /** Another catalog folder (a copy of the demo's with more in it, as the benchmark uses). */
  catalogDir?: string;
  /** Base URLs of that catalog's further systems, by system id. */
  systemBaseUrls?: Record<string, string>;
}

export interface DemoEnvironment {
  runtime: LocalRuntime;
  systems: DemoSystems;
  stop(): Promise<void>;
}

const demoCredentialsSchema = z.object({
  'inventory-api-key': credentialSchemas['api-key'],
  'activation-oauth': credentialSchemas['oauth2-client-credentials'],
  'billing-basic': credentialSchemas.basic,
  'scheduling-api-key': credentialSchemas['api-key'],
  'callbacks:activation': systemCallbackSecretSchema,
  'porting-bearer': credentialSchemas.bearer,
  'provisioning-mtls': credentialSchemas.mtls.and(z.object({ caBundle: z.string() })),
  'simulator:provisioning': z.object({
    certificate: z.string().min(1),
    privateKey: z.string().min(1),
    clientCa: z.string().min(1),
  }),
});

/**
 * The demo catalog's simulated systems and a local runtime that calls them. Credentials come from the
 * data folder's secrets.json (new random ones are added for the profiles it lacks), so the simulators
 * accept exactly what the callouts send — and editing the file changes both.
 */
export async function startDemoEnvironment(options: DemoEnvironmentOptions): Promise<DemoEnvironment> {
  mkdirSync(options.dataDir, { recursive: true });
  writeDefaultSecrets(options.dataDir, { ...demoCredentials() });
  const credentials = readDemoCredentials(options.dataDir);
  const free = options.systemPorts === 'free';
  const systems = await startDemoSystems({
    credentials,
    ports: free ? FREE_DEMO_PORTS : DEMO_SYSTEM_PORTS,
    // Activation answers the way real ones do: accepted now, the result later on its callback.
    activationMode: 'async',
    ...(options.activationInterimDelayMs !== undefined
      ? { activationInterimDelayMs: options.activationInterimDelayMs }
      : {}),
    ...(options.activationFinalDelayMs !== undefined
      ? { activationFinalDelayMs: options.activationFinalDelayMs }
      : {}),
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
  });
  try {
    const assemblyDir = synthesize(options.assemblyDir, {
      ...(free || options.systemBaseUrls
        ? {
            'switchboard:systemBaseUrls': {
              ...(free ? systems.urls : {}),
              ...options.systemBaseUrls,
            },
          }
        : {}),
      ...(options.catalogDir ? { 'switchboard:catalogDir': options.catalogDir } : {}),
    });
    const runtime = await startLocalRuntime({
      assemblyDir,
      dataDir: options.dataDir,
      port: options.port,
      ...(options.host ? { host: options.host } : {}),
      ...(options.dynamoDb ? { dynamoDb: options.dynamoDb } : {}),
      ...(options.sqs ? { sqs: options.sqs } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.meter ? { meter: true } : {}),
    });
    return {
      runtime,
      systems,
      async stop() {
        await runtime.stop();
        await systems.stop();
      },
    };
  } catch (error) {
    await systems.stop();
    throw error;
  }
}

function readDemoCredentials(dataDir: string): DemoCredentials {
  const parsed = demoCredentialsSchema.safeParse(readSecretValues(secretsFile(dataDir)));
  if (!parsed.success) {
    // Field paths only: the values are secret.
    const where = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new Error(
      `${secretsFile(dataDir)}: the demo systems' credentials are missing or malformed at ${where}`,
    );
  }
  return parsed.data;
}
