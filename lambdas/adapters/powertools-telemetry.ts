import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { type DimensionsOf, METRICS, type MetricName } from '../domain/metrics';
import type { Telemetry } from '../ports/telemetry';
import { describeError, logger } from '../shared/logger';

/**
 * Metrics in CloudWatch's embedded metric format (Powertools Metrics: one JSON line on stdout, which
 * CloudWatch Logs turns into metrics), and spans as X-Ray subsegments (Powertools Tracer).
 *
 * Each metric is written as it happens, in a document of its own (`singleMetric`): metrics here differ
 * in their dimensions (a system, an outcome), and one document has one set of dimension values. Its
 * rollups are documents of their own too: one document could list them as further dimension sets, but
 * Powertools warns of every key two sets share, and a rollup's keys are all shared.
 */
export class PowertoolsTelemetry implements Telemetry {
  constructor(
    private readonly metrics: Metrics,
    private readonly tracer: Tracer,
  ) {}

  record<N extends MetricName>(name: N, dimensions: DimensionsOf<N>, value = 1): void {
    const definition = METRICS[name];
    const values = dimensions as Record<string, string>;
    try {
      for (const set of [definition.dimensions, ...definition.rollups]) {
        const single = this.metrics.singleMetric();
        // With no dimensions of its own, a metric is published under the service alone.
        if (set.length > 0)
          single.addDimensions(Object.fromEntries(set.map((key) => [key, values[key] ?? ''])));
        single.addMetric(name, definition.unit, value);
      }
    } catch (error) {
      // A metric lost is a gap in a graph; the work it describes goes on.
      logger.warn('metric not recorded', { metric: name, ...describeError(error) });
    }
  }

  async span<T>(name: string, annotations: Record<string, string>, work: () => Promise<T>): Promise<T> {
    if (!this.tracer.isTracingEnabled() || !this.tracer.getSegment()) return work();
    // Within its own context (X-Ray's CLS): the records of a batch run concurrently, each in its own span,
    // and what the work calls (fetch, the AWS SDK) is traced under that span.
    return this.tracer.provider.captureAsyncFunc(name, async (subsegment): Promise<T> => {
      for (const [key, value] of Object.entries(annotations)) subsegment?.addAnnotation(key, value);
      try {
        return await work();
      } catch (error) {
        subsegment?.addError(error as Error);
        throw error;
      } finally {
        subsegment?.close();
      }
    }) as Promise<T>;
  }
}
