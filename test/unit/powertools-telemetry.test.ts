import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { PowertoolsTelemetry } from '../../lambdas/adapters/powertools-telemetry';
import { LocalMetrics } from '../../local/metrics';
import { capturedLogs } from './fixtures/logs';

function telemetry() {
  const metrics = new Metrics({ namespace: 'Switchboard', serviceName: 'switchboard-dev' });
  return new PowertoolsTelemetry(metrics, new Tracer({ serviceName: 'switchboard-dev', enabled: false }));
}

/** A series as `name=value,…: sum`, its dimensions in name order. */
function dimensionsAndSum(series: { dimensions: Record<string, string>; sum: number }): string {
  const dimensions = Object.entries(series.dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`);
  return `${dimensions.join(',')}: ${series.sum}`;
}

describe('PowertoolsTelemetry', () => {
  it('writes a metric as embedded metric format, with its dimensions and each rollup, as CloudWatch reads it', (t) => {
    const lines = capturedLogs(t);

    telemetry().record('Callouts', { system: 'inventory', interface: 'reserve-port', outcome: 'status-5xx' });

    const documents = lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      documents.map((d) => (d._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics),
      [
        ['service', 'system', 'interface', 'outcome'],
        ['service', 'system', 'outcome'],
        ['service', 'outcome'],
      ].map((dimensions) => [
        {
          Namespace: 'Switchboard',
          Dimensions: [dimensions],
          Metrics: [{ Name: 'Callouts', Unit: 'Count' }],
        },
      ]),
    );
    for (const document of documents) {
      assert.equal(document.Callouts, 1);
      assert.equal(document.service, 'switchboard-dev');
      assert.equal(document.outcome, 'status-5xx');
    }

    // The local runtime reads them as CloudWatch does: one series per dimension set.
    const local = new LocalMetrics();
    for (const line of lines()) assert.equal(local.ingest(line), true);
    assert.deepEqual(local.snapshot({ name: 'Callouts' }).series.map(dimensionsAndSum).sort(), [
      'interface=reserve-port,outcome=status-5xx,service=switchboard-dev,system=inventory: 1',
      'outcome=status-5xx,service=switchboard-dev,system=inventory: 1',
      'outcome=status-5xx,service=switchboard-dev: 1',
    ]);
  });

  it('publishes a latency in milliseconds, and a metric with no dimensions under the service alone', (t) => {
    const lines = capturedLogs(t);
    const recorder = telemetry();

    recorder.record('CalloutLatency', { system: 'activation', interface: 'activate-line' }, 42);
    recorder.record('OrdersAccepted', {});

    const local = new LocalMetrics();
    for (const line of lines()) local.ingest(line);
    const series = local.snapshot().series.map((s) => `${s.name} ${s.unit} ${dimensionsAndSum(s)}`);
    assert.deepEqual(series.sort(), [
      'CalloutLatency Milliseconds interface=activate-line,service=switchboard-dev,system=activation: 42',
      'CalloutLatency Milliseconds service=switchboard-dev,system=activation: 42',
      'CalloutLatency Milliseconds service=switchboard-dev: 42',
      'OrdersAccepted Count service=switchboard-dev: 1',
    ]);
  });

  it('runs a span as the work alone where tracing is off, its result and its error untouched', async () => {
    const recorder = telemetry();

    assert.equal(await recorder.span('callout a/b', { system: 'a' }, async () => 7), 7);
    await assert.rejects(
      recorder.span('callout a/b', { system: 'a' }, async () => {
        throw new Error('refused');
      }),
      /refused/,
    );
  });

  it('on Lambda, runs a span as a subsegment of its own, annotated, with its error, always closed', async () => {
    const subsegments: {
      name: string;
      annotations: Record<string, string>;
      errors: string[];
      closed: boolean;
    }[] = [];
    const tracing = {
      isTracingEnabled: () => true,
      getSegment: () => ({ name: 'facade' }),
      provider: {
        captureAsyncFunc: (name: string, work: (subsegment: unknown) => Promise<unknown>) => {
          const recorded = {
            name,
            annotations: {} as Record<string, string>,
            errors: [] as string[],
            closed: false,
          };
          subsegments.push(recorded);
          return work({
            addAnnotation: (key: string, value: string) => {
              recorded.annotations[key] = value;
            },
            addError: (error: Error) => recorded.errors.push(error.message),
            close: () => {
              recorded.closed = true;
            },
          });
        },
      },
    } as unknown as Tracer;
    const recorder = new PowertoolsTelemetry(new Metrics({ namespace: 'Switchboard' }), tracing);

    assert.equal(
      await recorder.span('callout inventory/reserve-port', { system: 'inventory' }, async () => 7),
      7,
    );
    await assert.rejects(
      recorder.span(
        'callout activation/activate-line',
        { system: 'activation', interface: 'activate-line' },
        async () => {
          throw new Error('refused');
        },
      ),
      /refused/,
    );

    assert.deepEqual(subsegments, [
      {
        name: 'callout inventory/reserve-port',
        annotations: { system: 'inventory' },
        errors: [],
        closed: true,
      },
      {
        name: 'callout activation/activate-line',
        annotations: { system: 'activation', interface: 'activate-line' },
        errors: ['refused'],
        closed: true,
      },
    ]);
  });
});
