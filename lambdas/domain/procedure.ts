import { z } from 'zod';
import { slug } from '../../statemachines/plan-definition';
import { MappingError } from './errors';
import { evaluateMapping } from './mapping';

/**
 * Integration procedures: a named, declarative, ordered list of steps that an auto task runs — the
 * two or three calls and a transformation that many integrations are, without a custom adapter.
 *
 * Every expression is JSONata over the procedure's scope: `input` (what the auto task's input mapping
 * gave it), `steps` (each step's output by id: an HTTP step's response body, a transform's result, a
 * set step's values) and `vars` (everything set steps have set so far). The procedure's outputs are
 * taken from `vars`.
 */

/** Names of inputs, outputs and variables: they are read in JSONata as `input.<name>`, `vars.<name>`. */
const name = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a letter or _, then letters, digits or _ (at most 63)');
const expression = z.string().min(1, 'must be a JSONata expression');

const common = {
  id: slug,
  description: z.string().optional(),
  /** JSONata; the step is skipped unless it yields true. */
  condition: expression.optional(),
};

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * A request to a system interface (its system, path, method, timeout, adapter and status), or to a path
 * of a system (with the system's auth); either way through the callout machinery: holds, limits, retry
 * rules, idempotency keys. Its output is the response body.
 */
export const httpStepSchema = z
  .object({
    ...common,
    type: z.literal('http'),
    interface: slug.optional(),
    system: slug.optional(),
    method: z.enum(HTTP_METHODS).optional(),
    path: z.string().startsWith('/').optional(),
    timeoutSeconds: z.number().int().min(1).max(900).optional(),
    /** JSONata: the JSON request body (none when absent). */
    body: expression.optional(),
  })
  .strict()
  .superRefine((step, ctx) => {
    const direct = step.system !== undefined || step.method !== undefined || step.path !== undefined;
    if (step.interface !== undefined && direct) {
      ctx.addIssue({
        code: 'custom',
        path: ['interface'],
        message: 'names either an interface, or a system with a method and a path, not both',
      });
    } else if (step.interface === undefined) {
      for (const field of ['system', 'method', 'path'] as const) {
        if (step[field] === undefined)
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: 'an http step names an interface, or a system with a method and a path',
          });
      }
    } else if (step.timeoutSeconds !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeoutSeconds'],
        message: "an interface's timeout is the interface's own",
      });
    }
  });

/** JSONata over everything so far; its output is the result. */
export const transformStepSchema = z.object({ ...common, type: z.literal('transform'), expression }).strict();

/** Sets variables (each a JSONata expression); its output is the values set. */
export const setStepSchema = z
  .object({
    ...common,
    type: z.literal('set'),
    values: z
      .record(name, expression)
      .refine((values) => Object.keys(values).length > 0, 'sets at least one variable'),
  })
  .strict();

/** Stops the procedure with a named error and a message (JSONata yielding a string). */
export const failStepSchema = z
  .object({
    ...common,
    type: z.literal('fail'),
    error: z
      .string()
      .regex(/^[A-Z][A-Za-z0-9]{0,63}$/, 'must be a name in PascalCase, such as NoSlotAvailable'),
    message: expression,
  })
  .strict();

export const STEP_TYPES = ['http', 'transform', 'set', 'fail'] as const;

export const procedureStepSchema = z.discriminatedUnion(
  'type',
  [httpStepSchema, transformStepSchema, setStepSchema, failStepSchema],
  { error: `the step type must be one of ${STEP_TYPES.join(', ')}` },
);

export const procedureSchema = z
  .object({
    id: slug,
    description: z.string().optional(),
    /** Names the input must carry (the auto task's input mapping gives them). */
    inputs: z.array(name).default([]),
    /** Names of variables the procedure hands back; each must be set by a set step. */
    outputs: z.array(name).default([]),
    steps: z.array(procedureStepSchema).min(1, 'has at least one step'),
  })
  .strict();

export type Procedure = z.infer<typeof procedureSchema>;
export type ProcedureStep = z.infer<typeof procedureStepSchema>;
export type HttpStep = z.infer<typeof httpStepSchema>;

/** Every JSONata expression of a step, by field: what synth compiles and the worker evaluates. */
export function stepExpressions(step: ProcedureStep): { field: string; expression: string }[] {
  const found: { field: string; expression: string }[] = [];
  if (step.condition !== undefined) found.push({ field: 'condition', expression: step.condition });
  if (step.type === 'http' && step.body !== undefined) found.push({ field: 'body', expression: step.body });
  if (step.type === 'transform') found.push({ field: 'expression', expression: step.expression });
  if (step.type === 'set')
    for (const [key, value] of Object.entries(step.values))
      found.push({ field: `values.${key}`, expression: value });
  if (step.type === 'fail') found.push({ field: 'message', expression: step.message });
  return found;
}

/** Where a procedure is: the step to run next, what each step gave, and the variables set. Kept on the item. */
export interface ProcedureProgress {
  /** Index of the next step to run; steps before it never run again. */
  next: number;
  steps: Record<string, unknown>;
  vars: Record<string, unknown>;
  /** One line per step run (or skipped), for the item's timeline and the preview. */
  trace: StepTrace[];
}

/** What of a procedure's progress its item's state keeps: its trace is in the item's log. */
export type ProcedureState = Omit<ProcedureProgress, 'trace'>;

export interface StepTrace {
  step: string;
  type: ProcedureStep['type'];
  skipped?: true;
  /** What the step sent (an HTTP step's request) or evaluated over. */
  input?: unknown;
  output?: unknown;
  startedAt: string;
  ms: number;
}

/**
 * A procedure's HTTP step the item waits on for a callback: the procedure, the step and its place in it
 * (the progress's `next`, which the worker keeps before it sends an asynchronous step).
 */
