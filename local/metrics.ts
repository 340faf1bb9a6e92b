/** The local runtime's own paths on the API's port; no deployed route may use them (local/api-gateway.ts). */
export const LOCAL_PATH_PREFIX = '/local';
export const METRICS_PATH = `${LOCAL_PATH_PREFIX}/metrics`;

/** One series as CloudWatch would hold it: a metric of a namespace with one set of dimension values. */
export interface MetricSeries {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  samples: number;
  sum: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface MetricsSnapshot {
  /** When aggregation began: the runtime's start or the last reset. */
  since: string;
  series: MetricSeries[];
}

export interface MetricsFilter {
  /** The metric's name, exactly. */
  name?: string;
  /** Dimensions a series must have, each with exactly this value; it may have others. */
  dimensions?: Record<string, string>;
}

export interface LocalMetricsOptions {
  /** Values kept per series for its percentiles; 10,000 unless told. */
  reservoirSize?: number;
  /** Chooses which values a full reservoir replaces; Math.random unless told (tests pass a seeded one). */
  random?: () => number;
}

interface Series {
  namespace: string;
  name: string;
  unit: string;
  /** In the order of the dimension set that made the series. */
  dimensions: [string, string][];
  samples: number;
  sum: number;
  min: number;
  max: number;
  kept: number[];
}

/** One metric of one document, read and checked, before anything is counted. */
interface Datum {
  key: string;
  namespace: string;
  name: string;
  unit: string;
  dimensions: [string, string][];
  values: number[];
}

/**
 * What CloudWatch makes of the functions' Embedded Metric Format output, locally: each EMF document a
 * function writes to stdout adds its metrics' values to series keyed by namespace, metric name and the
 * name/value pairs of one of the document's dimension sets (a document with two sets feeds two series,
 * as CloudWatch does). Counts, sums, minimum and maximum are exact. Percentiles come from the values
 * kept per series: every value while there are at most `reservoirSize` of them (then a percentile is
 * exact, the nearest-rank one), beyond that a uniform random sample of that many (reservoir sampling),
 * so a busy series costs bounded memory and its percentiles become estimates — as CloudWatch's are too.
 */
export class LocalMetrics {
  private readonly reservoirSize: number;
  private readonly random: () => number;
  private series = new Map<string, Series>();
  private since = new Date();

  constructor(options: LocalMetricsOptions = {}) {
    this.reservoirSize = Math.max(1, options.reservoirSize ?? 10_000);
    this.random = options.random ?? Math.random;
  }

  /**
   * Reads one line of a function's output: true when it was an EMF document and its metrics were
   * counted. A document with anything wrong (a dimension it names but does not carry, a value that is
   * not a number) is ignored whole, so that a half-read document never skews a series; false then.
   */
  ingest(line: string): boolean {
    // Nearly every line is a log line: it is told apart without parsing it.
    const text = line.trim();
    if (!text.startsWith('{') || !text.includes('"_aws"')) return false;
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      return false;
    }
    const data = readDocument(document);
    if (!data) return false;
    for (const datum of data) this.add(datum);
    return true;
  }

  private add(datum: Datum): void {
    let series = this.series.get(datum.key);
    if (!series) {
      series = {
        namespace: datum.namespace,
        name: datum.name,
        unit: datum.unit,
        dimensions: datum.dimensions,
        samples: 0,
        sum: 0,
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        kept: [],
      };
      this.series.set(datum.key, series);
    }
    series.unit = datum.unit;
    for (const value of datum.values) {
      series.samples++;
      series.sum += value;
      series.min = Math.min(series.min, value);
      series.max = Math.max(series.max, value);
      if (series.kept.length < this.reservoirSize) series.kept.push(value);
      else {
        // Algorithm R: the n-th value replaces a kept one with probability size/n, which keeps every
        // value seen so far in the reservoir with the same probability.
        const slot = Math.floor(this.random() * series.samples);
        if (slot < this.reservoirSize) series.kept[slot] = value;
      }
    }
  }

  /** The series since the last reset, by metric name, then dimensions (by name), then namespace. */
  snapshot(filter: MetricsFilter = {}): MetricsSnapshot {
    const wanted = Object.entries(filter.dimensions ?? {});
    const series = [...this.series.values()]
      .filter((s) => filter.name === undefined || s.name === filter.name)
      .filter((s) =>
        wanted.every(([name, value]) => s.dimensions.some(([n, v]) => n === name && v === value)),
      )
      .map(view)
      .sort(
        (a, b) =>
          compare(a.name, b.name) ||
          compare(dimensionsText(a.dimensions), dimensionsText(b.dimensions)) ||
          compare(a.namespace, b.namespace),
      );
    return { since: this.since.toISOString(), series };
  }

  /** Forgets every series and starts counting again from now. */
  reset(): void {
    this.series = new Map();
    this.since = new Date();
  }
}

function view(series: Series): MetricSeries {
  const sorted = [...series.kept].sort((a, b) => a - b);
  return {
    namespace: series.namespace,
    name: series.name,
    unit: series.unit,
    dimensions: Object.fromEntries(series.dimensions),
    samples: series.samples,
    sum: series.sum,
    min: series.min,
    max: series.max,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
  };
}

