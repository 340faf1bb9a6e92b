import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PLAN_TIMEOUT_SECONDS, planDefinitionSchema, slug } from '../../statemachines/plan-definition';

const validPlan = () => ({
  id: 'dsl-broadband',
  fulfils: [{ offering: 'dsl-broadband' }],
  items: [{ id: 'reserve-port', type: 'callout', interface: 'inventory-reserve-port' }] as Record<
    string,
    unknown
  >[],
});

function issuesOf(input: unknown) {
  const result = planDefinitionSchema.safeParse(input);
  assert.equal(result.success, false, 'the plan is rejected');
  return result.error?.issues ?? [];
}

describe('planDefinitionSchema', () => {
  it('applies the defaults: no dependencies, the add action and a 14-day timeout', () => {
    // Prepare
    const input = validPlan();

    // Act
    const plan = planDefinitionSchema.parse(input);

    // Assess
    assert.deepEqual(plan, {
      id: 'dsl-broadband',
      fulfils: [{ offering: 'dsl-broadband', actions: ['add'] }],
      timeoutSeconds: 1_209_600,
      items: [{ id: 'reserve-port', type: 'callout', dependsOn: [], interface: 'inventory-reserve-port' }],
    });
  });

  it('keeps explicit dependencies, actions and timeout', () => {
    const input = {
      ...validPlan(),
      description: 'DSL',
      timeoutSeconds: 60,
      fulfils: [{ offering: 'dsl', actions: ['modify', 'delete'] }],
      items: [
        { id: 'a', type: 'milestone' },
        { id: 'b', type: 'milestone', dependsOn: ['a'] },
      ],
    };

    const plan = planDefinitionSchema.parse(input);

    assert.deepEqual(plan.fulfils, [{ offering: 'dsl', actions: ['modify', 'delete'] }]);
    assert.equal(plan.timeoutSeconds, 60);
    assert.deepEqual(plan.items[1]?.dependsOn, ['a']);
    assert.equal(plan.description, 'DSL');
  });

  it('rejects a callout that names no interface, at the interface field', () => {
    const input = { ...validPlan(), items: [{ id: 'reserve-port', type: 'callout' }] };

    const issues = issuesOf(input);

    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [[['items', 0, 'interface'], 'a callout names the system interface it calls']],
    );
  });

  it('rejects a milestone that names an interface, at the interface field', () => {
    const input = {
      ...validPlan(),
      items: [
        { id: 'a', type: 'milestone' },
        { id: 'b', type: 'milestone', interface: 'inventory' },
      ],
    };

    const issues = issuesOf(input);

    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [[['items', 1, 'interface'], 'a milestone calls no system interface']],
    );
  });

  for (const bad of ['Reserve', 'has space', '-leading-dash', 'under_score', '', 'a'.repeat(64), 'é']) {
    it(`rejects the id ${JSON.stringify(bad)} for plans, items and dependencies`, () => {
      const issues = issuesOf({
        ...validPlan(),
        id: bad,
        items: [
          { id: bad, type: 'milestone' },
          { id: 'ok', type: 'milestone', dependsOn: [bad] },
        ],
      });

      assert.deepEqual(
        issues.map((i) => i.path.join('.')),
        ['id', 'items.0.id', 'items.1.dependsOn.0'],
      );
    });
  }

  for (const good of ['a', '0', 'reserve-port-2', 'a'.repeat(63), '9-lives']) {
    it(`accepts the slug ${JSON.stringify(good)}`, () => {
      assert.equal(slug.safeParse(good).success, true);
    });
  }

  it('rejects unknown fields on a plan and on an item', () => {
    const input = { ...validPlan(), retries: 3, items: [{ id: 'a', type: 'milestone', retry: 'forever' }] };

    const issues = issuesOf(input);

    assert.deepEqual(issues.map((i) => [i.code, i.path.join('.')]).sort(), [
      ['unrecognized_keys', ''],
      ['unrecognized_keys', 'items.0'],
    ]);
  });

  it('rejects an item type it does not know, and a line action a plan cannot fulfil', () => {
    const input = {
      ...validPlan(),
      fulfils: [{ offering: 'dsl', actions: ['noChange'] }],
      items: [{ id: 'a', type: 'manual-task' }],
    };

    const issues = issuesOf(input);

    assert.deepEqual(issues.map((i) => i.path.join('.')).sort(), ['fulfils.0.actions.0', 'items.0.type']);
  });

  it('rejects empty fulfils, empty actions and empty items', () => {
    assert.deepEqual(
      issuesOf({ ...validPlan(), fulfils: [] }).map((i) => i.path.join('.')),
      ['fulfils'],
    );
    assert.deepEqual(
      issuesOf({ ...validPlan(), fulfils: [{ offering: 'x', actions: [] }] }).map((i) => i.path.join('.')),
      ['fulfils.0.actions'],
    );
    assert.deepEqual(
      issuesOf({ ...validPlan(), items: [] }).map((i) => i.path.join('.')),
      ['items'],
    );
  });

  it('bounds the timeout to whole seconds between 1 and the local engine ceiling', () => {
    for (const bad of [0, -1, 1.5, MAX_PLAN_TIMEOUT_SECONDS + 1]) {
      assert.deepEqual(
        issuesOf({ ...validPlan(), timeoutSeconds: bad }).map((i) => i.path.join('.')),
        ['timeoutSeconds'],
        `timeout ${bad}`,
      );
    }
    assert.equal(
      planDefinitionSchema.parse({ ...validPlan(), timeoutSeconds: MAX_PLAN_TIMEOUT_SECONDS }).timeoutSeconds,
      2_147_483,
    );
  });
});
