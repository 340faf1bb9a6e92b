import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import type { LocalAsyncInvocations } from './async-invocations';
import { AwsServiceError, closeServer, readBody } from './aws-json-server';
import { writeFileDurably } from './durable-file';
import { freePort, listen } from './free-port';
import { jsonProblem } from './json-problem';
import { LongTimeout, type TimerBase } from './long-timers';

export interface LocalSchedulerOptions {
  /** Where schedules.json keeps the schedules across restarts. */
  dataDir: string;
  log: (line: string) => void;
  /** The clock schedules come due by; Date.now unless a test sets it. */
  now?: () => number;
  region?: string;
  accountId?: string;
}

const NAME_PATTERN = /^[0-9a-zA-Z_.-]+$/;

/** A string member with the constraint messages EventBridge Scheduler gives. */
const text = (min: number, max: number) =>
  z
    .string()
    .min(min, `Member must have length greater than or equal to ${min}`)
    .max(max, `Member must have length less than or equal to ${max}`);
const name = text(1, 64).regex(
  NAME_PATTERN,
  'Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+',
);
const state = z.enum(['ENABLED', 'DISABLED']);
const actionAfterCompletion = z.enum(['NONE', 'DELETE']);
const flexibleTimeWindow = z.object({
  Mode: z.enum(['OFF', 'FLEXIBLE']),
  MaximumWindowInMinutes: z.number().int().min(1).max(1440).optional(),
});
// The target's other members (RetryPolicy, ...) are kept and answered back as given.
const target = z.looseObject({
  Arn: text(1, 1600),
  RoleArn: text(1, 1600),
  Input: text(1, 8192).optional(),
  DeadLetterConfig: z.object({ Arn: text(1, 1600).optional() }).optional(),
});

const createScheduleInput = z.object({
  Name: name,
  GroupName: name.optional(),
  ScheduleExpression: text(1, 256),
  ScheduleExpressionTimezone: text(1, 50).optional(),
  FlexibleTimeWindow: flexibleTimeWindow,
  Target: target,
  ActionAfterCompletion: actionAfterCompletion.optional(),
  State: state.optional(),
  Description: text(0, 512).optional(),
  ClientToken: text(1, 64)
    .regex(/^[a-zA-Z0-9_-]+$/, 'Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+')
    .optional(),
  KmsKeyArn: text(1, 2048).optional(),
  StartDate: z.number().optional(),
  EndDate: z.number().optional(),
});

/** GetSchedule's answer; dates in epoch seconds, as REST-JSON carries timestamps. */
const scheduleDescription = createScheduleInput.omit({ ClientToken: true }).extend({
  Arn: z.string(),
  GroupName: z.string(),
  State: state,
  ActionAfterCompletion: actionAfterCompletion,
  CreationDate: z.number(),
  LastModificationDate: z.number(),
});

const storedSchedule = z.object({
  description: scheduleDescription,
  /** Epoch milliseconds at which the at() expression comes due. */
  dueAt: z.number(),
  /** A one-time schedule kept after its invocation (ActionAfterCompletion NONE) never fires again. */
  fired: z.boolean(),
  clientToken: z.string().optional(),
});
const schedulesFile = z.object({ schedules: z.array(storedSchedule) });

type StoredSchedule = z.infer<typeof storedSchedule>;

/** The client's REST bindings (method and path), for the operations this endpoint answers or names. */
const ROUTES: { method: string; path: RegExp; operation: string }[] = [
  { method: 'POST', path: /^\/schedules\/([^/]+)$/, operation: 'CreateSchedule' },
  { method: 'GET', path: /^\/schedules\/([^/]+)$/, operation: 'GetSchedule' },
  { method: 'DELETE', path: /^\/schedules\/([^/]+)$/, operation: 'DeleteSchedule' },
  { method: 'GET', path: /^\/schedules$/, operation: 'ListSchedules' },
  { method: 'PUT', path: /^\/schedules\/([^/]+)$/, operation: 'UpdateSchedule' },
  { method: 'POST', path: /^\/schedule-groups\/([^/]+)$/, operation: 'CreateScheduleGroup' },
  { method: 'GET', path: /^\/schedule-groups\/([^/]+)$/, operation: 'GetScheduleGroup' },
  { method: 'DELETE', path: /^\/schedule-groups\/([^/]+)$/, operation: 'DeleteScheduleGroup' },
  { method: 'GET', path: /^\/schedule-groups$/, operation: 'ListScheduleGroups' },
  { method: 'GET', path: /^\/tags\/([^/]+)$/, operation: 'ListTagsForResource' },
  { method: 'POST', path: /^\/tags\/([^/]+)$/, operation: 'TagResource' },
  { method: 'DELETE', path: /^\/tags\/([^/]+)$/, operation: 'UntagResource' },
];