export interface StepRef {
  procedure: string;
  id: string;
  index: number;
}

/**
 * The largest output a procedure's HTTP step may give: the procedure keeps what each step gave in its
 * item's state, for the steps after it, and that state stays small. (A callout's answer goes to the
 * item's log, which keeps a cut copy of anything larger than it can hold.)
 */
export const MAX_STEP_OUTPUT_BYTES = 32 * 1024;

/** What an HTTP step's callout came to, as the callout machinery reports it. */
export type HttpOutcome =
  | { kind: 'answered'; body: unknown; request: unknown }
  /** Not done now (held, throttled, failed and to be retried): the procedure stops here and resumes at this step. */
  | { kind: 'suspended' };

export type ProcedureResult =
  | { kind: 'completed'; outputs: Record<string, unknown>; progress: ProcedureProgress }
  | { kind: 'suspended'; progress: ProcedureProgress; step: HttpStep }
  | { kind: 'failed'; error: string; message: string; step: string; progress: ProcedureProgress };

export function startProgress(): ProcedureProgress {
  return { next: 0, steps: {}, vars: {}, trace: [] };
}

/**
 * Runs a procedure from where its progress says, until it completes, fails, or an HTTP step is not
 * done now. `performHttp` is the callout machinery: it is called with the step, the request body and the
 * progress as it stands at the step (for it to keep before it sends), and says whether the step was
 * answered. `onStep` hears of each step as it ends, so that progress can
 * be kept after every step. A step that throws a MappingError fails the procedure with its name.
 */
export async function runProcedure(
  procedure: Procedure,
  input: Record<string, unknown>,
  from: ProcedureProgress,
  performHttp: (step: HttpStep, body: unknown, progress: Readonly<ProcedureProgress>) => Promise<HttpOutcome>,
  options: {
    now?: () => Date;
    onStep?: (progress: ProcedureProgress) => Promise<void>;
    /**
     * More names an HTTP step's body sees, asked for once its condition holds: an asynchronous step's
     * `callback.url`, which the system may want in the body.
     */
    httpScope?: (step: HttpStep) => Promise<Record<string, unknown>>;
  } = {},
): Promise<ProcedureResult> {
  const now = options.now ?? (() => new Date());
  const progress: ProcedureProgress = structuredClone(from);
  const missing = procedure.inputs.filter((key) => input[key] === undefined);
  if (missing.length > 0) {
    return {
      kind: 'failed',
      error: 'MissingInput',
      message: `procedure "${procedure.id}" needs the input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      step: procedure.steps[0]?.id ?? '',
      progress,
    };
  }
  for (; progress.next < procedure.steps.length; ) {
    const step = procedure.steps[progress.next] as ProcedureStep;
    const scope = { input, steps: progress.steps, vars: progress.vars };
    // Errors name the expression as `<procedure>.<step>.<field>`.
    const where = (field: string) => `${procedure.id}.${step.id}.${field}`;
    const startedAt = now();
    const record = async (entry: Omit<StepTrace, 'step' | 'type' | 'startedAt' | 'ms'>) => {
      progress.trace.push({
        step: step.id,
        type: step.type,
        ...entry,
        startedAt: startedAt.toISOString(),
        ms: now().getTime() - startedAt.getTime(),
      });
      progress.next++;
      await options.onStep?.(progress);
    };
    try {
      if (step.condition !== undefined && !(await holds(where('condition'), step.condition, scope))) {
        await record({ skipped: true });
        continue;
      }
      switch (step.type) {
        case 'http': {
          const extra = (await options.httpScope?.(step)) ?? {};
          const body =
            step.body === undefined
              ? undefined
              : await evaluateMapping(where('body'), step.body, { ...extra, ...scope });
          const outcome = await performHttp(step, body, progress);
          if (outcome.kind === 'suspended') return { kind: 'suspended', progress, step };
          progress.steps[step.id] = outcome.body;
          await record({ input: outcome.request, output: outcome.body });
          break;
        }
        case 'transform': {
          const result = await evaluateMapping(where('expression'), step.expression, scope);
          progress.steps[step.id] = result;
          await record({ output: result });
          break;
        }
        case 'set': {
          const values: Record<string, unknown> = {};
          for (const [key, value] of Object.entries(step.values))
            values[key] = await evaluateMapping(where(`values.${key}`), value, scope);
          Object.assign(progress.vars, values);
          progress.steps[step.id] = values;
          await record({ output: values });
          break;
        }
        case 'fail': {
          const message = await evaluateMapping(where('message'), step.message, scope);
          const text = typeof message === 'string' ? message : JSON.stringify(message);
          await record({ output: { error: step.error, message: text } });
          return { kind: 'failed', error: step.error, message: text, step: step.id, progress };
        }
      }
    } catch (error) {
      if (!(error instanceof MappingError)) throw error;
      return { kind: 'failed', error: 'MappingError', message: error.message, step: step.id, progress };
    }
  }
  const outputs: Record<string, unknown> = {};
  for (const key of procedure.outputs) {
    if (progress.vars[key] === undefined)
      return {
        kind: 'failed',
        error: 'MissingOutput',
        message: `procedure "${procedure.id}" ended without setting its output "${key}"`,
        step: procedure.steps.at(-1)?.id ?? '',
        progress,
      };
    outputs[key] = progress.vars[key];
  }
  return { kind: 'completed', outputs, progress };
}

/** A condition holds when it yields true; no value (a path to nothing) is false. */
async function holds(name: string, condition: string, scope: unknown): Promise<boolean> {
  try {
    return (await evaluateMapping(name, condition, scope)) === true;
  } catch (error) {
    if (error instanceof MappingError && error.message.endsWith('produced no value')) return false;
    throw error;
  }
}
