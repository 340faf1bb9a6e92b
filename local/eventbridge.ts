import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LocalAsyncInvocations } from './async-invocations';
import { AwsServiceError, closeServer, startAwsJsonServer } from './aws-json-server';
import type { LocalDeployment } from './cloud-assembly';
import { freePort } from './free-port';

interface Rule {
  name: string;
  busName: string;
  targets: { arn: string; input?: string; deadLetterArn?: string }[];
}

/** One entry of PutEvents. */
interface EventEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
}

interface PatternRule extends Rule {
  pattern: Record<string, unknown>;
}

interface ScheduleRule extends Rule {
  everyMs: number;
}

/** A schedule rule's `rate(<n> <unit>)` in milliseconds; `cron(...)` is not run locally. */
function rateMs(expression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!rate) return undefined;
  const unit = rate[2]?.startsWith('minute') ? 60_000 : rate[2]?.startsWith('hour') ? 3_600_000 : 86_400_000;
  return Number(rate[1]) * unit;
}

/**
 * An EventBridge endpoint on loopback: PutEvents on the template's buses, delivered to the targets of the
 * template's rules whose pattern matches (Lambda functions invoked asynchronously, SQS queues).
 * Patterns support what Switchboard uses: exact values, `prefix`, `anything-but` and `exists`. Schedule
 * rules (`rate(...)`) send their "Scheduled Event" on a timer, and at once when asked (`runSchedules`).
 */
export class LocalEventBridge {
  private server?: Server;
  private readonly rules: PatternRule[] = [];
  private readonly schedules: ScheduleRule[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly buses = new Set(['default']);
  endpoint = '';
  /** Events accepted, for the benchmark's cost model. */
  eventsPut = 0;

  constructor(
    private readonly deployment: LocalDeployment,
    private readonly invocations: LocalAsyncInvocations,
    private readonly sqs: SQSClient,
    private readonly log: (line: string) => void,
  ) {
    for (const bus of deployment.ofType('AWS::Events::EventBus')) this.buses.add(bus.physicalName);
    for (const rule of deployment.ofType('AWS::Events::Rule')) {
      const p = deployment.resolve(rule.properties, rule.stackName) as {
        EventBusName?: string;
        EventPattern?: Record<string, unknown>;
        ScheduleExpression?: string;
        State?: string;
        Targets?: { Arn: string; Input?: string; DeadLetterConfig?: { Arn?: string } }[];
      };
      if (p.State === 'DISABLED') continue;
      const base: Rule = {
        name: rule.physicalName,
        busName: p.EventBusName ?? 'default',
        targets: (p.Targets ?? []).map((t) => ({
          arn: t.Arn,
          ...(t.Input ? { input: t.Input } : {}),
          ...(t.DeadLetterConfig?.Arn ? { deadLetterArn: t.DeadLetterConfig.Arn } : {}),
        })),
      };
      if (p.EventPattern) this.rules.push({ ...base, pattern: p.EventPattern });
      const everyMs = p.ScheduleExpression ? rateMs(p.ScheduleExpression) : undefined;
      if (everyMs !== undefined) this.schedules.push({ ...base, everyMs });
      else if (p.ScheduleExpression)
        log(`[eventbridge] rule ${rule.physicalName}: ${p.ScheduleExpression} is not run locally`);
    }
  }

  /** Sends every schedule rule's "Scheduled Event" now, as its timer would. */
  runSchedules(): void {
    for (const rule of this.schedules) this.fire(rule);
  }

  private fire(rule: ScheduleRule): void {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.deployment.env.accountId,
      time: new Date().toISOString(),
      region: this.deployment.env.region,
      resources: [this.ruleArn(rule)],
      detail: {},
    };
    for (const target of rule.targets) this.deliver(rule, target, event);
  }

  /**
   * Puts an event an AWS service announces on the default bus (Step Functions' execution status
   * changes), as if that service had sent it.
   */
  announce(source: string, detailType: string, detail: unknown, resources: string[]): void {
    this.putEvents([
      { Source: source, DetailType: detailType, Detail: JSON.stringify(detail), Resources: resources },
    ]);
  }

