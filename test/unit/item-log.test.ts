import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  historyDueForLog,
  type ItemLogEntry,
  itemDetail,
  keepable,
  keptEntry,
  logEntryKey,
  MAX_KEPT_PAYLOAD_BYTES,
  RECENT_HISTORY,
  recentTransitions,
} from '../../lambdas/domain/item-log';
import { toItemView } from '../../lambdas/domain/item-view';
import type { AttemptRecord, HistoryEntry, ItemRecord } from '../../lambdas/domain/orchestration';
import { schemaProblems } from '../support/contract';

const AT = '2025-03-01T10:00:00.000Z';
const entry = (reason: string, state: HistoryEntry['state'] = 'Running'): HistoryEntry => ({
  at: AT,
  state,
  reason,
});
const transition = (version: number, reason: string): ItemLogEntry => ({
  kind: 'transition',
  version,
  entry: entry(reason),
});
/** An item's state at `version`, keeping `recent` (its latest entries, not yet in the log). */
const state = (version: number, ...recent: HistoryEntry[]): ItemRecord => ({
  orderId: 'o-1',
  key: 'dsl.activate.1',
  planId: 'dsl',
  planItemId: 'activate',
  type: 'callout',
  dependsOn: [],
  state: recent.at(-1)?.state ?? 'Pending',
  version,
  recent,
  createdAt: AT,
  updatedAt: AT,
});
const attempt = (number: number, decision: AttemptRecord['decision'], body?: unknown): ItemLogEntry => ({
  kind: 'attempt',
  attempt: {
    number,
    at: AT,
    decision,
    ...(body === undefined
      ? {}
      : { request: { method: 'POST', url: 'http://s/x', headers: {}, body, sentAt: AT } }),
  },
});

describe('keepable', () => {
  it('keeps a payload up to the cap whole, and cuts a larger one saying its size and SHA-256', () => {
    const small = { port: 'P-1' };
    assert.equal(keepable(small), small);
    const text = 'é'.repeat(MAX_KEPT_PAYLOAD_BYTES); // twice the cap in bytes
    const cut = keepable(text) as { truncated: true; size: number; sha256: string; excerpt: string };
    assert.equal(cut.truncated, true);
    assert.equal(cut.size, Buffer.byteLength(text));
    assert.equal(cut.sha256, createHash('sha256').update(text).digest('hex'));
    assert.ok(cut.excerpt.length <= 2000 && text.startsWith(cut.excerpt));
  });

  it('cuts every entry to at most the cap per payload, whatever it holds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40_000 }), fc.string({ maxLength: 40_000 }), (request, response) => {
        const kept = keptEntry({
          kind: 'attempt',
          attempt: {
            number: 1,
            at: AT,
            decision: { kind: 'completed' },
            request: {
              method: 'POST',
              url: 'u',
              headers: {},
              body: request,
              encodedBody: request,
              sentAt: AT,
            },
          },
          response: { status: 200, body: { response }, receivedAt: AT, durationMs: 1 },
        });
        // Three payloads, each whole or an excerpt: the record stays well under 64 KB.
        assert.ok(Buffer.byteLength(JSON.stringify(kept)) < 3 * MAX_KEPT_PAYLOAD_BYTES + 2000);
      }),
      { numRuns: 50 },
    );
  });
});

describe('itemDetail', () => {
  it('puts the history in the order of its transitions, each interim update after the one it followed', () => {
    const log: ItemLogEntry[] = [
      transition(3, 'accepted by the system'),
      {
        kind: 'callback',
        nonce: 'n',
        callbackId: 'b',
        at: '2025-03-01T10:00:02.000Z',
        final: false,
        body: {},
        afterVersion: 3,
        entry: entry('interim b'),
      },
      transition(1, 'decomposed'),
      {
        kind: 'callback',
        nonce: 'n',
        callbackId: 'a',
        at: '2025-03-01T10:00:01.000Z',
        final: false,
        body: {},
        afterVersion: 3,
        entry: entry('interim a'),
      },
      transition(2, 'started'),
    ];
    const detail = itemDetail(state(4, entry('completed', 'Completed')), [
      ...log,
      transition(4, 'completed'),
    ]);

    assert.deepEqual(
      detail.history.map((h) => h.reason),
      ['decomposed', 'started', 'accepted by the system', 'interim a', 'interim b', 'completed'],
    );
  });

  it('numbers the transitions the state keeps back from its version, after those in the log', () => {
    const detail = itemDetail(state(4, entry('accepted'), entry('completed', 'Completed')), [
      transition(2, 'started'),
      transition(1, 'decomposed'),
    ]);
    assert.deepEqual(
      detail.history.map((h) => h.reason),
      ['decomposed', 'started', 'accepted', 'completed'],
    );
  });

  it('shows an entry once when it is both in the log and still on the state', () => {
    // A worker moved it to the log and died before taking it off the state.
    const detail = itemDetail(state(2, entry('decomposed'), entry('started')), [transition(1, 'decomposed')]);
    assert.deepEqual(
      detail.history.map((h) => h.reason),
      ['decomposed', 'started'],
    );
  });
});

