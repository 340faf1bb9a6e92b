import { resolve } from 'node:path';
import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { z } from 'zod';
import { systemsSigningCallbacks } from '../lambdas/domain/catalog';
import { loadCatalog } from './catalog/load-catalog';
import { applyNagSuppressions } from './nag-suppressions';
import { StatefulStack } from './stateful-stack';
import { StatelessStack } from './stateless-stack';

export interface SwitchboardAppOptions extends AppProps {
  /** Fails synth on any unacknowledged finding of cdk-nag's AwsSolutions and Serverless packs. */
  nag?: boolean;
}

/**
 * Builds the whole Switchboard app. The catalog folder and system base URLs come from the context
 * (`switchboard:catalogDir`, `switchboard:systemBaseUrls`), so tests and users can synthesize other
 * catalogs without touching code.
 */
export function buildApp(options: SwitchboardAppOptions = {}): App {
  const app = new App(options);
  const catalogDir = (app.node.tryGetContext('switchboard:catalogDir') as string | undefined) ?? 'catalog';
  const systemBaseUrls = parseJsonContext(app.node.tryGetContext('switchboard:systemBaseUrls'));
  const catalog = loadCatalog(catalogDir, { systemBaseUrls });

  const alarmEmail = contextValue(app, 'switchboard:alarmEmail', z.email());
  // A list, or a comma-separated string as `cdk deploy -c` passes it: https, or http on localhost.
  const peopleCallbackUrls = contextValue(
    app,
    'switchboard:peopleCallbackUrls',
    z.preprocess(
      (value) => (typeof value === 'string' ? value.split(',').map((url) => url.trim()) : value),
      z
        .array(
          z.url().refine((url) => /^https:\/\//.test(url) || /^http:\/\/localhost(:\d+)?(\/|$)/.test(url), {
            message: 'must be https (or http on localhost)',
          }),
        )
        .min(1)
        .max(100),
    ),
  );
  const throttle = z.preprocess(
    (value) => (typeof value === 'string' ? JSON.parse(value) : value),
    z.strictObject({ rateLimit: z.number().positive(), burstLimit: z.number().int().positive() }),
  );
  const apiThrottle = contextValue(app, 'switchboard:apiThrottle', throttle);
  const callbackThrottle = contextValue(app, 'switchboard:callbackThrottle', throttle);
  // `off`, or how much to keep for each: `{"worker": 50, "correlator": 20}`.
  const reservedConcurrency = contextValue(
    app,
    'switchboard:reservedConcurrency',
    z.preprocess(
      (value) =>
        value === 'off' || value === false ? false : typeof value === 'string' ? JSON.parse(value) : value,
      z.union([
        z.literal(false),
        z.strictObject({
          worker: z.number().int().min(1).max(1000),
          correlator: z.number().int().min(1).max(1000),
        }),
      ]),
    ),
  );

  // `-c stage=dev`: the stacks and every name that must be unique in an account carry it, so that dev
  // and prod live side by side in one account.
  const stage = contextValue(
    app,
    'stage',
    z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'must be 1 to 16 lowercase letters, digits or -, a letter first'),
  );
  const ids = stackIds(stage);
  // Not WARN or ERROR: Lambda drops a line without a level above INFO, and the metrics' lines have none.
  const logLevel = contextValue(
    app,
    'switchboard:logLevel',
    z.enum(['DEBUG', 'INFO'], { message: 'must be DEBUG or INFO: above INFO Lambda would drop the metrics' }),
  );

  const stateful = new StatefulStack(app, ids.stateful, {
    description: 'Switchboard state: orders and configuration tables, work queues, event bus, secrets',
    authProfiles: Object.values(catalog.authProfiles),
    systemsSigningCallbacks: systemsSigningCallbacks(catalog),
    ...(alarmEmail ? { alarmEmail } : {}),
    ...(peopleCallbackUrls ? { peopleCallbackUrls } : {}),
    ...(stage ? { stage } : {}),
  });
  const stateless = new StatelessStack(app, ids.stateless, {
    description: 'Switchboard code: plan state machines, Lambdas, API',
    catalog,
    customAdapterFiles: catalog.customAdapters.map((name) => resolve(catalogDir, 'adapters', `${name}.ts`)),
    ordersTable: stateful.ordersTable,
    configurationTable: stateful.configurationTable,
    authSecrets: stateful.authSecrets,
    callbacks: stateful.callbacks,
    callbackSigningKey: stateful.callbackSigningKey,
    systemCallbackSecrets: stateful.systemCallbackSecrets,
    work: stateful.work,
    deliveries: stateful.deliveries,
    bus: stateful.bus,
    identity: stateful.identity,
    alerts: stateful.alerts,
    ...(apiThrottle ? { apiThrottle } : {}),
    ...(callbackThrottle ? { callbackThrottle } : {}),
    ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
    ...(stage ? { stage } : {}),
    ...(logLevel ? { logLevel } : {}),
  });
  stateless.addStackDependency(stateful);
  Tags.of(app).add('application', 'switchboard');
  if (stage) Tags.of(app).add('stage', stage);

  applyNagSuppressions(stateless);
  if (options.nag !== false)
    Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app, { verbose: true }),
      new ServerlessChecks(app, { verbose: true }),
    );
  return app;
}

/** The stacks' ids: `SwitchboardStateful` and `SwitchboardStateless`, prefixed `<stage>-` for a stage. */
export function stackIds(stage?: string): { stateful: string; stateless: string } {
  const prefix = stage ? `${stage}-` : '';
  return { stateful: `${prefix}SwitchboardStateful`, stateless: `${prefix}SwitchboardStateless` };
}

/** A context value checked by its schema; a wrong one fails the synth naming the key and the problem. */
function contextValue<T extends z.ZodType>(app: App, key: string, schema: T): z.output<T> | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  let parsed: ReturnType<T['safeParse']>;
  try {
    parsed = schema.safeParse(value) as ReturnType<T['safeParse']>;
  } catch (error) {
    throw new Error(`context ${key}: ${(error as Error).message}`);
  }
  if (!parsed.success) throw new Error(`context ${key}: ${z.prettifyError(parsed.error)}`);
  return parsed.data as z.output<T>;
}

function parseJsonContext(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  return (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, string>;
}
