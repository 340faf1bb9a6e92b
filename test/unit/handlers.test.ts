import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Context } from 'aws-lambda';
import { CATALOG_FILE } from '../../lambdas/shared/bundled-catalog';
import { dslCatalog } from './fixtures/catalogs';

const LAMBDAS = join(import.meta.dirname, '..', '..', 'lambdas');
const HANDLERS = readdirSync(LAMBDAS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'shared')
  .filter((entry) => readdirSync(join(LAMBDAS, entry.name)).includes('handler.ts'))
  .map((entry) => entry.name);

/** Every line the code under test writes to stdout and stderr while `work` runs. */
async function captured(work: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const writes = [process.stdout, process.stderr].map((stream) => {
    const write = stream.write.bind(stream);
    // Passed on as well: the test runner reports on stdout.
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      if (typeof chunk === 'string') lines.push(...chunk.split('\n').filter(Boolean));
      return write(chunk, ...rest);
    }) as typeof stream.write;
    return () => {
      stream.write = write;
    };
  });
  try {
    await work();
  } finally {
    for (const restore of writes) restore();
  }
  // Only the JSON lines are the code's.
  return lines.flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return parsed && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

function lambdaContext(requestId: string): Context {
  return {
    awsRequestId: requestId,
    functionName: 'switchboard-ConfigurationSeeder',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:switchboard-ConfigurationSeeder',
    memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/switchboard-ConfigurationSeeder',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

describe('handlers', () => {
  const TRACE = 'Root=1-6759a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1';
  const saved = { ...process.env };
  const taskRoot = mkdtempSync(join(tmpdir(), 'switchboard-task-root-'));
  before(() => {
    // As Lambda sets them; the handlers' modules are imported after, as Lambda loads them after.
    // The function's asset: its catalog beside the bundle.
    writeFileSync(join(taskRoot, CATALOG_FILE), JSON.stringify(dslCatalog()));
    Object.assign(process.env, {
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      CONFIGURATION_TABLE: 'configuration',
      _X_AMZN_TRACE_ID: TRACE,
      AWS_REGION: 'eu-west-1',
      LAMBDA_TASK_ROOT: taskRoot,
    });
  });
  after(() => {
    process.env = saved;
    rmSync(taskRoot, { recursive: true, force: true });
  });

  it('are all middy handlers', async () => {
    assert.equal(HANDLERS.length, 13, HANDLERS.join(', '));
    for (const name of HANDLERS) {
      const { handler } = (await import(join(LAMBDAS, name, 'handler.ts'))) as {
        handler: Record<string, unknown>;
      };
      for (const method of ['use', 'before', 'after', 'onError'])
        assert.equal(typeof handler[method], 'function', `${name}'s handler has middy's ${method}()`);
    }
  });

  it('log the Lambda context, the cold start and the trace id on every line, and count the cold start', async () => {
    const { handler } = (await import(join(LAMBDAS, 'configuration-seeder', 'handler.ts'))) as {
      handler: (event: unknown, context: Context) => Promise<unknown>;
    };
    const first = await captured(() => handler({ not: 'a custom resource event' }, lambdaContext('req-1')));
    const second = await captured(() => handler({ still: 'not one' }, lambdaContext('req-2')));

    const logged = (lines: Record<string, unknown>[]) => lines.filter((line) => !('_aws' in line));
    const [line] = logged(first);
    assert.ok(line, `a log line among ${JSON.stringify(first)}`);
    assert.equal(line.level, 'ERROR');
    assert.equal(line.message, 'not a CloudFormation custom resource event');
    assert.equal(line.function_name, 'switchboard-ConfigurationSeeder');
    assert.equal(line.function_request_id, 'req-1');
    assert.equal(line.cold_start, true);
    assert.equal(line.xray_trace_id, '1-6759a1b2-0123456789abcdef01234567');
    assert.equal(line.service, 'switchboard');
    assert.equal(logged(second)[0]?.cold_start, false);
    assert.equal(logged(second)[0]?.function_request_id, 'req-2');

    // The cold start is a metric too, once, by function.
    const coldStarts = [...first, ...second].filter((line) => '_aws' in line && 'ColdStart' in line);
    assert.equal(coldStarts.length, 1);
    assert.equal(coldStarts[0]?.function_name, 'switchboard-ConfigurationSeeder');
  });

  it("log an API caller's request id as the correlation id of every line of the invocation", async () => {
    const { lambdaHandler } = await import('../../lambdas/shared/handler');
    const { logger } = await import('../../lambdas/shared/logger');
    const handler = lambdaHandler(
      async (_event: unknown) => {
        logger.info('answered');
        return { statusCode: 200 };
      },
      { correlationIdPath: 'requestContext.requestId' },
    );

    const lines = await captured(() =>
      handler({ requestContext: { requestId: 'Ab3xYz=' } }, lambdaContext('req-3')),
    );

    const [line] = lines.filter((l) => l.message === 'answered');
    assert.equal(line?.correlation_id, 'Ab3xYz=');
    assert.equal(line?.function_request_id, 'req-3');
  });

  it('keep the keys of each piece of work on its own lines, however the work interleaves', async () => {
    const { logger, withLogKeys } = await import('../../lambdas/shared/logger');
    const lines = await captured(() =>
      Promise.all(
        ['a', 'b'].map((id) =>
          withLogKeys({ orderId: `order-${id}`, itemKey: `item-${id}` }, async () => {
            await new Promise((resolve) => setTimeout(resolve, id === 'a' ? 20 : 0));
            logger.info('one', { step: id });
            await withLogKeys({ system: `system-${id}` }, async () => logger.warn('two', { step: id }));
          }),
        ),
      ),
    );
    const keys = lines.map((l) => `${l.message} ${l.step}: ${l.orderId} ${l.itemKey} ${l.system ?? '-'}`);
    assert.deepEqual(keys.sort(), [
      'one a: order-a item-a -',
      'one b: order-b item-b -',
      'two a: order-a item-a system-a',
      'two b: order-b item-b system-b',
    ]);
  });
});
