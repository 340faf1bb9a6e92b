import type { DimensionsOf, MetricName } from '../domain/metrics';

/**
 * Metrics and traces: what operators watch (domain/metrics.ts) and where a slow order spent its time.
 * Recording never fails the work it describes.
 */
export interface Telemetry {
  /** Records one value of a metric (1 for a count, milliseconds for a latency). */
  record<N extends MetricName>(name: N, dimensions: DimensionsOf<N>, value?: number): void;
  /** Runs `work` as a span of the trace, with annotations to search traces by (a system, an interface). */
  span<T>(name: string, annotations: Record<string, string>, work: () => Promise<T>): Promise<T>;
}
