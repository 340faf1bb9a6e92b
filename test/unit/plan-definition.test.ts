import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  itemTypes,
  MAX_TIMEOUT_SECONDS,
  planDefinitionSchema,
  planItemSchema,
  slug,
} from '../../statemachines/plan-definition';

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
  it('applies the defaults: no dependencies, line scope, no point of no return, the add action, a 14-day timeout and a 25 % overrun margin', () => {
    // Prepare
    const input = validPlan();

    // Act
    const plan = planDefinitionSchema.parse(input);

    // Assess
    assert.deepEqual(plan, {
      id: 'dsl-broadband',
      fulfils: [{ offering: 'dsl-broadband', actions: ['add'] }],
      timeoutSeconds: 1_209_600,
      overrunMargin: 0.25,
      items: [
        {
          id: 'reserve-port',
          type: 'callout',
          dependsOn: [],
          scope: 'line',
          pointOfNoReturn: false,
          interface: 'inventory-reserve-port',
        },
      ],
    });
    assert.equal('timeoutSeconds' in (plan.items[0] ?? {}), false, 'an item timeout is not defaulted');
    assert.equal('condition' in (plan.items[0] ?? {}), false);
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

  it('knows the four item types', () => {
    assert.deepEqual(itemTypes, ['callout', 'autoTask', 'milestone', 'manualTask']);
  });

  it('keeps every item field of every item type', () => {
    // Prepare
    const input = {
      ...validPlan(),
      items: [
        {
          id: 'survey',
          type: 'callout',
          interface: 'site-survey',
          scope: 'order',
          condition: 'characteristics.survey = true',
          timeoutSeconds: 600,
        },
        { id: 'pick', type: 'autoTask', setAttributes: '{ "package": "basic" }', dependsOn: ['survey'] },
        { id: 'visit', type: 'manualTask', instructions: 'Fit the box.', dependsOn: ['pick'] },
        { id: 'ready', type: 'milestone', dependsOn: ['visit'], pointOfNoReturn: true },
      ],
    };

    // Act
    const plan = planDefinitionSchema.parse(input);

    // Assess
    assert.deepEqual(plan.items, [
      {
        id: 'survey',
        type: 'callout',
        interface: 'site-survey',
        scope: 'order',
        condition: 'characteristics.survey = true',
        timeoutSeconds: 600,
        dependsOn: [],
        pointOfNoReturn: false,
      },
      {
        id: 'pick',
        type: 'autoTask',
        setAttributes: '{ "package": "basic" }',
        dependsOn: ['survey'],
        scope: 'line',
        pointOfNoReturn: false,
      },
      {
        id: 'visit',
        type: 'manualTask',
        instructions: 'Fit the box.',
        dependsOn: ['pick'],
        scope: 'line',
        pointOfNoReturn: false,
      },
      { id: 'ready', type: 'milestone', dependsOn: ['visit'], scope: 'line', pointOfNoReturn: true },
    ]);
  });

  it('rejects a callout that names no interface, at the interface field', () => {
    const input = { ...validPlan(), items: [{ id: 'reserve-port', type: 'callout' }] };

    const issues = issuesOf(input);

    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [[['items', 0, 'interface'], 'a callout needs interface']],
    );
  });

  it('rejects an autoTask without setAttributes, at the setAttributes field', () => {
    const input = { ...validPlan(), items: [{ id: 'pick', type: 'autoTask' }] };

    const issues = issuesOf(input);

    assert.deepEqual(
      issues.map((i) => i.path.join('.')),
      ['items.0.setAttributes'],
    );
    assert.match(issues[0]?.message ?? '', /autoTask needs setAttributes, or a procedure to run$/);
  });

  for (const type of ['milestone', 'manualTask', 'autoTask'] as const) {
    it(`rejects a ${type} that names an interface, at the interface field`, () => {
      const item = {
        id: 'b',
        type,
        interface: 'inventory',
        ...(type === 'autoTask' ? { setAttributes: '{}' } : {}),
      };
      const input = { ...validPlan(), items: [{ id: 'a', type: 'milestone' }, item] };

      const issues = issuesOf(input);

      assert.deepEqual(
        issues.map((i) => i.path.join('.')),
        ['items.1.interface'],
      );
      assert.match(issues[0]?.message ?? '', new RegExp(`${type} has no interface$`));
    });
  }

  for (const type of ['callout', 'milestone', 'manualTask'] as const) {
    it(`rejects setAttributes on a ${type}, at the setAttributes field`, () => {
      const item = { id: 'a', type, setAttributes: '{}', ...(type === 'callout' ? { interface: 'x' } : {}) };

      const issues = issuesOf({ ...validPlan(), items: [item] });

      assert.deepEqual(
        issues.map((i) => [i.path.join('.'), i.message]),
        [['items.0.setAttributes', `a ${type} has no setAttributes`]],
      );
    });
  }

  for (const type of ['callout', 'autoTask', 'milestone'] as const) {
    it(`rejects instructions on a ${type}: only a manualTask has them`, () => {
      const item = {
        id: 'a',
        type,
        instructions: 'Do it.',
        ...(type === 'callout' ? { interface: 'x' } : {}),
        ...(type === 'autoTask' ? { setAttributes: '{}' } : {}),
      };

      const issues = issuesOf({ ...validPlan(), items: [item] });

      assert.deepEqual(
        issues.map((i) => [i.path.join('.'), i.message]),
        [['items.0.instructions', 'only a manualTask has instructions']],
      );
    });
  }

  it('accepts a manualTask and a milestone with neither interface nor setAttributes', () => {
    const plan = planDefinitionSchema.parse({
      ...validPlan(),
      items: [
        { id: 'visit', type: 'manualTask' },
        { id: 'ready', type: 'milestone' },
      ],
    });

    assert.deepEqual(
      plan.items.map((i) => i.type),
      ['manualTask', 'milestone'],
    );
  });

  it('reports every misplaced field of an item, not only the first', () => {
    const issues = issuesOf({
      ...validPlan(),
      items: [{ id: 'a', type: 'callout', setAttributes: '{}', instructions: 'x' }],
    });

    assert.deepEqual(issues.map((i) => i.path.join('.')).sort(), [
      'items.0.instructions',
      'items.0.interface',
      'items.0.setAttributes',
    ]);
  });

  it('rejects an empty condition or setAttributes, an unknown scope and a non-boolean pointOfNoReturn', () => {
    const issues = issuesOf({
      ...validPlan(),
      items: [
        { id: 'a', type: 'milestone', condition: '' },
        { id: 'b', type: 'autoTask', setAttributes: '' },
        { id: 'c', type: 'milestone', scope: 'plan' },
        { id: 'd', type: 'milestone', pointOfNoReturn: 'yes' },
      ],
    });

    assert.deepEqual(issues.map((i) => i.path.join('.')).sort(), [
      'items.0.condition',
      'items.1.setAttributes',
      'items.2.scope',
      'items.3.pointOfNoReturn',
    ]);
  });

  it('bounds an item timeout like the plan timeout', () => {
    for (const bad of [0, -1, 1.5, MAX_TIMEOUT_SECONDS + 1, '60']) {
      const result = planItemSchema.safeParse({ id: 'a', type: 'milestone', timeoutSeconds: bad });
      assert.equal(result.success, false, `item timeout ${bad}`);
      assert.deepEqual(
        result.error?.issues.map((i) => i.path.join('.')),
        ['timeoutSeconds'],
      );
    }
    for (const good of [1, MAX_TIMEOUT_SECONDS]) {
      assert.equal(
        planItemSchema.parse({ id: 'a', type: 'milestone', timeoutSeconds: good }).timeoutSeconds,
        good,
      );
    }
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

  it('bounds the plan timeout to whole seconds between 1 and a year, the longest a Standard workflow runs', () => {
    assert.equal(MAX_TIMEOUT_SECONDS, 31_536_000);
    for (const bad of [0, -1, 1.5, MAX_TIMEOUT_SECONDS + 1]) {
      assert.deepEqual(
        issuesOf({ ...validPlan(), timeoutSeconds: bad }).map((i) => i.path.join('.')),
        ['timeoutSeconds'],
        `timeout ${bad}`,
      );
    }
    assert.equal(
      planDefinitionSchema.parse({ ...validPlan(), timeoutSeconds: MAX_TIMEOUT_SECONDS }).timeoutSeconds,
      31_536_000,
    );
  });
});
