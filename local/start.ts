/**
 * `npm start`: synthesizes the app into cdk.out, starts the demo's simulated fulfilment systems and runs
 * the cloud assembly on the local runtime until Ctrl-C. Data lives in .local/ and survives restarts.
 */
import { join } from 'node:path';
import { startInventory } from '../simulators/inventory';
import type { SimulatedSystem } from '../simulators/simulated-system';
import { demoDslOrder } from './demo-orders';
import { startLocalRuntime } from './runtime';
import { synthesize } from './synthesize';

const root = join(import.meta.dirname, '..');
const port = Number(process.env.PORT ?? 3000);

console.log('Synthesizing the CDK app into cdk.out …');
const assemblyDir = synthesize(join(root, 'cdk.out'));

// The demo catalog points its systems at these ports (catalog/systems/*.yaml).
const simulators: SimulatedSystem[] = [await startInventory({ port: 4101 })];

const runtime = await startLocalRuntime({
  assemblyDir,
  dataDir: join(root, '.local'),
  port,
  host: process.env.HOST ?? '127.0.0.1',
  dynamoDb: process.env.SWITCHBOARD_DYNAMODB === 'dynalite' ? 'dynalite' : 'auto',
});

const order = demoDslOrder();

const tokenOf = (role: string) => runtime.identities.find((i) => i.role === role)?.token ?? '';
const bearer = (role: string) => `-H 'Authorization: Bearer ${tokenOf(role)}'`;
console.log(`
Switchboard is running on ${runtime.apiUrl}
  DynamoDB: ${runtime.dynamoDbEngine} · SQS: fauxqs · Step Functions: aws-local-stepfunctions · data in .local/
  simulated systems: ${simulators.map((s) => `${s.name} ${s.url}`).join(', ')}

Callers (tokens from .local/identities.json):
${runtime.identities.map((i) => `${i.role}: Authorization: Bearer ${i.token}`).join('\n')}

Submit a demo DSL order:
  curl -s -X POST ${runtime.apiUrl}/tmf-api/productOrderingManagement/v5/productOrder ${bearer('submitter')} -H 'content-type: application/json' -d '${JSON.stringify(order)}'

Then read it (use the id from the answer):
  curl -s ${runtime.apiUrl}/tmf-api/productOrderingManagement/v5/productOrder/<id> ${bearer('submitter')}
  curl -s ${runtime.apiUrl}/orchestration/orders/<id>/items ${bearer('operator')}

Ctrl-C stops everything.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping …');
  await runtime.stop();
  await Promise.all(simulators.map((s) => s.stop()));
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
