import { createHash } from 'node:crypto';
import { interimUpdateReason } from './callback';
import type {
  AttemptRecord,
  CalloutRequestRecord,
  CalloutResponseRecord,
  HistoryEntry,
  ItemDetail,
  ItemRecord,
  ItemState,
} from './orchestration';
import type { StepTrace } from './procedure';

/**
 * An orchestration item's log: what it did, kept apart from its state. The state record holds only what
 * decides the item's next transition and is rewritten by each one; the log is appended, one record per
 * fact, and never rewritten, so an item's state stays small however often it is retried, held or called
 * back. A view of the item puts the two together again (`itemDetail`).
 */

/**
 * The most of one payload (a request or response body, a callback body, a step's input or output) a log
 * record keeps whole. A larger one is kept as an excerpt with its full size and its SHA-256, so what was
 * sent can still be matched against a system's own log; four such payloads fit well under 64 KB.
 */
export const MAX_KEPT_PAYLOAD_BYTES = 12 * 1024;
/** How much of a payload that was cut its record keeps. */
const EXCERPT_CHARACTERS = 2000;

/** A payload too big to keep whole, as its log record keeps it. */
export interface CutPayload {
  truncated: true;
  /** Its size in bytes, as JSON (or as the text it was). */
  size: number;
  sha256: string;
  excerpt: string;
}

/** The payload whole when it is small enough, else an excerpt that says it was cut (see CutPayload). */
export function keepable(value: unknown, max = MAX_KEPT_PAYLOAD_BYTES): unknown {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  const size = Buffer.byteLength(text);
  if (size <= max) return value;
  const cut: CutPayload = {
    truncated: true,
    size,
    sha256: createHash('sha256').update(text).digest('hex'),
    excerpt: text.slice(0, EXCERPT_CHARACTERS),
  };
  return cut;
}

/**
 * How much of an item's history its state keeps before the entries go to its log: a transition appends
 * its entry to the state in the one write that makes it, and the entries move to the log, in one batch,
 * only once there are more than `entries` of them or they pass `bytes` (the newest always stays). Most
 * items make fewer transitions than that, so most transitions are one write; and a state write costs
 * write units by the kilobyte, which `bytes` keeps to about one.
 */
export const RECENT_HISTORY = { entries: 4, bytes: 768 };

/**
 * How many of the oldest entries of an item's recent history (as its state keeps it after a transition)
 * go to its log now: all but the newest when there are too many or they are too large, else none.
 */
export function historyDueForLog(recent: readonly HistoryEntry[]): number {
  if (recent.length <= 1) return 0;
  const bytes = new TextEncoder().encode(JSON.stringify(recent)).length;
  return recent.length > RECENT_HISTORY.entries || bytes > RECENT_HISTORY.bytes ? recent.length - 1 : 0;
}

/** The log entries of the oldest `count` of an item's recent history, whose newest is number `version`. */
export function recentTransitions(
  recent: readonly HistoryEntry[],
  version: number,
  count = recent.length,
): TransitionEntry[] {
  const first = version - recent.length + 1;
  return recent
    .slice(0, count)
    .map((entry, i) => ({ kind: 'transition' as const, version: first + i, entry }));
}

/** A transition: the item's history entry number `version` (the state's version after it). */
type TransitionEntry = { kind: 'transition'; version: number; entry: HistoryEntry };

/** One record of an item's log. */
export type ItemLogEntry =
  | TransitionEntry
  /** One attempt of a callout or a procedure's HTTP step: what was sent, what came back, what was decided. */
  | { kind: 'attempt'; attempt: AttemptRecord; response?: CalloutResponseRecord }
  /**
   * A callback the system sent on the URL of the attempt with this nonce, kept once by its id. An interim
   * update reads in the history as `entry`, after the transition `afterVersion` it followed.
   */
  | {
      kind: 'callback';
      nonce: string;
      callbackId: string;
      at: string;
      final: boolean;
      body: unknown;
      afterVersion: number;
      entry?: HistoryEntry;
    }
  /** One step an integration procedure ran (or skipped); `index` is the step's place in its procedure. */
  | { kind: 'step'; index: number; trace: StepTrace };

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * An entry's key within its item's log: it says what the entry is, so keeping it twice keeps it once —
 * a transition by its number, an attempt by its number and decision, a callback by its attempt's nonce
 * and its id, a procedure's step by when it started and its place in the procedure.
 */
export function logEntryKey(entry: ItemLogEntry): string {
  switch (entry.kind) {
    case 'transition':
      return `H#${pad(entry.version, 8)}`;
    case 'attempt':
      return `A#${pad(entry.attempt.number, 6)}#${entry.attempt.decision.kind}`;
    case 'callback':
      return callbackKey(entry.nonce, entry.callbackId);
    case 'step':
      return `P#${entry.trace.startedAt}#${pad(entry.index, 4)}`;
  }
}

export const callbackKey = (nonce: string, callbackId: string) => `C#${nonce}#${callbackId}`;

/**
 * A procedure's trace from `from` on, each step with its place in the procedure: a run's trace holds
 * consecutive steps that end at the one before `next`.
 */
export function tracedSteps(
  progress: { trace: readonly StepTrace[]; next: number },
  from = 0,
): { index: number; trace: StepTrace }[] {
  const { trace, next } = progress;
  return trace.slice(from).map((step, i) => ({ index: next - trace.length + from + i, trace: step }));
}

/**
 * What an item's outcome keeps in its log: the attempt it ends with the response to it, and a
 * procedure's steps run since its progress was last kept.
 */
