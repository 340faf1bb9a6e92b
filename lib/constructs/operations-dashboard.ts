import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS, type MetricName } from '../../lambdas/domain/metrics';
import type { OperatorAlerts } from './operator-alerts';
import type { FunctionTelemetry } from './switchboard-function';

export interface OperationsDashboardProps {
  api: HttpApi;
  /** The functions, by the name the dashboard shows. */
  functions: Record<string, IFunction>;
  /** The queues that carry work, by name, and their dead-letter queues. */
  queues: Record<string, { queue: IQueue; deadLetters: IQueue }>;
  /** The plans' state machines, by plan id. */
  plans: Record<string, StateMachine>;
  alerts: OperatorAlerts;
  /** Where the functions write their metrics (lambdas/domain/metrics.ts). */
  telemetry: Pick<FunctionTelemetry, 'namespace' | 'serviceName'>;
}

const FIVE_MINUTES = Duration.minutes(5);
/** The most metrics one alarm's math expression may use (CloudWatch). */
const MAX_METRICS_PER_ALARM = 10;

/**
 * True when the functions publish `name` with exactly these dimensions (and the service): its own or a
 * rollup (lambdas/domain/metrics.ts). A graph or an alarm on any other set would find nothing, so the
 * synth fails instead.
 */
function published(name: MetricName, dimensions: readonly string[]): true {
  const { dimensions: own, rollups } = METRICS[name];
  const same = (set: readonly string[]) =>
    set.length === dimensions.length && set.every((key) => dimensions.includes(key));
  if (![own, ...rollups].some(same))
    throw new Error(`the functions do not publish ${name} by [${dimensions.join(', ')}]`);
  return true;
}

