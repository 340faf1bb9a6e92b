// Runs one Lambda function's bundle inside a worker thread whose process.env is the function's own
// environment. Only erasable TypeScript here: Node runs this file directly.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

interface Invocation {
  id: number;
  event: unknown;
  context: { awsRequestId: string; functionName: string; deadline: number; memoryLimitInMB: string };
}

const { bundleFile, exportName } = workerData as { bundleFile: string; exportName: string };
const load = createRequire(bundleFile);
const handler = load(bundleFile)[exportName] as (event: unknown, context: unknown) => Promise<unknown>;
if (typeof handler !== 'function') throw new Error(`${bundleFile} exports no function ${exportName}`);

parentPort?.on('message', async ({ id, event, context }: Invocation) => {
  const lambdaContext = {
    ...context,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${context.functionName}`,
    logGroupName: `/aws/lambda/${context.functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, context.deadline - Date.now()),
  };
  // Lambda gives each invocation its X-Ray trace header here (Powertools logs its root as xray_trace_id).
  // An environment here runs invocations concurrently, so a line may carry a later invocation's id.
  process.env._X_AMZN_TRACE_ID = traceHeader();
  try {
    const result = await handler(event, lambdaContext);
    parentPort?.postMessage({ id, result });
  } catch (error) {
    const e = error as Error;
    parentPort?.postMessage({
      id,
      error: { name: e?.name ?? 'Error', message: e?.message ?? String(error), stack: e?.stack },
    });
  }
});

/** A new trace, as X-Ray writes its header: Root=1-<epoch seconds, hex>-<96 random bits>;Parent;Sampled. */
function traceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}