/**
 * An EventBridge Scheduler endpoint on loopback (REST-JSON) for one-time at() schedules whose targets are
 * the runtime's Lambda functions. A due schedule invokes its target once, asynchronously, then is deleted
 * or kept as ActionAfterCompletion says. Schedules live in the data folder's schedules.json, so a restart
 * re-arms them, and those that came due while the runtime was stopped fire as it starts.
 */
export class LocalScheduler {
  private server?: Server;
  private readonly schedules = new Map<string, StoredSchedule>();
  private readonly timers = new Map<string, LongTimeout>();
  private readonly file: string;
  private readonly now: () => number;
  private readonly timerBase: TimerBase;
  private stopped = false;
  endpoint = '';
  /** Target invocations made, for the benchmark's cost model. */
  invocations = 0;

  constructor(
    private readonly targets: Pick<LocalAsyncInvocations, 'invokeToTheEnd' | 'deadLetter'>,
    private readonly options: LocalSchedulerOptions,
  ) {
    this.file = join(options.dataDir, 'schedules.json');
    this.now = options.now ?? Date.now;
    this.timerBase = {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle),
      now: this.now,
    };
  }

  async start(): Promise<void> {
    this.load();
    const port = await freePort();
    this.server = createServer((req, res) => {
      this.answer(req).then(
        (body) => reply(res, 200, body),
        (error: Error) =>
          error instanceof AwsServiceError
            ? reply(res, error.status, { Message: error.message }, error.code)
            : reply(res, 500, { Message: error.message }, 'InternalServerException'),
      );
    });
    await listen(this.server, port);
    this.endpoint = `http://127.0.0.1:${port}`;
    for (const schedule of this.schedules.values()) this.arm(schedule);
  }

  /** Closes the endpoint and clears every timer; invocations under way are left to finish on their own. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) timer.clear();
    this.timers.clear();
    if (this.server) await closeServer(this.server);
  }

  private async answer(req: IncomingMessage): Promise<unknown> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = ROUTES.find((r) => r.method === req.method && r.path.test(url.pathname));
    if (!route) {
      throw new AwsServiceError(
        'UnknownOperationException',
        `no EventBridge Scheduler operation is ${req.method} ${url.pathname}`,
        404,
      );
    }
    const label = route.path.exec(url.pathname)?.[1];
    const query = url.searchParams;
    switch (route.operation) {
      case 'CreateSchedule':
        return this.createSchedule(decodeLabel(label), await readJsonBody(req));
      case 'GetSchedule':
        return this.find(decodeLabel(label), query.get('groupName')).description;
      case 'DeleteSchedule':
        return this.deleteSchedule(decodeLabel(label), query.get('groupName'));
      case 'ListSchedules':
        return this.listSchedules(query);
      default:
        throw new AwsServiceError(
          'UnknownOperationException',
          `the local EventBridge Scheduler does not implement ${route.operation}`,
        );
    }
  }

  private createSchedule(scheduleName: string, body: Record<string, unknown>) {
    const input = parse(createScheduleInput, { ...body, Name: scheduleName });
    const groupName = input.GroupName ?? 'default';
    const existing = this.schedules.get(key(groupName, input.Name));
    // The SDK sends one ClientToken per call and reuses it when it retries that call.
    if (existing && input.ClientToken && existing.clientToken === input.ClientToken)
      return { ScheduleArn: existing.description.Arn };
    if (existing)
      throw new AwsServiceError('ConflictException', `Schedule ${input.Name} already exists.`, 409);
    if (
      input.FlexibleTimeWindow.Mode === 'FLEXIBLE' &&
      input.FlexibleTimeWindow.MaximumWindowInMinutes === undefined
    )
      throw validation('FlexibleTimeWindow.MaximumWindowInMinutes is required when Mode is FLEXIBLE.');
    const dueAt = dueTime(input.ScheduleExpression, input.ScheduleExpressionTimezone ?? 'UTC');
    const { ClientToken, ...fields } = input;
    const now = this.now() / 1000;
    const schedule: StoredSchedule = {
      description: {
        ...fields,
        Arn: `arn:aws:scheduler:${this.options.region ?? 'us-east-1'}:${this.options.accountId ?? '000000000000'}:schedule/${groupName}/${input.Name}`,
        GroupName: groupName,
        State: input.State ?? 'ENABLED',
        ActionAfterCompletion: input.ActionAfterCompletion ?? 'NONE',
        CreationDate: now,
        LastModificationDate: now,
      },
      dueAt,
      fired: false,
      clientToken: ClientToken,
    };
    this.schedules.set(key(groupName, input.Name), schedule);
    this.save();
    this.arm(schedule);
    return { ScheduleArn: schedule.description.Arn };
  }

  private deleteSchedule(scheduleName: string, groupName: string | null) {
    const { description } = this.find(scheduleName, groupName);
    const k = key(description.GroupName, description.Name);
    this.timers.get(k)?.clear();
    this.timers.delete(k);
    this.schedules.delete(k);
    this.save();
    return {};
  }

  private listSchedules(query: URLSearchParams) {
    const groupName = optionalParameter(query, 'ScheduleGroup', name);
    const prefix = optionalParameter(query, 'NamePrefix', name);
    const wanted = optionalParameter(query, 'State', state);
    const maxResults = optionalParameter(query, 'MaxResults', z.coerce.number().int().min(1).max(100));
    const nextToken = optionalParameter(query, 'NextToken', text(1, 2048));
    const from = nextToken === undefined ? 0 : Number.parseInt(nextToken, 10);
    if (!Number.isSafeInteger(from) || from < 0) throw validation('The NextToken is not valid.');
    const matching = [...this.schedules.values()]
      .map((s) => s.description)
      .filter(
        (d) =>
          (groupName === undefined || d.GroupName === groupName) &&
          (prefix === undefined || d.Name.startsWith(prefix)) &&
          (wanted === undefined || d.State === wanted),
      )
      .sort((a, b) => key(a.GroupName, a.Name).localeCompare(key(b.GroupName, b.Name)));
    const to = maxResults === undefined ? matching.length : from + maxResults;
    return {
      Schedules: matching.slice(from, to).map((d) => ({
        Arn: d.Arn,
        Name: d.Name,
        GroupName: d.GroupName,
        State: d.State,
        CreationDate: d.CreationDate,
        LastModificationDate: d.LastModificationDate,
        Target: { Arn: d.Target.Arn },
      })),
      ...(to < matching.length ? { NextToken: String(to) } : {}),
    };
  }

  private find(scheduleName: string, groupName: string | null): StoredSchedule {
    parse(z.object({ Name: name, GroupName: name }), {
      Name: scheduleName,
      GroupName: groupName ?? 'default',
    });
    const schedule = this.schedules.get(key(groupName ?? 'default', scheduleName));
    if (!schedule)
      throw new AwsServiceError('ResourceNotFoundException', `Schedule ${scheduleName} does not exist.`, 404);
    return schedule;
  }

  private arm(schedule: StoredSchedule): void {
    if (this.stopped || schedule.fired || schedule.description.State !== 'ENABLED') return;
    const k = key(schedule.description.GroupName, schedule.description.Name);
    const delay = Math.max(0, schedule.dueAt - this.now());
    this.timers.set(k, new LongTimeout(this.timerBase, () => this.fire(schedule), delay, []).unref());
  }

  private fire(schedule: StoredSchedule): void {
    const { GroupName, Name, Target, ActionAfterCompletion } = schedule.description;
    const k = key(GroupName, Name);
    this.timers.delete(k);
    if (this.stopped || this.schedules.get(k) !== schedule) return;
    this.invocations++;
    this.options.log(`[scheduler] ${Name} → ${Target.Arn}`);
    // Recorded as fired once the invocation has ended, so that a runtime killed before that fires it
    // again at its next start: at least once, as Scheduler delivers, and the target is idempotent.
    const fired = () => {
      if (this.schedules.get(k) !== schedule) return;
      if (ActionAfterCompletion === 'DELETE') this.schedules.delete(k);
      else schedule.fired = true;
      try {
        this.save();
      } catch (error) {
        this.options.log(`[scheduler] ${Name}: could not save ${this.file}: ${(error as Error).message}`);
      }
    };
    // Invoked asynchronously, as Scheduler invokes a function: its failures are the function's (its
    // retries and on-failure destination). One that cannot be made goes to the schedule's dead-letter
    // queue, where it has one.
    this.targets.invokeToTheEnd(Target.Arn, JSON.parse(Target.Input ?? '{}')).then(
      (end) => {
        if (end === 'done') fired();
      },
      async (error: Error) => {
        this.options.log(`[scheduler] ${Name} → ${Target.Arn} failed: ${error.message}`);
        const deadLetterArn = Target.DeadLetterConfig?.Arn;
        if (deadLetterArn) {
          const { region = 'us-east-1', accountId = '000000000000' } = this.options;
          await this.targets.deadLetter(deadLetterArn, Target.Input ?? '{}', {
            ERROR_CODE: 'ResourceNotFoundException',
            ERROR_MESSAGE: error.message,
            SCHEDULE_ARN: `arn:aws:scheduler:${region}:${accountId}:schedule/${schedule.description.GroupName ?? 'default'}/${Name}`,
            TARGET_ARN: Target.Arn,
          });
        }
        fired();
      },
    );
  }

  private load(): void {
    if (!existsSync(this.file)) return;
    const raw = readFileSync(this.file, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      throw new Error(`${this.file}: ${jsonProblem(raw, error)}`);
    }
    const parsed = schedulesFile.safeParse(json);
    if (!parsed.success) throw new Error(`${this.file}: ${z.prettifyError(parsed.error)}`);
    for (const schedule of parsed.data.schedules)
      this.schedules.set(key(schedule.description.GroupName, schedule.description.Name), schedule);
  }

  private save(): void {
    mkdirSync(this.options.dataDir, { recursive: true });
    writeFileDurably(this.file, `${JSON.stringify({ schedules: [...this.schedules.values()] }, null, 2)}\n`);
  }
}

const key = (groupName: string, scheduleName: string) => `${groupName}/${scheduleName}`;

function reply(res: ServerResponse, status: number, body: unknown, errorType?: string) {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}

function validation(message: string): AwsServiceError {
  return new AwsServiceError('ValidationException', message, 400);
}

/** Parses with the schema, or throws a ValidationException that names each failing member. */
function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input, {
    error: (issue) =>
      issue.code === 'invalid_type' && issue.input === undefined ? 'Member must not be null' : undefined,
  });
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `Value at '${issue.path.join('.')}' failed to satisfy constraint: ${issue.message}`,
  );
  throw validation(
    `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ${problems.join('; ')}`,
  );
}