  async start(): Promise<void> {
    this.server = await startAwsJsonServer(await freePort(), (operation, input) => {
      if (operation !== 'PutEvents') {
        throw new AwsServiceError(
          'UnknownOperationException',
          `the local EventBridge does not implement ${operation}`,
        );
      }
      return this.putEvents((input.Entries ?? []) as EventEntry[]);
    });
    const address = this.server.address();
    this.endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    for (const rule of this.schedules) {
      const timer = setInterval(() => this.fire(rule), rule.everyMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  private putEvents(entries: EventEntry[]) {
    const results = entries.map((entry) => {
      const busName = (entry.EventBusName ?? 'default').split('/').pop() ?? 'default';
      if (!this.buses.has(busName))
        return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `no bus ${busName}` };
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail ?? '{}');
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not JSON' };
      }
      const event = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: this.deployment.env.accountId,
        time: new Date().toISOString(),
        region: this.deployment.env.region,
        resources: entry.Resources ?? [],
        detail,
      };
      this.eventsPut++;
      for (const rule of this.rules) {
        if (rule.busName.split('/').pop() !== busName || !matches(rule.pattern, event)) continue;
        for (const target of rule.targets) this.deliver(rule, target, event);
      }
      return { EventId: event.id };
    });
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  private deliver(rule: Rule, target: Rule['targets'][number], event: unknown): void {
    const payload = target.input ? JSON.parse(target.input) : event;
    const delivery = target.arn.startsWith('arn:aws:sqs:')
      ? this.sqs.send(
          new SendMessageCommand({
            QueueUrl: this.queueUrl(target.arn),
            MessageBody: JSON.stringify(payload),
          }),
        )
      : // Invoked asynchronously, as EventBridge invokes a function: its failures are the function's
        // (its retries and on-failure destination); only an invocation that cannot be made fails here.
        this.invocations.invoke(target.arn, payload);
    // The caller of PutEvents does not wait for the target. What cannot be delivered goes to the
    // target's dead-letter queue, where it has one.
    void delivery.catch(async (error: Error) => {
      this.log(`[eventbridge] rule ${rule.name} → ${target.arn} failed: ${error.message}`);
      if (!target.deadLetterArn) return;
      await this.invocations.deadLetter(target.deadLetterArn, JSON.stringify(payload), {
        ERROR_CODE: 'SDK_CLIENT_ERROR',
        ERROR_MESSAGE: error.message,
        RULE_ARN: this.ruleArn(rule),
        TARGET_ARN: target.arn,
      });
    });
  }

  private queueUrl(arn: string): string {
    return this.invocations.queueUrl(arn);
  }

  private ruleArn(rule: Rule): string {
    const { region, accountId } = this.deployment.env;
    return `arn:aws:events:${region}:${accountId}:rule/${rule.busName}/${rule.name}`;
  }

  /**
   * Stops taking events. Deliveries under way are not waited for: a Lambda target may run for up to 15
   * minutes (a release paced to a slow system), and the Lambda host's own stop ends it.
   */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    if (this.server) await closeServer(this.server);
  }
}

/** EventBridge pattern matching for the operators Switchboard's rules use. */
export function matches(pattern: Record<string, unknown>, event: unknown): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual =
      event !== null && typeof event === 'object' ? (event as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(expected)) {
      const values = Array.isArray(actual) ? actual : [actual];
      return expected.some((condition) =>
        values.some((value) => matchesCondition(condition, value, actual !== undefined)),
      );
    }
    if (expected !== null && typeof expected === 'object')
      return matches(expected as Record<string, unknown>, actual);
    return false;
  });
}

function matchesCondition(condition: unknown, value: unknown, present: boolean): boolean {
  if (condition === null || typeof condition !== 'object') return present && condition === value;
  const c = condition as Record<string, unknown>;
  if ('exists' in c) return c.exists === present;
  if ('prefix' in c) return typeof value === 'string' && value.startsWith(String(c.prefix));
  if ('anything-but' in c) {
    const excluded = Array.isArray(c['anything-but']) ? c['anything-but'] : [c['anything-but']];
    return present && !excluded.includes(value);
  }
  throw new Error(`the local EventBridge does not support the pattern ${JSON.stringify(condition)}`);
}
