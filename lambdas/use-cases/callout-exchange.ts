import { scrubJson, scrubSecrets, withCredentials } from '../domain/authenticator';
import { AUTOMATIC_ACTORS } from '../domain/availability';
import { callbackNonce, nonceOf } from '../domain/callback';
import {
  type CalloutTarget,
  interpretAnswer,
  type MappingInput,
  type PreparedCallout,
  prepareCallout,
  readAnswer,
  requestRecord,
  systemUrl,
} from '../domain/callout';
import { DEFAULT_ASYNC_TIMEOUT_SECONDS, pollDelaySeconds } from '../domain/catalog';
import { CalloutError, MappingError } from '../domain/errors';
import { isAsyncAdapter } from '../domain/integration-adapters';
import type { Answer } from '../domain/item-decisions';
import { tooDeep } from '../domain/json-depth';
import type { CalloutOutcomeClass } from '../domain/metrics';
import type { ItemRecord } from '../domain/orchestration';
import { expandPath } from '../domain/path-template';
import { type CalloutFailure, retryAfterSeconds } from '../domain/retry-rules';
import { mappableHeaders } from '../domain/system-outcome';
import type { HttpRequest, HttpResponse } from '../ports/http-client';
import type { HealthProbeMessage } from '../ports/work-queue';
import { logger } from '../shared/logger';
import { issueCallbackUrl } from './callback-url';
import { type Admission, waitForTurn } from './callout-admission';
import { changeSystemState } from './change-availability';
import type { RunItemDeps } from './run-item-deps';

/**
 * One callout on the wire: the request mapped, encoded and credentialed, sent, and its answer read;
 * the circuit breaker and its health probe.
 */

/** Why a request to a system got no answer. */
interface NoAnswer {
  error: string;
  failure: CalloutFailure;
  durationMs: number;
  /** The circuit breaker has the system Down, after this failure or before it: wait, do not fail. */
  holdReason?: string;
}

/**
 * Sends one request to its system, for a callout and a procedure's HTTP step alike: waits for its turn
 * under the system's rate (a callout's was taken at admission, `startAt`), adds the auth profile's
 * credentials at send time — headers, or under mutual TLS the client certificate — (kept in `secrets` so
 * everything stored can be scrubbed of them), fetches a fresh credential and sends once more on a 401,
 * and counts a refused connection, a refused TLS handshake or a timeout against the system's circuit
 * breaker.
 */
export async function exchange(
  deps: RunItemDeps,
  system: CalloutTarget['system'],
  request: HttpRequest,
  secrets: string[],
  startAt?: Date,
): Promise<{ sentAt: Date } & ({ answer: HttpResponse } | { noAnswer: NoAnswer })> {
  const profile = system.authProfile ? deps.catalog.authProfiles[system.authProfile] : undefined;
  await waitForTurn(deps, system, startAt);
  const sentAt = deps.now();
  const send = async () => {
    const credentialed = await deps.auth.headers(profile, system.baseUrl);
    secrets.push(...credentialed.secrets);
    return deps.http.send(withCredentials(request, credentialed));
  };
  try {
    let answer = await send();
    if (answer.status === 401 && deps.auth.renew(profile, system.baseUrl)) answer = await send();
    if (system.consecutiveFailures) await deps.config.resetConnectionFailures(system.id);
    return { sentAt, answer };
  } catch (error) {
    const unreachable = error instanceof CalloutError && error.unreachable;
    const message = describe(error, secrets);
    const failure: CalloutFailure =
      unreachable && /^no answer within/.test(error.message)
        ? { kind: 'timeout' }
        : unreachable
          ? { kind: 'connection' }
          : { kind: 'unusable' };
    const noAnswer = { error: message, failure, durationMs: deps.now().getTime() - sentAt.getTime() };
    const down = unreachable ? await countFailure(deps, system, message) : undefined;
    return { sentAt, noAnswer: down ? { ...noAnswer, holdReason: `${down} (after: ${message})` } : noAnswer };
  }
}

/**
 * What a callout came to: an answer the lifecycle decides on (done, failed, accepted and waiting for its
 * callback), or sent to a system the circuit breaker has just taken Down (holdReason).
 */
export type CalloutOutcome = Answer & {
  /** A procedure stopped at an HTTP step that waits (held, throttled, or failed and to be retried). */
  suspended?: true;
  holdReason?: string;
};

/**
 * One callout: map and encode the request, authenticate, send, and read the answer. A 401 under OAuth2
 * fetches a fresh token once and sends once more. Credentials are added at send time only and scrubbed
 * from everything kept, errors included.
 */
export async function callout(
  deps: RunItemDeps,
  item: ItemRecord,
  mappingInput: MappingInput,
  admission: Admission,
  deliveryId: string,
): Promise<CalloutOutcome> {
  const { system, iface } = admission.target;
  const dimensions = { system: system.id, interface: iface.id };
  const outcome = await deps.telemetry.span(`callout ${system.id}/${iface.id}`, dimensions, () =>
    calloutOnce(deps, item, mappingInput, admission, deliveryId),
  );
  deps.telemetry.record('Callouts', { ...dimensions, outcome: outcomeClass(outcome) });
  if (outcome.response) deps.telemetry.record('CalloutLatency', dimensions, outcome.response.durationMs);
  return outcome;
}