/** A query parameter checked against its schema; undefined when absent. */
function optionalParameter<T extends z.ZodType>(
  query: URLSearchParams,
  parameter: string,
  schema: T,
): z.infer<T> | undefined {
  const value = query.get(parameter);
  if (value === null) return undefined;
  const parsed = parse(z.object({ [parameter]: schema }), { [parameter]: value }) as Record<
    string,
    z.infer<T>
  >;
  return parsed[parameter];
}

function decodeLabel(label: string | undefined): string {
  try {
    return decodeURIComponent(label ?? '');
  } catch {
    throw validation('The schedule name in the path is not valid percent-encoding.');
  }
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  if (raw.trim() === '') return {};
  try {
    const body: unknown = JSON.parse(raw);
    if (body !== null && typeof body === 'object' && !Array.isArray(body))
      return body as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new AwsServiceError('SerializationException', 'The request body is not a JSON object.');
}

const AT_EXPRESSION = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;
const DAY_MS = 24 * 3600 * 1000;

/** The instant (epoch ms) an at() expression names, read as wall-clock time in the given IANA time zone. */
export function dueTime(expression: string, timeZone: string): number {
  if (/^(rate|cron)\(/.test(expression))
    throw validation(`${expression}: the local scheduler supports one-time at() schedules only.`);
  const match = AT_EXPRESSION.exec(expression);
  if (!match) throw validation(`Invalid Schedule Expression ${expression}.`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(wall);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    throw validation(`Invalid Schedule Expression ${expression}: no such date and time.`);
  if (timeZone === 'UTC') return wall;
  const wallClockAt = wallClock(timeZone);
  // The zone's offset a day either side of the wall time covers any daylight saving change near it.
  const instants = new Set(
    [-DAY_MS, 0, DAY_MS]
      .map((shift) => wall - (wallClockAt(wall + shift) - (wall + shift)))
      .filter((instant) => wallClockAt(instant) === wall),
  );
  const [instant] = instants;
  if (instants.size !== 1 || instant === undefined) {
    throw validation(
      `${expression} ${instants.size === 0 ? 'does not exist' : 'occurs twice'} in ${timeZone} (a daylight saving change); the local scheduler cannot tell which instant EventBridge Scheduler would use.`,
    );
  }
  return instant;
}

/** The wall-clock time in an IANA time zone at an instant, as epoch ms of that wall time read as UTC. */
function wallClock(timeZone: string): (instant: number) => number {
  let format: Intl.DateTimeFormat;
  try {
    // Intl also takes offsets such as +05:00; ScheduleExpressionTimezone takes zone names only.
    if (!/^[A-Za-z]/.test(timeZone)) throw new RangeError(timeZone);
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw validation(`Invalid ScheduleExpressionTimezone ${timeZone}.`);
  }
  return (instant) => {
    const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
    return Date.UTC(
      parts.year ?? 0,
      (parts.month ?? 1) - 1,
      parts.day,
      parts.hour,
      parts.minute,
      parts.second,
    );
  };
}
