import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FINAL_STATES, ITEM_EVENTS, LIFECYCLE } from '../../lambdas/domain/item-lifecycle';
import { ITEM_STATES } from '../../lambdas/domain/orchestration';

const API_DOC = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'api.md'), 'utf8');

/** The docs' "### Items" section, up to the next heading. */
function itemsSection(): string {
  const start = API_DOC.indexOf('### Items');
  assert.ok(start >= 0, 'docs/api.md has an "### Items" section');
  const end = API_DOC.indexOf('\n#', start + 1);
  return API_DOC.slice(start, end < 0 ? undefined : end);
}

/** Where an event may take an item from, as the docs write it. */
function fromOf(event: (typeof ITEM_EVENTS)[number]): string[] {
  const rule = LIFECYCLE[event];
  return [
    ...rule.from,
    ...(rule.fromOwnRunning ? ['Running (its own attempt)'] : []),
    ...(rule.fromExpiredRunning ? ['Running (lease run out)'] : []),
  ];
}

describe('docs/api.md on item states', () => {
  it('lists every transition of the lifecycle table, as the table has it', () => {
    const rows = itemsSection()
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    assert.deepEqual(
      rows,
      ITEM_EVENTS.map((event) => {
        const rule = LIFECYCLE[event];
        return `| \`${event}\` | ${fromOf(event).join(', ')} | ${rule.to} | ${rule.means} |`;
      }),
    );
  });

  it('draws an arrow for every move an event makes, and every state', () => {
    const arrows = new Set(
      [...itemsSection().matchAll(/^\s+(\w+) --> (\w+)/gm)].map(([, from, to]) => `${from} → ${to}`),
    );
    for (const event of ITEM_EVENTS) {
      for (const from of new Set(fromOf(event).map((state) => state.split(' ')[0]))) {
        assert.ok(
          arrows.has(`${from} → ${LIFECYCLE[event].to}`),
          `${event}: ${from} → ${LIFECYCLE[event].to}`,
        );
      }
    }
    for (const state of ITEM_STATES) assert.match(itemsSection(), new RegExp(`\\b${state}\\b`));
    for (const state of FINAL_STATES)
      assert.ok(arrows.has(`${state} → [*]`) || itemsSection().includes(`${state} --> [*]`));
  });
});