/** What a callout came to, as the `outcome` of the Callouts metric (domain/metrics.ts). */
export function outcomeClass(outcome: CalloutOutcome): CalloutOutcomeClass {
  if (outcome.awaitingUntil) return 'accepted';
  // A callout sent that could not connect is counted so, also when the breaker then held its item.
  switch (outcome.failure?.kind) {
    case 'status':
      return outcome.failure.status >= 500 ? 'status-5xx' : 'status-4xx';
    case 'timeout':
    case 'connection':
    case 'unusable':
      return outcome.failure.kind;
  }
  if (outcome.holdReason !== undefined) return 'held';
  // An error with no failure class: the request could not be built or sent (a mapping, an auth profile).
  return outcome.error !== undefined ? 'unusable' : 'success';
}

async function calloutOnce(
  deps: RunItemDeps,
  item: ItemRecord,
  mappingInput: MappingInput,
  { target, startAt }: Admission,
  deliveryId: string,
): Promise<CalloutOutcome> {
  const { system, iface } = target;
  const asynchronous = isAsyncAdapter(iface.adapter);
  const secrets: string[] = [];
  let input = mappingInput;
  let callback: string | undefined;
  if (asynchronous) {
    // The URL is fixed by the claim, before the request is sent: a redelivery, a takeover or a retry of
    // the same request sends the same one, and a system that calls back before answering is matched.
    // The URL of the item's request (its claim set the nonce): every attempt of one request sends it.
    const issued = await issueCallbackUrl(deps, item, iface, nonceOf(item) ?? callbackNonce(deliveryId));
    callback = issued.url;
    // The proof in the URL is a credential like any other: it is never stored.
    secrets.push(issued.proof);
    input = { ...mappingInput, callback: { url: callback } };
  }
  let prepared: PreparedCallout;
  try {
    prepared = await prepareCallout(deps.catalog, target, item, input);
  } catch (error) {
    return { error: describe(error, secrets) };
  }
  if (callback) prepared.headers['callback-url'] = callback;
  if (system.authProfile && !deps.catalog.authProfiles[system.authProfile]) {
    return {
      request: scrubJson(requestRecord(prepared, iface.adapter, deps.now().toISOString()), secrets),
      error: `auth profile "${system.authProfile}" of system "${system.id}" is not in the catalog`,
    };
  }
  const { mapped: _mapped, ...wire } = prepared;
  const sent = await exchange(deps, system, wire, secrets, startAt);
  const { sentAt } = sent;
  const request = scrubJson(requestRecord(prepared, iface.adapter, sentAt.toISOString()), secrets);
  if ('noAnswer' in sent) return { request, ...sent.noAnswer };
  const { answer } = sent;
  const receivedAt = deps.now();
  const responseRecord = {
    status: answer.status,
    receivedAt: receivedAt.toISOString(),
    durationMs: receivedAt.getTime() - sentAt.getTime(),
  };
  const scrubbed = { ...answer, body: scrubSecrets(answer.body, secrets) };
  const reading = readAnswer(iface, scrubbed, asynchronous);
  if (reading.kind === 'accepted') {
    const timeoutSeconds = iface.asyncTimeoutSeconds ?? DEFAULT_ASYNC_TIMEOUT_SECONDS;
    const accepted = parseIfJson(scrubbed.body);
    const response = { ...responseRecord, body: accepted };
    let poll: Answer['poll'];
    if (iface.polling) {
      // The status path names the work as the acceptance did (its job id), or as the order does.
      try {
        const seen = {
          ...input,
          response: accepted ?? null,
          responseHeaders: mappableHeaders(answer.headers ?? {}),
        };
        const path = await expandPath(iface.polling.path, seen, iface.id);
        poll = { path, delaySeconds: pollDelaySeconds(iface.polling, 0) };
      } catch (error) {
        return { request, response, error: describe(error, secrets), failure: { kind: 'unusable' } };
      }
    }
    return {
      request,
      response,
      awaitingUntil: new Date(receivedAt.getTime() + timeoutSeconds * 1000).toISOString(),
      ...(poll ? { poll } : {}),
    };
  }
  try {
    const { body, attributes } = await interpretAnswer(deps.catalog, iface, scrubbed, input, reading);
    // Decoding may have un-escaped a credential the text scrub could not see.
    return {
      request,
      response: { ...responseRecord, body: scrubJson(body, secrets) },
      attributes: scrubJson(attributes, secrets),
    };
  } catch (error) {
    // A failed status the rules may retry (as the adapter read it); anything else no retry mends.
    return {
      request,
      response: { ...responseRecord, body: scrubbed.body.slice(0, 2000) },
      error: describe(error, secrets),
      failure:
        reading.kind === 'failure' && reading.retryable
          ? { kind: 'status', status: reading.status, ...retryAfterOf(answer, receivedAt) }
          : { kind: 'unusable' },
    };
  }
}

