import type { PlanItem } from '../../statemachines/plan-definition';
import { scrubJson, scrubSecrets } from '../domain/authenticator';
import { unavailability } from '../domain/availability';
import { callbackNonce } from '../domain/callback';
import {
  type AnswerReading,
  idempotencyKey,
  type MappingInput,
  mappingInput,
  readAnswer,
} from '../domain/callout';
import {
  BUILT_IN_ADAPTERS,
  DEFAULT_ASYNC_TIMEOUT_SECONDS,
  pollDelaySeconds,
  type SystemInterface,
} from '../domain/catalog';
import { isAsyncAdapter } from '../domain/integration-adapters';
import type { LifecycleEvent } from '../domain/item-decisions';
import { tracedSteps } from '../domain/item-log';
import { evaluateAttributeMapping } from '../domain/mapping';
import type { CalloutRequestRecord, ItemRecord } from '../domain/orchestration';
import { expandPath } from '../domain/path-template';
import {
  type HttpOutcome,
  type HttpStep,
  MAX_STEP_OUTPUT_BYTES,
  type Procedure,
  type ProcedureProgress,
  runProcedure,
  startProgress,
} from '../domain/procedure';
import { encodedStepRequest, pathInterface } from '../domain/procedure-request';
import type { CalloutFailure } from '../domain/retry-rules';
import { mappableHeaders } from '../domain/system-outcome';
import type { HttpResponse } from '../ports/http-client';
import type { OrderAggregate } from '../ports/order-store';
import { issueCallbackUrl } from './callback-url';
import { giveBack, holdOf, stepTarget, takeSlot, type Wake } from './callout-admission';
import { type CalloutOutcome, describe, exchange, parseIfJson, retryAfterOf } from './callout-exchange';
import { drive, type Scene } from './item-driver';
import { pollOnce } from './poll-status';
import type { RunItemDeps } from './run-item-deps';

/**
 * The default auto task: an integration procedure run step by step, each HTTP step through the callout
 * machinery.
 */

