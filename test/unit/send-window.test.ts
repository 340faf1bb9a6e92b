import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admitted, roomAt, sendWindow } from '../../lambdas/domain/send-window';

describe('sendWindow', () => {
  it('checks the last ceil(rate) sends against one second up to 100 a second', () => {
    assert.deepEqual(sendWindow(5), { size: 5, ms: 1000 });
    assert.deepEqual(sendWindow(0.1), { size: 1, ms: 1000 });
    assert.deepEqual(sendWindow(2.5), { size: 3, ms: 1000 });
    assert.deepEqual(sendWindow(100), { size: 100, ms: 1000 });
  });

  it('checks the last 100 sends against 100/rate of a second above that', () => {
    assert.deepEqual(sendWindow(200), { size: 100, ms: 500 });
    assert.deepEqual(sendWindow(5000), { size: 100, ms: 20 });
  });
});

describe('roomAt and admitted', () => {
  const window = { size: 3, ms: 1000 };

  it('admits while fewer than size sends fall within the window', () => {
    assert.deepEqual(roomAt(window, [], 5_000), { admit: true });
    assert.deepEqual(roomAt(window, [4_100, 4_500], 5_000), { admit: true });
    assert.deepEqual(roomAt(window, [3_000, 4_100, 4_500], 5_000), { admit: true }, 'one is a second old');
  });

  it('names the time the oldest send within the window leaves it', () => {
    assert.deepEqual(roomAt(window, [4_200, 4_100, 4_500], 5_000), { retryAt: 5_100 });
  });

  it('keeps the newest size sends', () => {
    assert.deepEqual(admitted(window, [1, 2, 3], 4), [2, 3, 4]);
    assert.deepEqual(admitted(window, [], 4), [4]);
  });
});