/**
 * What an operator looks at, and what pages one: a CloudWatch dashboard of the API, the functions, the
 * queues and the plans' executions, and the alarms that need a person, each notifying the alert topic
 * (docs/operations.md has each alarm's runbook line).
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const { api, functions, queues, plans, alerts, telemetry } = props;
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });

    const graph = (title: string, left: IMetric[], width = 12) =>
      new GraphWidget({ title, left, width, height: 6 });
    const perFunction = (metric: (fn: IFunction, label: string) => IMetric) =>
      Object.entries(functions).map(([name, fn]) => metric(fn, name));

    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Switchboard\nAlarms and what to do: docs/operations.md. Held items, fallout and dead letters: the operator console.',
        width: 24,
        height: 2,
      }),
    );
    // Switchboard's own metrics: a total (the service alone), or one line per value of a dimension, found
    // by a search so that a system added to the catalog shows without a deploy of the dashboard.
    const total = (name: MetricName, statistic = 'Sum', label: string = name) =>
      published(name, []) &&
      new Metric({
        namespace: telemetry.namespace,
        metricName: name,
        dimensionsMap: { service: telemetry.serviceName },
        statistic,
        period: FIVE_MINUTES,
        label,
      });
    const each = (name: MetricName, dimensions: readonly string[], statistic = 'Sum', label = '') =>
      published(name, dimensions) &&
      new MathExpression({
        expression: `SEARCH('{${[telemetry.namespace, 'service', ...dimensions].join(',')}} MetricName="${name}" service="${telemetry.serviceName}"', '${statistic}', ${FIVE_MINUTES.toSeconds()})`,
        usingMetrics: {},
        period: FIVE_MINUTES,
        label,
      });
    this.dashboard.addWidgets(
      graph('Orders accepted, completed and failed', [
        total('OrdersAccepted', 'Sum', 'accepted'),
        total('OrdersCompleted', 'Sum', 'completed'),
        total('OrdersFailed', 'Sum', 'failed'),
      ]),
      graph('Callouts by system and outcome', [each('Callouts', ['system', 'outcome'])]),
    );
    this.dashboard.addWidgets(
      graph(
        'Callout latency (ms)',
        ['p50', 'p90', 'p99'].map((statistic) => total('CalloutLatency', statistic, statistic)),
        8,
      ),
      graph('Callout latency p99 by system (ms)', [each('CalloutLatency', ['system'], 'p99')], 8),
      graph(
        'Callback to completion (ms)',
        ['p50', 'p90', 'p99'].map((statistic) => total('CallbackToCompletion', statistic, statistic)),
        8,
      ),
    );
    this.dashboard.addWidgets(
      graph('Items held and released, by system', [
        each('ItemsHeld', ['system'], 'Sum'),
        each('ItemsReleased', ['system'], 'Sum'),
      ]),
      graph('Fallout entered, and resolved by action', [
        total('FalloutEntered', 'Sum', 'entered'),
        each('FalloutResolved', ['action']),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Messages redelivered and dead-lettered, by queue', [
        each('MessagesRedelivered', ['queue']),
        each('MessagesDeadLettered', ['queue']),
      ]),
      graph('Circuit-breaker trips, by system', [each('CircuitBreakerTrips', ['system'])]),
      graph('TMF622 event deliveries, by outcome', [each('EventDeliveries', ['outcome'])]),
    );
    this.dashboard.addWidgets(
      graph('API requests, 4xx and 5xx', [
        api.metricCount({ period: FIVE_MINUTES, label: 'requests' }),
        api.metricClientError({ period: FIVE_MINUTES, label: '4xx' }),
        api.metricServerError({ period: FIVE_MINUTES, label: '5xx' }),
      ]),
      graph(
        'API latency (ms)',
        ['p50', 'p90', 'p99'].map((statistic) =>
          api.metricLatency({ period: FIVE_MINUTES, statistic, label: statistic }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        perFunction((fn) => fn.metricErrors({ period: FIVE_MINUTES })),
      ),
      graph(
        'Lambda throttles',
        perFunction((fn) => fn.metricThrottles({ period: FIVE_MINUTES })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Age of the oldest message (s)',
        Object.entries(queues).map(([name, { queue }]) =>
          queue.metricApproximateAgeOfOldestMessage({
            period: FIVE_MINUTES,
            statistic: 'Maximum',
            label: name,
          }),
        ),
      ),
      graph(
        'Dead letters waiting',
        Object.entries(queues).map(([name, { deadLetters }]) =>
          deadLetters.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            statistic: 'Maximum',
            label: name,
          }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Plan executions failed',
        Object.entries(plans).map(([plan, machine]) =>
          machine.metricFailed({ period: FIVE_MINUTES, label: plan }),
        ),
      ),
      graph(
        'Plan executions timed out',
        Object.entries(plans).map(([plan, machine]) =>
          machine.metricTimedOut({ period: FIVE_MINUTES, label: plan }),
        ),
      ),
    );

    // The alarms that need a person; each one's runbook line is in docs/operations.md.
    const alarm = (alarmId: string, description: string, metric: IMetric, threshold: number, periods = 1) => {
      const created = new Alarm(this, alarmId, {
        alarmDescription: `${description} (docs/operations.md#${alarmId.toLowerCase()})`,
        metric,
        threshold,
        evaluationPeriods: periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      alerts.notify(created);
      this.alarms.push(created);
      return created;
    };
    // A queue whose oldest message waits this long, twice in a row, has a consumer that is not keeping up.
    const waiting: [queue: string, alarmId: string, seconds: number, description: string][] = [
      [
        'work',
        'WorkWaiting',
        600,
        'Work has waited more than 10 minutes in the work queue: the worker is not keeping up, or fails',
      ],
      [
        'callbacks',
        'CallbacksWaiting',
        300,
        'Callbacks have waited more than 5 minutes in the callback queue: the correlator is not applying them',
      ],
    ];
    for (const [name, alarmId, seconds, description] of waiting) {
      const queue = queues[name]?.queue;
      if (!queue) continue;
      alarm(
        alarmId,
        description,
        queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' }),
        seconds,
        2,
      );
    }
    alarm(
      'ApiServerErrors',
      'The API answered 5xx to more than 10 requests in 5 minutes',
      api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
      10,
    );
    for (const name of ['CalloutWorker', 'CallbackCorrelator']) {
      const fn = functions[name];
      if (!fn) continue;
      alarm(
        `${name}Throttled`,
        `${name} was throttled: it had not the concurrency its queue needs`,
        fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        1,
      );
      alarm(
        `${name}Failing`,
        `${name} failed whole invocations (not single messages) for 10 minutes`,
        fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        1,
        2,
      );
    }
    alarm(
      'FalloutEntered',
      'An item went into fallout: its order waits for an operator to retry it, skip it or fail the order',
      total('FalloutEntered'),
      1,
    );
    alarm(
      'CircuitBreakerTripped',
      "A system's circuit breaker took it Down after connection failures in a row; its callouts wait On Hold",
      total('CircuitBreakerTrips'),
      1,
    );
    const timedOut = Object.entries(plans).map(([planId, machine]) => ({
      planId,
      metric: machine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
    }));
    // An alarm's math may sum at most 10 metrics (CloudWatch's limit): a catalog of more plans gets an
    // alarm for each ten, the first keeping its name.
    for (let first = 0; first < timedOut.length; first += MAX_METRICS_PER_ALARM) {
      const group = timedOut.slice(first, first + MAX_METRICS_PER_ALARM);
      const part = first / MAX_METRICS_PER_ALARM;
      const which =
        timedOut.length > MAX_METRICS_PER_ALARM ? ` (plans ${group.map((g) => g.planId).join(', ')})` : '';
      alarm(
        part === 0 ? 'PlansTimedOut' : `PlansTimedOut${part + 1}`,
        `A plan's execution timed out: an order ran past its plan's timeout and its items wait for nothing${which}`,
        new MathExpression({
          expression: group.map((_, i) => `t${i}`).join(' + '),
          usingMetrics: Object.fromEntries(group.map(({ metric }, i) => [`t${i}`, metric])),
          period: FIVE_MINUTES,
        }),
        1,
      );
    }
  }
}