/**
 * The default auto task: runs the item's integration procedure from where its kept progress says, the
 * input mapping giving its input and the output mapping turning its outputs into attributes. Progress
 * is kept after every HTTP step, and before an asynchronous one is sent, so a procedure resumed after a
 * hold, a retry, a lost worker or a step's callback runs no step that already succeeded.
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
  const keep: KeepProgress = async (progress, nonce) => {
    const saved = await deps.store.saveProcedureProgress(
      item.orderId,
      item.key,
      deliveryId,
      { ...progress, trace: progress.trace.slice(kept) },
      deps.now().toISOString(),
      nonce,
    );
    kept = progress.trace.length;
    return saved;
  };
  /** The callback URL each asynchronous step of this run sends (its body may name it: `callback.url`). */
  const callbacks = new Map<string, IssuedCallback>();
  const result = await runProcedure(
    procedure,
    input.attributes,
    item.procedure ? { ...item.procedure, trace: [] } : startProgress(),
    (step, body, progress) =>
      procedureStep(deps, item, procedure, step, body, { deliveryId, wake, progress, keep, callbacks }),
    {
      now: deps.now,
      onStep: async (progress) => {
        if (progress.trace.at(-1)?.type === 'http') await keep(progress);
      },
      httpScope: async (step) => {
        const iface = step.interface !== undefined ? deps.catalog.interfaces[step.interface] : undefined;
        if (!iface || !isAsyncAdapter(iface.adapter)) return {};
        const nonce = stepNonce(item, step);
        const issued = await issueCallbackUrl(deps, item, iface, nonce);
        callbacks.set(step.id, { ...issued, nonce });
        return { callback: { url: issued.url } };
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

/** Keeps the procedure's progress for the attempt that runs it (false: it no longer holds the item). */
type KeepProgress = (progress: ProcedureProgress, nonce?: string) => Promise<boolean>;

/** A callback URL issued for an asynchronous step, with the nonce of its correlation. */
type IssuedCallback = { url: string; proof: string; nonce: string };

/**
 * The callback URL's nonce of an asynchronous step: one per request of the step — the same for every
 * attempt that repeats it (a retry after a timeout, a takeover, a release), so a system that replays its
 * acceptance calls back a URL still waited on; another for each step, and for a new request of it after
 * its system refused one (its key's generation), so that no answer to one applies to another.
 */
const stepNonce = (item: ItemRecord, step: HttpStep) => callbackNonce(`${idempotencyKey(item)}.${step.id}`);

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
 * interface Offline, a connection slot and a turn under the rate, the system's auth, its interface's
 * adapter, an idempotency key that is the same for every attempt of the step, and on failure the retry
 * rules of its system and interface. A step to an asynchronous interface carries a callback URL; its
 * progress is kept before it is sent, and when its system accepts it the item waits for the callback,
 * which hands it back to run the procedure on (item-decisions.ts: stepCompleted). Anything but an answer
 * leaves the item where it waits and suspends the procedure.
 */
async function procedureStep(
  deps: RunItemDeps,
  item: ItemRecord,
  procedure: Procedure,
  step: HttpStep,
  body: unknown,
  run: {
    deliveryId: string;
    wake: Wake | undefined;
    progress: Readonly<ProcedureProgress>;
    keep: KeepProgress;
    callbacks: ReadonlyMap<string, IssuedCallback>;
  },
): Promise<HttpOutcome> {
  const { deliveryId, wake } = run;
  let running: ItemRecord = { ...item, state: 'Running' as const };
  // What this step came to that the item must wait on: decided and written as for any callout.
  const suspend = async (event: LifecycleEvent, scene: Scene = {}): Promise<HttpOutcome> => {
    await drive(deps, { item: running, now: deps.now() }, event, scene);
    return { kind: 'suspended' };
  };
  const named = (error: string) => `procedure "${procedure.id}" step "${step.id}": ${error}`;
  const target =
    step.interface !== undefined
      ? await deps.config.calloutTarget(step.interface, deps.catalog.interfaces[step.interface]?.system)
      : await stepTarget(deps, step.system ?? '', pathInterface(procedure, step));
  if (!target) {
    const error = named('its system or interface is not configured (is the catalog seeded?)');
    return suspend({ kind: 'answered', deliveryId, outcome: { error } });
  }
  const unavailable = unavailability(target);
  if (unavailable)
    return suspend({ kind: 'held', deliveryId, hold: holdOf(target, unavailable) }, { target });
  // Its failures go to the retry rules of its system and interface (a path's own, for a path step).
  const retryTarget = { systemId: target.system.id, interfaceId: target.iface.id };
  const { system, iface } = target;
  const asynchronous = isAsyncAdapter(iface.adapter);
  const callback = asynchronous ? run.callbacks.get(step.id) : undefined;
  if (asynchronous && !callback) {
    const error = named(
      `interface "${iface.id}" answers on a callback, and no callback URL was issued for it`,
    );
    return suspend({ kind: 'answered', deliveryId, outcome: { error }, target: retryTarget });
  }
  // Waiting for a slot, it keeps its item: it is woken with this attempt and resumes at this step.
  const lease = await takeSlot(deps, target, deliveryId, running, wake);
  if (lease === 'waiting') return { kind: 'suspended' };
  try {
    // Released from a hold that came while this step was polled: it polls on; its request is not sent
    // again (a second job at a system that cannot be told it is the same).
    const { awaiting } = item;
    if (awaiting?.poll && awaiting.step === step.id && iface.polling) {
      const polled = await pollOnce(deps, target, awaiting.poll.path);
      if (polled.kind === 'held')
        return suspend({ kind: 'held', deliveryId, hold: holdOf(target, polled.reason) }, { target });
      const { request, response } = polled;
      if (polled.kind === 'failed') {
        const error = named(`status poll of ${awaiting.poll.path}: ${polled.error}`);
        const outcome = { request, ...(response ? { response } : {}), error, failure: polled.failure };
        return suspend({ kind: 'answered', deliveryId, outcome, target: retryTarget });
      }
      switch (polled.outcome.status) {
        case 'completed':
          return { kind: 'answered', body: polled.body ?? null, request };
        case 'failed': {
          const error = named(`the system reported failure: ${polled.outcome.reason ?? 'no reason given'}`);
          const outcome = { request, response, error, failure: { kind: 'failedAnswer' as const } };
          return suspend({ kind: 'answered', deliveryId, outcome, target: retryTarget });
        }
        case 'inProgress': {
          const outcome = {
            request,
            response,
            awaitingUntil: awaiting.deadline,
            awaitingSince: awaiting.since,
            awaitingStep: step.id,
            poll: { path: awaiting.poll.path, delaySeconds: pollDelaySeconds(iface.polling, 0) },
          };
          return suspend({ kind: 'answered', deliveryId, outcome, target: retryTarget });
        }
      }
    }
    const secrets: string[] = [];
    let wire: ReturnType<typeof encodedStepRequest>;
    try {
      wire = encodedStepRequest(system.baseUrl, iface, body, `${idempotencyKey(item)}.${step.id}`);
    } catch (error) {
      return suspend({
        kind: 'answered',
        deliveryId,
        outcome: { error: named(describe(error)) },
        target: retryTarget,
      });
    }
    const { request } = wire;
    if (callback) {
      // Kept before it is sent: a callback faster than the system's own answer finds the step in the
      // progress and the URL's nonce on the item, and a lost worker's successor sends the same request.
      if (!(await run.keep(run.progress, callback.nonce))) return { kind: 'suspended' };
      running = { ...running, callbackNonce: callback.nonce };
      request.headers['callback-url'] = callback.url;
      // The proof in the URL is a credential like any other: it is never stored.
      secrets.push(callback.proof);
    }
    const sent = await exchange(deps, system, request, secrets);
    const { sentAt } = sent;
    const record: CalloutRequestRecord = scrubJson(
      {
        method: request.method,
        url: request.url,
        headers: request.headers,
        ...(body !== undefined ? { body } : {}),
        ...(wire.encoded !== undefined ? { encodedBody: wire.encoded.slice(0, MAX_STORED_TEXT) } : {}),
        sentAt: sentAt.toISOString(),
      },
      secrets,
    );
    if ('noAnswer' in sent) {
      const { holdReason, ...noAnswer } = sent.noAnswer;
      // The circuit breaker has the system Down: the step waits with the rest of its system's callouts.
      if (holdReason !== undefined)
        return suspend({ kind: 'held', deliveryId, hold: holdOf(target, holdReason) }, { target });
      const outcome = { request: record, ...noAnswer, error: named(noAnswer.error) };
      return suspend({ kind: 'answered', deliveryId, outcome, target: retryTarget });
    }
    const { answer } = sent;
    const scrubbed = { ...answer, body: scrubSecrets(answer.body, secrets) };
    const receivedAt = deps.now();
    const response = {
      status: answer.status,
      receivedAt: receivedAt.toISOString(),
      durationMs: receivedAt.getTime() - sentAt.getTime(),
      body: parseIfJson(scrubbed.body),
    };
    const reading = readStepAnswer(iface, scrubbed, asynchronous);
    if (reading.kind === 'accepted') {
      // Its system answers on the callback: the item waits for it, this step its procedure's next.
      const timeoutSeconds = iface.asyncTimeoutSeconds ?? DEFAULT_ASYNC_TIMEOUT_SECONDS;
      const awaitingUntil = new Date(receivedAt.getTime() + timeoutSeconds * 1000).toISOString();
      // A polled system is asked for the step's status at the path its acceptance names.
      let poll: { path: string; delaySeconds: number } | undefined;
      if (iface.polling) {
        try {
          const seen = {
            attributes: {},
            lineAttributes: {},
            input: body,
            response: response.body ?? null,
            responseHeaders: mappableHeaders(answer.headers ?? {}),
          };
          const path = await expandPath(iface.polling.path, seen, iface.id);
          poll = { path, delaySeconds: pollDelaySeconds(iface.polling, 0) };
        } catch (error) {
          const outcome = {
            request: record,
            response,
            failure: { kind: 'unusable' as const },
            error: named(describe(error, secrets)),
          };
          return suspend({ kind: 'answered', deliveryId, outcome, target: retryTarget });
        }
      }
      const outcome = {
        request: record,
        response,
        awaitingUntil,
        awaitingStep: step.id,
        ...(poll ? { poll } : {}),
      };
      return suspend({ kind: 'answered', deliveryId, outcome, target: retryTarget });
    }
    const output = reading.kind === 'success' ? scrubJson(reading.body, secrets) : undefined;
    const size = new TextEncoder().encode(JSON.stringify(output) ?? '').length;
    if (reading.kind === 'failure' || size > MAX_STEP_OUTPUT_BYTES) {
      const error = named(
        reading.kind === 'failure'
          ? reading.error.startsWith('answered')
            ? `${system.id} ${reading.error}`
            : reading.error
          : `${system.id} answered ${size} bytes, more than a step may keep (${MAX_STEP_OUTPUT_BYTES})`,
      );
      const failure: CalloutFailure =
        reading.kind === 'failure' && reading.retryable
          ? { kind: 'status', status: reading.status, ...retryAfterOf(answer, receivedAt) }
          : { kind: 'unusable' };
      const outcome = { request: record, response, failure, error };
      return suspend({ kind: 'answered', deliveryId, outcome, target: retryTarget });
    }
    return { kind: 'answered', body: output ?? null, request: record };
  } finally {
    if (lease) await giveBack(deps, lease);
  }
}

/** How much of an encoded body a step's kept request holds, as a callout's (callout.ts). */
const MAX_STORED_TEXT = 8 * 1024;

/**
 * A step's answer, as its interface's adapter reads it: a custom adapter reads it as for a callout
 * (callout.ts: readAnswer); the built-in ones as a procedure always has — any 2xx is the step's output,
 * JSON when it is JSON, else its text (an asynchronous interface's accepted statuses wait for the
 * callback), and any other status a failed one.
 */
function readStepAnswer(iface: SystemInterface, answer: HttpResponse, asynchronous: boolean): AnswerReading {
  if (!(BUILT_IN_ADAPTERS as readonly string[]).includes(iface.adapter))
    return readAnswer(iface, answer, asynchronous);
  const { status } = answer;
  if (status < 200 || status >= 300)
    return { kind: 'failure', error: `answered ${status}`, retryable: true, status };
  if (asynchronous && (iface.acceptedStatuses ?? [202]).includes(status)) return { kind: 'accepted' };
  return { kind: 'success', body: parseIfJson(answer.body) ?? null };
}

/**
 * The largest answer a procedure's HTTP step may give (procedure.ts: MAX_STEP_OUTPUT_BYTES): the
 * procedure keeps what each step gave in its item's state, for the steps after it.
 */
export const MAX_STEP_ANSWER_BYTES = MAX_STEP_OUTPUT_BYTES;