export function outcomeEntries(outcome: {
  attempt?: AttemptRecord;
  response?: CalloutResponseRecord;
  steps?: { index: number; trace: StepTrace }[];
}): ItemLogEntry[] {
  const steps = (outcome.steps ?? []).map((step): ItemLogEntry => ({ kind: 'step', ...step }));
  if (!outcome.attempt) return steps;
  const { attempt, response } = outcome;
  return [{ kind: 'attempt', attempt, ...(response ? { response } : {}) }, ...steps];
}

/**
 * What a callback keeps in its item's log: an interim update with the history entry it reads as (in the
 * state the item was in: Running, or what the final answer that overtook it left), a final answer with
 * its body. A wait's deadline (`deadline:<nonce>`) is no callback and keeps nothing.
 */
export function callbackEntry(
  change:
    | { kind: 'interim'; note?: string; body: unknown; overtaken?: ItemState; afterVersion: number }
    | { kind: 'completed' | 'failed'; body: unknown },
  where: { nonce: string; callbackId: string; at: string },
): ItemLogEntry | undefined {
  const { nonce, callbackId, at } = where;
  if (change.kind === 'interim') {
    const reason = interimUpdateReason(change);
    const entry = { at, state: change.overtaken ?? 'Running', reason } satisfies HistoryEntry;
    const { body, afterVersion } = change;
    return { kind: 'callback', nonce, callbackId, at, final: false, body, afterVersion, entry };
  }
  if (callbackId.startsWith('deadline:')) return undefined;
  return { kind: 'callback', nonce, callbackId, at, final: true, body: change.body, afterVersion: 0 };
}

/** A log entry with its payloads cut to what a record keeps. */
export function keptEntry(entry: ItemLogEntry): ItemLogEntry {
  switch (entry.kind) {
    case 'transition':
      return entry;
    case 'attempt':
      return {
        ...entry,
        attempt: {
          ...entry.attempt,
          ...(entry.attempt.request ? { request: keptRequest(entry.attempt.request) } : {}),
        },
        ...(entry.response ? { response: keptResponse(entry.response) } : {}),
      };
    case 'callback':
      return { ...entry, body: keepable(entry.body) };
    case 'step':
      return {
        ...entry,
        trace: {
          ...entry.trace,
          ...('input' in entry.trace ? { input: keepable(entry.trace.input) } : {}),
          ...('output' in entry.trace ? { output: keepable(entry.trace.output) } : {}),
        },
      };
  }
}

function keptRequest(request: CalloutRequestRecord): CalloutRequestRecord {
  return {
    ...request,
    ...('body' in request ? { body: keepable(request.body) } : {}),
    ...(request.encodedBody !== undefined ? { encodedBody: keepable(request.encodedBody) as string } : {}),
  };
}

function keptResponse(response: CalloutResponseRecord): CalloutResponseRecord {
  return { ...response, ...('body' in response ? { body: keepable(response.body) } : {}) };
}

/** Which decisions of one attempt come first: its acceptance, then what its answer came to. */
const DECISION_ORDER = { accepted: 0, hold: 1, completed: 2, retry: 2, fallout: 2 } as const;

/**
 * An item as operators see it: its state with its log put back together — the history in the order it
 * happened (interim updates after the transition they followed), the attempts, the latest request and
 * response, the final answer that came on a callback, and a procedure's trace.
 */
export function itemDetail(state: ItemRecord, entries: readonly ItemLogEntry[]): ItemDetail {
  const transitions = new Map<number, HistoryEntry>();
  const interim: { after: number; at: string; entry: HistoryEntry }[] = [];
  const attempts: { attempt: AttemptRecord; response?: CalloutResponseRecord }[] = [];
  const finals: { at: string; body: unknown }[] = [];
  const steps: { index: number; trace: StepTrace }[] = [];
  for (const entry of entries) {
    if (entry.kind === 'transition') transitions.set(entry.version, entry.entry);
    else if (entry.kind === 'attempt') attempts.push(entry);
    else if (entry.kind === 'step') steps.push(entry);
    else if (entry.final) finals.push({ at: entry.at, body: entry.body });
    else if (entry.entry) interim.push({ after: entry.afterVersion, at: entry.at, entry: entry.entry });
  }
  // The latest transitions are on the state until they go to the log (a few at a time).
  const { recent, version, procedure, ...rest } = state;
  if (recent && version !== undefined)
    for (const logged of recentTransitions(recent, version)) transitions.set(logged.version, logged.entry);

  const history = [
    ...[...transitions].map(([v, entry]) => ({ v, at: '', n: 0, entry })),
    ...interim.map(({ after, at, entry }) => ({ v: after, at, n: 1, entry })),
  ]
    .sort((a, b) => a.v - b.v || a.n - b.n || a.at.localeCompare(b.at))
    .map(({ entry }) => entry);
  attempts.sort(
    (a, b) =>
      a.attempt.number - b.attempt.number ||
      DECISION_ORDER[a.attempt.decision.kind] - DECISION_ORDER[b.attempt.decision.kind] ||
      a.attempt.at.localeCompare(b.attempt.at),
  );
  steps.sort((a, b) => a.trace.startedAt.localeCompare(b.trace.startedAt) || a.index - b.index);
  finals.sort((a, b) => a.at.localeCompare(b.at));
  const request = attempts.findLast((a) => a.attempt.request)?.attempt.request;
  const response = attempts.findLast((a) => a.response)?.response;
  const asyncResponse = finals.at(-1);
  return {
    ...rest,
    history,
    ...(attempts.length > 0 ? { attempts: attempts.map((a) => a.attempt) } : {}),
    ...(request ? { request } : {}),
    ...(response ? { response } : {}),
    ...(asyncResponse ? { asyncResponse: { body: asyncResponse.body, receivedAt: asyncResponse.at } } : {}),
    ...(procedure ? { procedure: { ...procedure, trace: steps.map((s) => s.trace) } } : {}),
  };
}
