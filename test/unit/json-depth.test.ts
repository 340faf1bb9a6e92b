import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_JSON_DEPTH, tooDeep } from '../../lambdas/domain/json-depth';
import { parseIfJson } from '../../lambdas/use-cases/callout-exchange';

/** How deep a value nests, the plain recursive way (fine for the small values drawn here). */
function depth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depth));
}

describe('tooDeep', () => {
  it('finds a value too deep exactly when it nests deeper than the limit, and names a path that deep', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ depthSize: 'large', maxDepth: 12 }),
        fc.integer({ min: 1, max: 10 }),
        (value, max) => {
          const path = tooDeep(value, max);
          assert.equal(path !== undefined, depth(value) > max);
          if (!path) return;
          assert.equal(path.length, max);
          let at: unknown = value;
          for (const key of path) at = (at as Record<string, unknown>)[key];
          assert.ok(
            at !== null && typeof at === 'object',
            'the path ends at an object or array one level too deep',
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('measures 100,000 levels without running out of stack', () => {
    const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    assert.equal(tooDeep(JSON.parse(text))?.length, MAX_JSON_DEPTH);
  });
});

describe('parseIfJson: what an item keeps of a system answer', () => {
  it('keeps an answer nested deeper than a record holds as the text it came as, cut', () => {
    const text = `{"a":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    assert.equal(parseIfJson(text), text.slice(0, 2000));
    assert.deepEqual(parseIfJson('{"port":"p-7"}'), { port: 'p-7' });
  });
});