/** The nearest-rank percentile: the smallest kept value with at least p % of the values at or below it. */
function percentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? 0;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The dimensions by name, whatever their order in the set: the order series are listed in. */
function dimensionsText(dimensions: Record<string, string>): string {
  return Object.entries(dimensions)
    .sort(([a], [b]) => compare(a, b))
    .map(([name, value]) => `${name}=${value}`)
    .join(',');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A metric's value: a number, or a list of them (the EMF spec allows up to 100 in one document). */
function valuesOf(value: unknown): number[] | undefined {
  const values = Array.isArray(value) ? value : [value];
  return values.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (values as number[]) : undefined;
}

/** Every metric of an EMF document, once for each of its dimension sets; undefined when it is not valid EMF. */
function readDocument(document: unknown): Datum[] | undefined {
  if (!isRecord(document) || !isRecord(document._aws)) return undefined;
  const directives = document._aws.CloudWatchMetrics;
  if (!Array.isArray(directives)) return undefined;
  const data: Datum[] = [];
  for (const directive of directives) {
    if (!isRecord(directive) || typeof directive.Namespace !== 'string') return undefined;
    const { Namespace: namespace, Dimensions: sets = [[]], Metrics: metrics } = directive;
    if (!Array.isArray(sets) || !Array.isArray(metrics)) return undefined;
    const dimensionSets: [string, string][][] = [];
    // No dimension set at all is one series without dimensions, as `[[]]` is.
    for (const set of sets.length === 0 ? [[]] : sets) {
      if (!Array.isArray(set)) return undefined;
      const pairs: [string, string][] = [];
      for (const name of set) {
        const value = typeof name === 'string' ? document[name] : undefined;
        if (typeof name !== 'string' || typeof value !== 'string') return undefined;
        pairs.push([name, value]);
      }
      dimensionSets.push(pairs);
    }
    for (const metric of metrics) {
      if (!isRecord(metric) || typeof metric.Name !== 'string') return undefined;
      const values = valuesOf(document[metric.Name]);
      if (!values) return undefined;
      const unit = typeof metric.Unit === 'string' ? metric.Unit : 'None';
      const seen = new Set<string>();
      for (const dimensions of dimensionSets) {
        // A set's order does not make another series, as in CloudWatch; it is kept only for display.
        const sorted = [...dimensions].sort(([a], [b]) => compare(a, b));
        const key = JSON.stringify([namespace, metric.Name, sorted]);
        // A set listed twice in one document is one series, counted once.
        if (seen.has(key)) continue;
        seen.add(key);
        data.push({ key, namespace, name: metric.Name, unit, dimensions, values });
      }
    }
  }
  return data;
}

/**
 * Series as lines to print: grouped under their metric's name and unit, one line each with its
 * dimensions (but `service`, the same everywhere), samples and sum, and p50/p99 for times.
 */
export function metricsTable(series: MetricSeries[]): string[] {
  const label = (s: MetricSeries) =>
    Object.entries(s.dimensions)
      .filter(([name]) => name !== 'service')
      .map(([name, value]) => `${name}=${value}`)
      .join(' ') || '(total)';
  const width = Math.max(0, ...series.map((s) => label(s).length));
  const number = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
  const lines: string[] = [];
  let heading = '';
  for (const s of series) {
    if (`${s.namespace} ${s.name}` !== heading) {
      heading = `${s.namespace} ${s.name}`;
      lines.push(`${s.name} (${s.unit})`);
    }
    const figures = [`samples ${s.samples}`, `sum ${number(s.sum)}`];
    if (s.unit === 'Milliseconds') figures.push(`p50 ${number(s.p50)} ms`, `p99 ${number(s.p99)} ms`);
    lines.push(`  ${label(s).padEnd(width)}  ${figures.join('  ')}`);
  }
  return lines;
}

/** What the local metrics path answers. */
export interface MetricsAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Answers a request for a path under `/local` (undefined for any other path): `GET /local/metrics` the
 * snapshot, filtered by `name` (the metric's) and by any other query parameter as a dimension and its
 * value; `DELETE /local/metrics` a reset (204). A parameter empty or given twice is answered 400 naming
 * it, rather than read as no filter or as one of its values.
 */
export function answerMetricsRequest(
  metrics: LocalMetrics,
  method: string,
  url: URL,
): MetricsAnswer | undefined {
  const { pathname } = url;
  if (pathname !== LOCAL_PATH_PREFIX && !pathname.startsWith(`${LOCAL_PATH_PREFIX}/`)) return undefined;
  if (pathname !== METRICS_PATH) {
    return json(404, { message: `the local runtime serves ${METRICS_PATH} under ${LOCAL_PATH_PREFIX}/` });
  }
  if (method === 'DELETE') {
    metrics.reset();
    return { status: 204, headers: {}, body: Buffer.alloc(0) };
  }
  if (method !== 'GET' && method !== 'HEAD') {
    return json(405, { message: `${METRICS_PATH} answers GET and DELETE` }, { allow: 'GET, HEAD, DELETE' });
  }
  const dimensions: Record<string, string> = {};
  let name: string | undefined;
  for (const parameter of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(parameter);
    const problem =
      parameter === ''
        ? 'a query parameter has no name'
        : values.length > 1
          ? `the query parameter ${parameter} is given ${values.length} times; give it once`
          : values[0] === ''
            ? `the query parameter ${parameter} is empty`
            : undefined;
    if (problem) return json(400, { message: problem, parameter });
    const value = values[0] ?? '';
    if (parameter === 'name') name = value;
    else dimensions[parameter] = value;
  }
  return json(200, metrics.snapshot({ ...(name === undefined ? {} : { name }), dimensions }));
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): MetricsAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: Buffer.from(JSON.stringify(body)),
  };
}