describe('historyDueForLog', () => {
  it('keeps up to four small entries on the state, and moves all but the newest once a fifth comes', () => {
    const entries = [1, 2, 3, 4, 5].map((n) => entry(`step ${n}`));
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => historyDueForLog(entries.slice(0, n))),
      [0, 0, 0, 0, 4],
    );
    assert.equal(RECENT_HISTORY.entries, 4);
  });

  it('moves all but the newest once the entries pass the byte budget, and never the newest alone', () => {
    const long = entry('x'.repeat(RECENT_HISTORY.bytes));
    assert.equal(historyDueForLog([long]), 0, 'the newest stays, whatever its size');
    assert.equal(historyDueForLog([entry('short'), long]), 1);
    assert.equal(historyDueForLog([long, entry('short')]), 1);
  });

  it('numbers the entries it moves back from the newest', () => {
    const recent = [entry('a'), entry('b'), entry('c')];
    assert.deepEqual(
      recentTransitions(recent, 9, 2).map((t) => [t.version, t.entry.reason]),
      [
        [7, 'a'],
        [8, 'b'],
      ],
    );
  });

  it('lists attempts by number, an acceptance before what its answer came to, with the latest request', () => {
    const detail = itemDetail(state(1, entry('x')), [
      attempt(2, { kind: 'accepted', until: AT }, 'second'),
      attempt(1, { kind: 'retry', at: AT, ruleId: 'r', retry: 1 }),
      attempt(1, { kind: 'accepted', until: AT }, 'first'),
    ]);
    assert.deepEqual(
      detail.attempts?.map((a) => [a.number, a.decision.kind]),
      [
        [1, 'accepted'],
        [1, 'retry'],
        [2, 'accepted'],
      ],
    );
    assert.equal(detail.request?.body, 'second');
  });

  it('shows the latest final answer that came on a callback, and a procedure trace in step order', () => {
    const detail = itemDetail({ ...state(1, entry('x')), procedure: { next: 2, steps: {}, vars: {} } }, [
      {
        kind: 'callback',
        nonce: 'n',
        callbackId: 'f2',
        at: '2025-03-01T10:00:02.000Z',
        final: true,
        body: 2,
        afterVersion: 0,
      },
      {
        kind: 'callback',
        nonce: 'n',
        callbackId: 'f1',
        at: '2025-03-01T10:00:01.000Z',
        final: true,
        body: 1,
        afterVersion: 0,
      },
      { kind: 'step', index: 1, trace: { step: 'b', type: 'set', startedAt: AT, ms: 0 } },
      { kind: 'step', index: 0, trace: { step: 'a', type: 'set', startedAt: AT, ms: 0 } },
    ]);
    assert.deepEqual(detail.asyncResponse, { body: 2, receivedAt: '2025-03-01T10:00:02.000Z' });
    assert.deepEqual(
      detail.procedure?.trace.map((t) => t.step),
      ['a', 'b'],
    );
    assert.equal('version' in detail || 'last' in detail, false, 'bookkeeping stays out of the view');
  });
});

describe('logEntryKey', () => {
  it('keys an entry by what it is, so keeping it twice keeps it once', () => {
    assert.equal(logEntryKey(transition(12, 'x')), 'H#00000012');
    assert.equal(logEntryKey(attempt(3, { kind: 'completed' })), 'A#000003#completed');
    assert.equal(
      logEntryKey({
        kind: 'callback',
        nonce: 'n1',
        callbackId: 'c1',
        at: AT,
        final: true,
        body: {},
        afterVersion: 0,
      }),
      'C#n1#c1',
    );
    assert.equal(
      logEntryKey({ kind: 'step', index: 4, trace: { step: 's', type: 'http', startedAt: AT, ms: 1 } }),
      `P#${AT}#0004`,
    );
  });
});

describe('an item whose log cut its payloads', () => {
  it('is answered by the orchestration view as the API’s document describes it', () => {
    const large = 'x'.repeat(MAX_KEPT_PAYLOAD_BYTES + 1);
    const entries = [
      keptEntry({
        kind: 'attempt',
        attempt: {
          number: 1,
          at: AT,
          decision: { kind: 'accepted', until: AT },
          request: { method: 'POST', url: 'u', headers: {}, body: { large }, encodedBody: large, sentAt: AT },
        },
        response: { status: 202, body: large, receivedAt: AT, durationMs: 1 },
      }),
      keptEntry({
        kind: 'callback',
        nonce: 'n',
        callbackId: 'c',
        at: AT,
        final: true,
        body: { large },
        afterVersion: 0,
      }),
    ];
    const view = toItemView(
      itemDetail(state(2, entry('accepted'), entry('completed', 'Completed')), entries),
    );

    assert.deepEqual(view.request?.encodedBody, keepable(large));
    assert.deepEqual(schemaProblems('OrchestrationItem', JSON.parse(JSON.stringify(view))), []);
  });
});