/**
 * Counts a connection failure or timeout against a system with a circuit breaker; the one that reaches
 * its threshold takes the system Down and starts probing its health. Returns why the system is Down when
 * it is (by this failure or an earlier one), so the callout waits On Hold instead of failing.
 */
async function countFailure(
  deps: RunItemDeps,
  system: CalloutTarget['system'],
  error: string,
): Promise<string | undefined> {
  const breaker = system.circuitBreaker;
  if (!breaker) return undefined;
  const failures = await deps.config.recordConnectionFailure(system.id);
  if (failures < breaker.failureThreshold) return undefined;
  const result = await changeSystemState(deps, system.id, 'Down', {
    by: AUTOMATIC_ACTORS['circuit-breaker'],
    reason: `${failures} connection failures or timeouts in a row (last: ${error})`,
    cause: 'circuit-breaker',
  });
  if (result?.system.state !== 'Down') return undefined;
  const change = result.system.stateChange;
  if (result.changed) deps.telemetry.record('CircuitBreakerTrips', { system: system.id });
  if (result.changed && change) {
    await deps.queue.send([{ kind: 'probe', systemId: system.id, changeId: change.id }], {
      delaySeconds: breaker.probeIntervalSeconds,
    });
  }
  return `system "${system.id}" is Down${change ? `: ${change.reason}` : ''}`;
}

/**
 * The circuit breaker's health probe: while the system is still Down from the breaker's change, GET its
 * health path with its auth; a 2xx brings it Up (which releases its held items), anything else probes
 * again after the interval. An operator's or a window's change since ends the probing.
 */
export async function probeHealth(deps: RunItemDeps, message: HealthProbeMessage): Promise<void> {
  const system = await deps.config.getSystem(message.systemId);
  const breaker = system?.circuitBreaker;
  if (!system || !breaker) return;
  const up = (reason: string) =>
    changeSystemState(
      deps,
      system.id,
      'Up',
      { by: AUTOMATIC_ACTORS['circuit-breaker'], reason, cause: 'circuit-breaker' },
      { cause: 'circuit-breaker' },
    );
  if (system.state === 'Up') {
    // This probe's Down ended with the breaker's Up, maybe unannounced (the announcement failed and the
    // probe came again): announce it. A release announced twice sends nothing twice.
    const last = system.stateChange;
    if (last?.cause === 'circuit-breaker' && last.follows === message.changeId) await up(last.reason);
    return;
  }
  if (system.stateChange?.id !== message.changeId) return; // an operator or a window changed it since
  const profile = system.authProfile ? deps.catalog.authProfiles[system.authProfile] : undefined;
  let answer: HttpResponse | undefined;
  let outcome: string;
  const secrets: string[] = [];
  try {
    const credentialed = await deps.auth.headers(profile, system.baseUrl);
    secrets.push(...credentialed.secrets);
    answer = await deps.http.send(
      withCredentials(
        { method: 'GET', url: systemUrl(system.baseUrl, breaker.healthPath), headers: {}, timeoutMs: 10_000 },
        credentialed,
      ),
    );
    outcome = `HTTP ${answer.status}`;
  } catch (error) {
    // A credential the request could not carry may be quoted in the error (fetch quotes a bad header).
    outcome = scrubSecrets((error as Error).message, secrets);
  }
  if (answer && answer.status >= 200 && answer.status < 300) {
    // Errors from here on fail the message, so its redelivery announces what was not.
    await up(`health probe of ${breaker.healthPath} answered ${answer.status}`);
    return;
  }
  logger.info('health probe failed; probing again', { systemId: system.id, outcome });
  await deps.queue.send([message], { delaySeconds: breaker.probeIntervalSeconds });
}

/** The Retry-After an answer carried, in seconds. */
export function retryAfterOf(answer: HttpResponse, now: Date): { retryAfterSeconds?: number } {
  const header = Object.entries(answer.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'retry-after',
  )?.[1];
  const seconds = retryAfterSeconds(header, now);
  return seconds === undefined ? {} : { retryAfterSeconds: seconds };
}

export function parseIfJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text.slice(0, 2000);
  }
  // Nested deeper than a record can keep: kept as the text it came as (cut), like an answer that is no JSON.
  return tooDeep(parsed) ? text.slice(0, 2000) : parsed;
}

/** What went wrong, for the item's history and the log, with every credential of the request scrubbed. */
export function describe(error: unknown, secrets: readonly string[] = []): string {
  if (error instanceof CalloutError || error instanceof MappingError)
    return scrubSecrets(error.message, secrets);
  logger.error('unexpected error running an item', { error: scrubSecrets(String(error), secrets) });
  return scrubSecrets(`internal error: ${(error as Error).message ?? String(error)}`, secrets);
}
