import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LongTimeout, NODE_TIMER_LIMIT_MS, type TimerBase } from '../../local/long-timers';

/** A scheduler whose clock the test moves: it runs due callbacks in time order. */
function fakeBase() {
  let now = 0;
  let next = 1;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const armed: number[] = [];
  const base: TimerBase = {
    setTimeout: (fn, ms) => {
      if (ms > NODE_TIMER_LIMIT_MS) throw new Error(`armed ${ms} ms, beyond Node's limit`);
      armed.push(ms);
      const id = next++;
      pending.set(id, { at: now + ms, fn });
      return id as unknown as ReturnType<typeof setTimeout>;
    },
    clearTimeout: (handle) => {
      pending.delete(handle as unknown as number);
    },
    now: () => now,
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = [...pending.entries()]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      pending.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = until;
  };
  return { base, advance, armed, pending };
}

const DAY = 24 * 3600 * 1000;

describe('LongTimeout', () => {
  it('fires a 60-day timer after 60 days, never arming more than Node allows', () => {
    // Prepare
    const { base, advance, armed } = fakeBase();
    let fired = 0;

    // Act
    new LongTimeout(base, () => fired++, 60 * DAY, []);
    advance(60 * DAY - 1);
    const before = fired;
    advance(1);

    // Assess
    assert.equal(before, 0);
    assert.equal(fired, 1);
    assert.ok(armed.length >= 3 && armed.every((ms) => ms <= NODE_TIMER_LIMIT_MS));
  });

  it('passes its arguments and can be cleared between steps', () => {
    // Prepare
    const { base, advance, pending } = fakeBase();
    const seen: unknown[] = [];
    const timer = new LongTimeout(base, (...args) => seen.push(args), 40 * DAY, ['a', 1]);
    const cleared = new LongTimeout(base, () => seen.push('cleared one fired'), 40 * DAY, []);

    // Act
    advance(30 * DAY);
    cleared.clear();
    advance(10 * DAY);

    // Assess
    assert.deepEqual(seen, [['a', 1]]);
    assert.equal(pending.size, 0);
    assert.equal(timer.hasRef(), true);
    assert.equal(timer.unref().hasRef(), false);
  });
});
