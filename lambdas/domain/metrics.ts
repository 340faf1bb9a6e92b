/**
 * The metrics operators are paged about (docs/operations.md says what each means and what to do). Every
 * dimension has few values — a system, an interface, an outcome, an action, a queue — and never an order
 * or an item: CloudWatch bills each combination of dimension values as a metric of its own.
 *
 * A metric is published with its full dimensions and with each of its `rollups` (fewer dimensions), so
 * an alarm or a graph can read a total without a metric math expression over every system.
 */
/** The CloudWatch namespace of Switchboard's metrics; a stage tells its own apart by the `service`. */
export const METRICS_NAMESPACE = 'Switchboard';

export const METRICS = {
  OrdersAccepted: { unit: 'Count', dimensions: [], rollups: [] },
  OrdersCompleted: { unit: 'Count', dimensions: [], rollups: [] },
  OrdersFailed: { unit: 'Count', dimensions: [], rollups: [] },
  Callouts: {
    unit: 'Count',
    dimensions: ['system', 'interface', 'outcome'],
    rollups: [['system', 'outcome'], ['outcome']],
  },
  CalloutLatency: { unit: 'Milliseconds', dimensions: ['system', 'interface'], rollups: [['system'], []] },
  CallbackToCompletion: {
    unit: 'Milliseconds',
    dimensions: ['system', 'interface'],
    rollups: [['system'], []],
  },
  ItemsHeld: { unit: 'Count', dimensions: ['system'], rollups: [[]] },
  ItemsReleased: { unit: 'Count', dimensions: ['system'], rollups: [[]] },
  FalloutEntered: { unit: 'Count', dimensions: ['interface'], rollups: [[]] },
  FalloutResolved: { unit: 'Count', dimensions: ['action'], rollups: [[]] },
  MessagesRedelivered: { unit: 'Count', dimensions: ['queue'], rollups: [] },
  MessagesDeadLettered: { unit: 'Count', dimensions: ['queue'], rollups: [] },
  CircuitBreakerTrips: { unit: 'Count', dimensions: ['system'], rollups: [[]] },
  EventDeliveries: { unit: 'Count', dimensions: ['outcome'], rollups: [] },
} as const satisfies Record<string, MetricDefinition>;

export interface MetricDefinition {
  unit: 'Count' | 'Milliseconds';
  dimensions: readonly string[];
  rollups: readonly (readonly string[])[];
}

export type MetricName = keyof typeof METRICS;

/** The dimension values a metric is recorded with: exactly its dimensions. */
export type DimensionsOf<N extends MetricName> = Record<(typeof METRICS)[N]['dimensions'][number], string>;

/**
 * What a callout came to, as the `outcome` dimension of `Callouts`: answered well (`success`), accepted
 * for a later callback (`accepted`), a failure by its class, or not sent because its system was
 * unavailable (`held`) or at its limits (`throttled`).
 */
export type CalloutOutcomeClass =
  | 'success'
  | 'accepted'
  | 'status-4xx'
  | 'status-5xx'
  | 'unusable'
  | 'connection'
  | 'timeout'
  | 'held'
  | 'throttled';

/** The `interface` of an item that calls none (a manual or auto task, a milestone, a procedure). */
export const NO_INTERFACE = 'none';
