import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from '../../local/token-bucket';

describe('TokenBucket (the local API Gateway’s throttling)', () => {
  it('lets a burst through at once, then refuses until tokens come back at the rate', () => {
    // Prepare: 10 a second, bursts of 5, on a clock the test moves.
    let now = 0;
    const bucket = new TokenBucket(10, 5, () => now);

    // Act + Assess: the burst.
    assert.deepEqual(
      Array.from({ length: 6 }, () => bucket.take()),
      [true, true, true, true, true, false],
    );
    // A tenth of a second brings one token back; half a second, five; never more than the burst.
    now = 100;
    assert.deepEqual([bucket.take(), bucket.take()], [true, false]);
    now = 10_000;
    assert.equal(Array.from({ length: 10 }, () => bucket.take()).filter(Boolean).length, 5);
  });

  it('lets the rate through when requests come evenly at it', () => {
    let now = 0;
    const bucket = new TokenBucket(50, 1, () => now);
    const taken = Array.from({ length: 100 }, (_, i) => {
      now = i * 20;
      return bucket.take();
    });
    assert.ok(taken.every(Boolean));
  });
});
