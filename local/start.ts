/**
 * `npm start`: synthesizes the app into cdk.out, starts the demo's simulated fulfilment systems and runs
 * the cloud assembly on the local runtime until Ctrl-C. Data lives in .local/ and survives restarts.
 */
import { join } from 'node:path';
import { startDemoEnvironment } from './demo-environment';
import { demoDslOrder, demoStaticIpOrder } from './demo-orders';

const root = join(import.meta.dirname, '..');
const port = Number(process.env.PORT ?? 3000);

console.log('Synthesizing the CDK app into cdk.out …');
const demo = await startDemoEnvironment({
  dataDir: join(root, '.local'),
  assemblyDir: join(root, 'cdk.out'),
  port,
  host: process.env.HOST ?? '127.0.0.1',
  // The demo catalog points its systems at fixed ports from 4101 on (catalog/systems/*.yaml).
  systemPorts: 'fixed',
  dynamoDb: process.env.SWITCHBOARD_DYNAMODB === 'dynalite' ? 'dynalite' : 'auto',
});
const { runtime, systems } = demo;

const order = demoDslOrder();
const tokenOf = (role: string) => runtime.identities.find((i) => i.role === role)?.token ?? '';
const bearer = (role: string) => `-H 'Authorization: Bearer ${tokenOf(role)}'`;
console.log(`
Switchboard is running on ${runtime.apiUrl}
  operator console: ${runtime.apiUrl}/console/#token=${tokenOf('operator')}
  API reference (OpenAPI 3.1): ${runtime.apiUrl}/openapi.json · the guide: docs/api.md
  DynamoDB: ${runtime.dynamoDbEngine} · SQS: fauxqs · Step Functions: aws-local-stepfunctions · data in .local/
  simulated systems: ${Object.entries(systems.urls)
    .map(([name, url]) => `${name} ${url}`)
    .join(', ')}
  their credentials: .local/secrets.json (the callouts read them through the local Secrets Manager)

Callers (tokens from .local/identities.json):
${runtime.identities.map((i) => `${i.role}: Authorization: Bearer ${i.token}`).join('\n')}

Submit a demo DSL order (or run \`npm run demo\` to watch one from start to end):
  curl -s -X POST ${runtime.apiUrl}/tmf-api/productOrderingManagement/v5/productOrder ${bearer('submitter')} -H 'content-type: application/json' -d '${JSON.stringify(order)}'

Or the static IP add-on, which provisioning assigns over mutual TLS (its client certificate, key and CA,
made at the first start, are in .local/secrets.json):
  curl -s -X POST ${runtime.apiUrl}/tmf-api/productOrderingManagement/v5/productOrder ${bearer('submitter')} -H 'content-type: application/json' -d '${JSON.stringify(demoStaticIpOrder())}'

Then read it (use the id from the answer):
  curl -s ${runtime.apiUrl}/tmf-api/productOrderingManagement/v5/productOrder/<id> ${bearer('submitter')}
  curl -s ${runtime.apiUrl}/orchestration/orders/<id>/items ${bearer('operator')}
  curl -s ${runtime.apiUrl}/admin/systems ${bearer('operator')}

The metrics the functions write (callouts by system and outcome, latencies, holds, fallout):
  curl -s '${runtime.apiUrl}/local/metrics?name=Callouts'

Ctrl-C stops everything.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping …');
  await demo.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
