import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  answerMetricsRequest,
  LocalMetrics,
  type MetricSeries,
  type MetricsSnapshot,
  metricsTable,
} from '../../local/metrics';

/** An EMF document as Powertools writes it: one directive, the members beside `_aws`. */
function emf(
  metrics: { name: string; unit?: string }[],
  dimensions: string[][] | undefined,
  members: Record<string, unknown>,
  namespace = 'Switchboard',
): string {
  return JSON.stringify({
    _aws: {
      Timestamp: 1_765_000_000_000,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          ...(dimensions === undefined ? {} : { Dimensions: dimensions }),
          Metrics: metrics.map(({ name, unit }) => ({ Name: name, ...(unit ? { Unit: unit } : {}) })),
        },
      ],
    },
    ...members,
  });
}

/** The series' figures without the percentiles, for comparing counts. */
function counts(series: MetricSeries[]) {
  return series.map(({ name, dimensions, samples, sum, min, max }) => ({
    name,
    dimensions,
    samples,
    sum,
    min,
    max,
  }));
}

/** A seeded generator (mulberry32), so that a full reservoir's sample is the same at every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const callout = (system: string, outcome: string) =>
  emf(
    [{ name: 'Callouts', unit: 'Count' }],
    [
      ['service', 'system', 'outcome'],
      ['service', 'outcome'],
    ],
    {
      service: 'switchboard',
      system,
      outcome,
      Callouts: 1,
    },
  );

describe('LocalMetrics: what CloudWatch extracts from EMF', () => {
  it('counts a metric once in each of its dimension sets, as separate series', () => {
    const metrics = new LocalMetrics();

    assert.equal(metrics.ingest(callout('inventory', 'success')), true);
    assert.equal(metrics.ingest(callout('billing', 'success')), true);
    assert.equal(metrics.ingest(callout('billing', 'failure')), true);

    assert.deepEqual(counts(metrics.snapshot().series), [
      {
        name: 'Callouts',
        dimensions: { outcome: 'failure', service: 'switchboard' },
        samples: 1,
        sum: 1,
        min: 1,
        max: 1,
      },
      {
        name: 'Callouts',
        dimensions: { outcome: 'failure', service: 'switchboard', system: 'billing' },
        samples: 1,
        sum: 1,
        min: 1,
        max: 1,
      },
      {
        name: 'Callouts',
        dimensions: { outcome: 'success', service: 'switchboard' },
        samples: 2,
        sum: 2,
        min: 1,
        max: 1,
      },
      {
        name: 'Callouts',
        dimensions: { outcome: 'success', service: 'switchboard', system: 'billing' },
        samples: 1,
        sum: 1,
        min: 1,
        max: 1,
      },
      {
        name: 'Callouts',
        dimensions: { outcome: 'success', service: 'switchboard', system: 'inventory' },
        samples: 1,
        sum: 1,
        min: 1,
        max: 1,
      },
    ]);
  });

  it('reads several metrics of one document, each with its unit, and an array value as several samples', () => {
    const metrics = new LocalMetrics();

    metrics.ingest(
      emf(
        [
          { name: 'CalloutLatency', unit: 'Milliseconds' },
          { name: 'ItemsHeld', unit: 'Count' },
        ],
        [['service', 'system']],
        { service: 'switchboard', system: 'activation', CalloutLatency: [40, 10, 30], ItemsHeld: 2 },
      ),
    );

    const [latency, held, ...rest] = metrics.snapshot().series;
    assert.deepEqual(rest, []);
    assert.deepEqual(
      {
        unit: latency?.unit,
        samples: latency?.samples,
        sum: latency?.sum,
        min: latency?.min,
        max: latency?.max,
      },
      { unit: 'Milliseconds', samples: 3, sum: 80, min: 10, max: 40 },
    );
    assert.deepEqual(
      { name: held?.name, unit: held?.unit, samples: held?.samples, sum: held?.sum },
      {
        name: 'ItemsHeld',
        unit: 'Count',
        samples: 1,
        sum: 2,
      },
    );
  });

  it('makes a series without dimensions of an empty dimension set, of no Dimensions, and of an empty list', () => {
    const metrics = new LocalMetrics();

    metrics.ingest(emf([{ name: 'OrdersAccepted' }], [[]], { OrdersAccepted: 1 }));
    metrics.ingest(emf([{ name: 'OrdersAccepted' }], undefined, { OrdersAccepted: 1 }));
    metrics.ingest(emf([{ name: 'OrdersAccepted' }], [], { OrdersAccepted: 1 }));

    assert.deepEqual(counts(metrics.snapshot().series), [
      { name: 'OrdersAccepted', dimensions: {}, samples: 3, sum: 3, min: 1, max: 1 },
    ]);
    assert.equal(metrics.snapshot().series[0]?.unit, 'None', 'a metric without a unit has CloudWatch’s None');
  });

  it('keeps namespaces apart, and a dimension set listed twice in a document counts once', () => {
    const metrics = new LocalMetrics();

    metrics.ingest(
      emf([{ name: 'Callouts' }], [['system'], ['system']], { system: 'inventory', Callouts: 1 }),
    );
    metrics.ingest(emf([{ name: 'Callouts' }], [['system']], { system: 'inventory', Callouts: 5 }, 'Other'));

    assert.deepEqual(
      metrics.snapshot().series.map((s) => [s.namespace, s.samples, s.sum]),
      [
        ['Other', 1, 5],
        ['Switchboard', 1, 1],
      ],
    );
  });

  it('makes one series of a dimension set in any order, and shows its dimensions in the first order', () => {
    const metrics = new LocalMetrics();

    metrics.ingest(
      emf([{ name: 'Callouts' }], [['system', 'outcome']], { system: 'b', outcome: 'ok', Callouts: 1 }),
    );
    metrics.ingest(
      emf([{ name: 'Callouts' }], [['outcome', 'system']], { system: 'b', outcome: 'ok', Callouts: 2 }),
    );

    const { series } = metrics.snapshot();
    assert.deepEqual(
      series.map((s) => [Object.keys(s.dimensions), s.samples, s.sum]),
      [[['system', 'outcome'], 2, 3]],
    );
  });

  it('ignores lines that are not EMF, and leaves nothing behind', () => {
    const metrics = new LocalMetrics();

    for (const line of [
      '',
      'START RequestId: 1',
      '{"level":"INFO","message":"callout sent"}',
      '{"level":"INFO","message":"mentions \\"_aws\\" in passing"}',
      '[1, 2, 3]',
      '{"_aws": {"Timestamp": 1}}',
      'not json but "_aws" {',
    ]) {
      assert.equal(metrics.ingest(line), false, line);
    }

    assert.deepEqual(metrics.snapshot().series, []);
  });

  it('ignores a malformed EMF document whole, without throwing', () => {
    const metrics = new LocalMetrics();
    const good = JSON.parse(callout('inventory', 'success')) as Record<string, unknown>;
    const malformed: unknown[] = [
      { ...good, Callouts: 'one' },
      { ...good, Callouts: [1, '2'] },
      { ...good, Callouts: null },
      { ...good, system: 7 },
      { ...good, outcome: undefined },
      { ...good, _aws: { CloudWatchMetrics: {} } },
      { ...good, _aws: { CloudWatchMetrics: [{ Metrics: [{ Name: 'Callouts' }] }] } },
      { ...good, _aws: { CloudWatchMetrics: [{ Namespace: 'Switchboard', Metrics: 'Callouts' }] } },
      { ...good, _aws: { CloudWatchMetrics: [{ Namespace: 'Switchboard', Metrics: [{ Unit: 'Count' }] }] } },
      {
        ...good,
        _aws: { CloudWatchMetrics: [{ Namespace: 'Switchboard', Dimensions: ['system'], Metrics: [] }] },
      },
    ];

    for (const document of malformed) {
      assert.equal(metrics.ingest(JSON.stringify(document)), false, JSON.stringify(document));
    }
    assert.equal(metrics.ingest('{"_aws": {"CloudWatchMetrics": ['), false, 'cut short');

    assert.deepEqual(metrics.snapshot().series, []);
  });

  it('gives nearest-rank percentiles of every value while they fit the reservoir', () => {
    const metrics = new LocalMetrics();
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1000 down to 1

    for (let at = 0; at < values.length; at += 100) {
      metrics.ingest(
        emf([{ name: 'CalloutLatency', unit: 'Milliseconds' }], [['system']], {
          system: 'inventory',
          CalloutLatency: values.slice(at, at + 100),
        }),
      );
    }

    const [series] = metrics.snapshot().series;
    assert.deepEqual(
      {
        samples: series?.samples,
        sum: series?.sum,
        min: series?.min,
        max: series?.max,
        p50: series?.p50,
        p90: series?.p90,
        p99: series?.p99,
      },
      { samples: 1000, sum: 500_500, min: 1, max: 1000, p50: 500, p90: 900, p99: 990 },
    );
  });

  it('bounds the values kept per series: counts stay exact, percentiles become estimates', () => {
    const metrics = new LocalMetrics({ reservoirSize: 500, random: seeded(19) });

    for (let at = 1; at <= 20_000; at += 100) {
      metrics.ingest(
        emf([{ name: 'CalloutLatency', unit: 'Milliseconds' }], [], {
          CalloutLatency: Array.from({ length: 100 }, (_, i) => at + i),
        }),
      );
    }

    const [series] = metrics.snapshot().series;
    assert.equal(series?.samples, 20_000);
    assert.equal(series?.sum, (20_000 * 20_001) / 2);
    assert.equal(series?.min, 1);
    assert.equal(series?.max, 20_000);
    // A uniform sample of 500 of 1..20000: its median is within a few percent of 10,000 (this seed's is
    // fixed; a reservoir that kept only the first 500 values would say 250, the last 500 19,750).
    assert.ok(Math.abs((series?.p50 ?? 0) - 10_000) < 1_500, `p50 ${series?.p50}`);
    assert.ok(Math.abs((series?.p90 ?? 0) - 18_000) < 1_500, `p90 ${series?.p90}`);
  });

  it('filters by metric name and by dimensions, a series matching when it has each one given', () => {
    const metrics = new LocalMetrics();
    metrics.ingest(callout('inventory', 'success'));
    metrics.ingest(callout('billing', 'failure'));
    metrics.ingest(
      emf([{ name: 'ItemsHeld' }], [['service', 'system']], {
        service: 'switchboard',
        system: 'inventory',
        ItemsHeld: 1,
      }),
    );

    const dims = (snapshot: MetricsSnapshot) => snapshot.series.map((s) => [s.name, s.dimensions]);
    assert.deepEqual(dims(metrics.snapshot({ name: 'Callouts', dimensions: { system: 'inventory' } })), [
      ['Callouts', { outcome: 'success', service: 'switchboard', system: 'inventory' }],
    ]);
    assert.deepEqual(dims(metrics.snapshot({ dimensions: { system: 'inventory' } })), [
      ['Callouts', { outcome: 'success', service: 'switchboard', system: 'inventory' }],
      ['ItemsHeld', { service: 'switchboard', system: 'inventory' }],
    ]);
    assert.deepEqual(dims(metrics.snapshot({ name: 'ItemsReleased' })), []);
    assert.equal(metrics.snapshot({ name: 'Callouts' }).series.length, 4);
  });

  it('forgets everything at a reset and says since when it counts', async () => {
    const metrics = new LocalMetrics();
    metrics.ingest(callout('inventory', 'success'));
    const before = metrics.snapshot().since;
    await new Promise((resolve) => setTimeout(resolve, 5));

    metrics.reset();

    const after = metrics.snapshot();
    assert.deepEqual(after.series, []);
    assert.ok(after.since > before, `${after.since} after ${before}`);
    metrics.ingest(callout('inventory', 'success'));
    assert.equal(metrics.snapshot().series.length, 2);
  });
});

describe('/local/metrics', () => {
  const request = (metrics: LocalMetrics, method: string, path: string) => {
    const answer = answerMetricsRequest(metrics, method, new URL(path, 'http://localhost'));
    return answer && { status: answer.status, headers: answer.headers, body: answer.body.toString('utf8') };
  };
  const filled = () => {
    const metrics = new LocalMetrics();
    metrics.ingest(callout('inventory', 'success'));
    metrics.ingest(callout('billing', 'success'));
    return metrics;
  };

  it('answers GET with the snapshot, filtered by name and by any other parameter as a dimension', () => {
    const answer = request(filled(), 'GET', '/local/metrics?name=Callouts&system=inventory');

    assert.equal(answer?.status, 200);
    assert.equal(answer?.headers['content-type'], 'application/json');
    const snapshot = JSON.parse(answer?.body ?? '') as MetricsSnapshot;
    assert.deepEqual(
      snapshot.series.map((s) => s.dimensions),
      [{ outcome: 'success', service: 'switchboard', system: 'inventory' }],
    );
    assert.equal(typeof snapshot.since, 'string');
    const all = JSON.parse(request(filled(), 'GET', '/local/metrics')?.body ?? '') as MetricsSnapshot;
    assert.equal(all.series.length, 3);
  });

  it('refuses an empty or repeated parameter with 400 naming it', () => {
    for (const [query, parameter] of [
      ['?name=', 'name'],
      ['?name=Callouts&system=', 'system'],
      ['?system=a&system=b', 'system'],
      ['?=x', ''],
    ] as const) {
      const answer = request(filled(), 'GET', `/local/metrics${query}`);
      assert.equal(answer?.status, 400, query);
      assert.equal((JSON.parse(answer?.body ?? '') as { parameter: string }).parameter, parameter, query);
    }
  });

  it('resets on DELETE (204), answers other methods 405 and other /local paths 404', () => {
    const metrics = filled();

    assert.equal(request(metrics, 'POST', '/local/metrics')?.status, 405);
    assert.equal(request(metrics, 'GET', '/local/other')?.status, 404);
    assert.equal(request(metrics, 'GET', '/local')?.status, 404);
    assert.equal(metrics.snapshot().series.length, 3, 'neither touched the metrics');
    const deleted = request(metrics, 'DELETE', '/local/metrics');
    assert.deepEqual([deleted?.status, deleted?.body], [204, '']);
    assert.deepEqual(metrics.snapshot().series, []);
  });

  it('leaves every other path to the API', () => {
    const metrics = filled();
    for (const path of ['/localities', '/admin/systems', '/', '/console/local/metrics']) {
      assert.equal(request(metrics, 'GET', path), undefined, path);
    }
  });
});

describe('metricsTable', () => {
  it('groups series under their metric, without the service dimension, with percentiles for times', () => {
    const metrics = new LocalMetrics();
    metrics.ingest(callout('inventory', 'success'));
    metrics.ingest(
      emf([{ name: 'CalloutLatency', unit: 'Milliseconds' }], [['service', 'system'], ['service']], {
        service: 'switchboard',
        system: 'inventory',
        CalloutLatency: [53, 20.25],
      }),
    );

    assert.deepEqual(metricsTable(metrics.snapshot().series), [
      'CalloutLatency (Milliseconds)',
      '  (total)                           samples 2  sum 73.3  p50 20.3 ms  p99 53 ms',
      '  system=inventory                  samples 2  sum 73.3  p50 20.3 ms  p99 53 ms',
      'Callouts (Count)',
      '  outcome=success                   samples 1  sum 1',
      '  system=inventory outcome=success  samples 1  sum 1',
    ]);
  });
});
