import type { PlanItem } from '../../statemachines/plan-definition';
import { scrubJson, scrubSecrets } from '../domain/authenticator';
import { unavailability } from '../domain/availability';
import { idempotencyKey, type MappingInput, mappingInput } from '../domain/callout';
import type { LifecycleEvent } from '../domain/item-decisions';
import { tracedSteps } from '../domain/item-log';
import { evaluateAttributeMapping } from '../domain/mapping';
import type { CalloutRequestRecord, ItemRecord } from '../domain/orchestration';
import {
  type HttpOutcome,
  type HttpStep,
  type Procedure,
  runProcedure,
  startProgress,
} from '../domain/procedure';
import { pathInterface, stepRequest } from '../domain/procedure-request';
import type { CalloutFailure } from '../domain/retry-rules';
import type { OrderAggregate } from '../ports/order-store';
import { giveBack, holdOf, stepTarget, takeSlot, type Wake } from './callout-admission';
import { type CalloutOutcome, describe, exchange, parseIfJson, retryAfterOf } from './callout-exchange';
import { drive, type Scene } from './item-driver';
import type { RunItemDeps } from './run-item-deps';

/**
 * The default auto task: an integration procedure run step by step, each HTTP step through the callout
 * machinery.
 */

/**
 * The default auto task: runs the item's integration procedure from where its kept progress says, the
 * input mapping giving its input and the output mapping turning its outputs into attributes. Progress
 * is kept after every step, so a procedure resumed after a hold, a retry or a lost worker runs no
 * step that already succeeded.
 */
export async function runProcedureItem(
  deps: RunItemDeps,
  aggregate: OrderAggregate,
  item: ItemRecord,
  planItem: PlanItem,
  deliveryId: string,
  wake: Wake | undefined,
): Promise<CalloutOutcome> {
  const procedure = deps.catalog.procedures?.[planItem.procedure ?? ''];
  if (!procedure) return { error: `procedure "${planItem.procedure}" is not in the catalog` };
  const scope = mappingInput(aggregate.order, item, aggregate.context, aggregate.items.values());
  const input = planItem.input
    ? await mapAttributes(`${item.planItemId}.input`, planItem.input, scope)
    : { attributes: {} };
  if (!input.attributes) return input;
  // Progress is kept after each HTTP step, with the trace of the steps since: the others are cheap to
  // run again, so a procedure resumed after a lost worker runs them again but never resends a request.
  let kept = 0;
  const result = await runProcedure(
    procedure,
    input.attributes,
    item.procedure ? { ...item.procedure, trace: [] } : startProgress(),
    (step, body) => procedureStep(deps, item, procedure, step, body, deliveryId, wake),
    {
      now: deps.now,
      onStep: async (progress) => {
        if (progress.trace.at(-1)?.type !== 'http') return;
        await deps.store.saveProcedureProgress(
          item.orderId,
          item.key,
          deliveryId,
          { ...progress, trace: progress.trace.slice(kept) },
          deps.now().toISOString(),
        );
        kept = progress.trace.length;
      },
    },
  );
  if (result.kind === 'suspended') return { suspended: true };
  // What ran since the last kept progress is kept with the item's outcome.
  const steps = tracedSteps(result.progress, kept);
  if (result.kind === 'failed')
    return {
      error: `procedure "${procedure.id}" step "${result.step}": ${result.error}: ${result.message}`,
      steps,
    };
  const outcome = planItem.output
    ? await mapAttributes(`${item.planItemId}.output`, planItem.output, { ...scope, output: result.outputs })
    : { attributes: result.outputs };
  return { ...outcome, steps };
}

/** An auto task's mapping to an object of attributes, or the error it failed with (never a throw). */
export async function mapAttributes(
  name: string,
  expression: string,
  input: MappingInput | Record<string, unknown>,
): Promise<
  { attributes: Record<string, unknown>; error?: undefined } | { attributes?: undefined; error: string }
> {
  try {
    return { attributes: await evaluateAttributeMapping(name, expression, input) };
  } catch (error) {
    return { error: describe(error) };
  }
}

/**
 * One HTTP step of a procedure through the callout machinery: held while its system is Down or its
 * interface Offline, a connection slot and a turn under the rate, the system's auth, an idempotency
 * key that is the same for every attempt of the step, and on failure the retry rules of its system
 * and interface. Anything but an answer leaves the item where it waits and suspends the procedure.
 */
