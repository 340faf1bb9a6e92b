// Runs one Lambda function's bundle inside a worker thread whose process.env is the function's own
// environment. Only erasable TypeScript here: Node runs this file directly.
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