async function procedureStep(
  deps: RunItemDeps,
  item: ItemRecord,
  procedure: Procedure,
  step: HttpStep,
  body: unknown,
  deliveryId: string,
  wake: Wake | undefined,
): Promise<HttpOutcome> {
  const running = { ...item, state: 'Running' as const };
  // What this step came to that the item must wait on: decided and written as for any callout.
  const suspend = async (event: LifecycleEvent, scene: Scene = {}): Promise<HttpOutcome> => {
    await drive(deps, { item: running, now: deps.now() }, event, scene);
    return { kind: 'suspended' };
  };
  const target =
    step.interface !== undefined
      ? await deps.config.calloutTarget(step.interface, deps.catalog.interfaces[step.interface]?.system)
      : await stepTarget(deps, step.system ?? '', pathInterface(procedure, step));
  if (!target) {
    const error = `procedure "${procedure.id}" step "${step.id}": its system or interface is not configured (is the catalog seeded?)`;
    return suspend({ kind: 'answered', deliveryId, outcome: { error } });
  }
  const unavailable = unavailability(target);
  if (unavailable)
    return suspend({ kind: 'held', deliveryId, hold: holdOf(target, unavailable) }, { target });
  // Its failures go to the retry rules of its system and interface (a path's own, for a path step).
  const retryTarget = { systemId: target.system.id, interfaceId: target.iface.id };
  const { system, iface } = target;
  // Waiting for a slot, it keeps its item: it is woken with this attempt and resumes at this step.
  const lease = await takeSlot(deps, target, deliveryId, running, wake);
  if (lease === 'waiting') return { kind: 'suspended' };
  try {
    const request = stepRequest(system.baseUrl, iface, body, `${idempotencyKey(item)}.${step.id}`);
    const secrets: string[] = [];
    const sent = await exchange(deps, system, request, secrets);
    const { sentAt } = sent;
    const record: CalloutRequestRecord = scrubJson(
      {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body,
        sentAt: sentAt.toISOString(),
      },
      secrets,
    );
    if ('noAnswer' in sent) {
      const { holdReason, ...noAnswer } = sent.noAnswer;
      // The circuit breaker has the system Down: the step waits with the rest of its system's callouts.
      if (holdReason !== undefined)
        return suspend({ kind: 'held', deliveryId, hold: holdOf(target, holdReason) }, { target });
      const error = `procedure "${procedure.id}" step "${step.id}": ${noAnswer.error}`;
      const outcome = { request: record, ...noAnswer, error };
      return suspend({ kind: 'answered', deliveryId, outcome, target: retryTarget });
    }
    const { answer } = sent;
    const answered = parseIfJson(scrubSecrets(answer.body, secrets));
    const ok = answer.status >= 200 && answer.status < 300;
    const size = Buffer.byteLength(JSON.stringify(answered) ?? '');
    if (!ok || size > MAX_STEP_ANSWER_BYTES) {
      const error = `procedure "${procedure.id}" step "${step.id}": ${system.id} answered ${ok ? `${size} bytes, more than a step may keep (${MAX_STEP_ANSWER_BYTES})` : answer.status}`;
      const response = {
        status: answer.status,
        receivedAt: deps.now().toISOString(),
        durationMs: deps.now().getTime() - sentAt.getTime(),
        body: answered,
      };
      const failure: CalloutFailure = ok
        ? { kind: 'unusable' }
        : { kind: 'status', status: answer.status, ...retryAfterOf(answer, deps.now()) };
      const outcome = { request: record, response, failure, error };
      return suspend({ kind: 'answered', deliveryId, outcome, target: retryTarget });
    }
    return { kind: 'answered', body: answered ?? null, request: record };
  } finally {
    if (lease) await giveBack(deps, lease);
  }
}

/**
 * The largest answer a procedure's HTTP step may give: the procedure keeps what each step gave in its
 * item's state, for the steps after it, and that state stays small. (A callout's answer goes to the
 * item's log, which keeps a cut copy of anything larger than it can hold.)
 */
export const MAX_STEP_ANSWER_BYTES = 32 * 1024;
