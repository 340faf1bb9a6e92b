import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actionsFor } from '../../console/src/actions';
import { ApiError, apiClient, nextCursor, query } from '../../console/src/api';
import { layoutPlan, NODE_WIDTH } from '../../console/src/graph-layout';
import { href, parseRoute, type Route } from '../../console/src/routes';
import {
  characteristicsText,
  fieldChangeText,
  limitsText,
  matchesText,
  policyText,
  scopeText,
  valueText,
} from '../../console/src/text';

describe('console: the plan graph layout', () => {
  it('places every item after what it depends on, left to right, and routes each dependency', () => {
    // The DSL plan: reserve-port, then activation and the booking side by side, then billing.
    const nodes = ['reserve', 'activate', 'book', 'bill'].map((key) => ({ key, label: key }));
    const edges = [
      { from: 'reserve', to: 'activate' },
      { from: 'reserve', to: 'book' },
      { from: 'activate', to: 'bill' },
    ];

    const layout = layoutPlan(nodes, edges);

    const at = Object.fromEntries(layout.nodes.map((n) => [n.key, n]));
    for (const { from, to } of edges) {
      assert.ok((at[from]?.x ?? 0) + NODE_WIDTH < (at[to]?.x ?? 0), `${from} left of ${to}`);
    }
    assert.equal(at.activate?.x, at.book?.x, 'siblings share a layer');
    assert.notEqual(at.activate?.y, at.book?.y, 'and do not overlap');
    assert.equal(layout.edges.length, 3);
    for (const edge of layout.edges) assert.ok(edge.points.length >= 2);
    const right = Math.max(...layout.nodes.map((n) => n.x + n.width));
    assert.ok(layout.width >= right, 'the drawing holds every node');
  });

  it('lays out a plan without dependencies, and leaves out edges to items it does not have', () => {
    const layout = layoutPlan([{ key: 'only', label: 'only' }], [{ from: 'gone', to: 'only' }]);
    assert.equal(layout.nodes.length, 1);
    assert.deepEqual(layout.edges, []);
  });
});

describe('console: routes', () => {
  it('reads every page back from its own address', () => {
    const routes: Route[] = [
      { page: 'orders' },
      { page: 'orders', state: 'held', search: 'CRM 42/7' },
      { page: 'order', orderId: 'o-1', item: 'dsl.activate-line.1' },
      { page: 'systems' },
      { page: 'system', systemId: 'activation', tab: 'on-hold' },
      { page: 'system', systemId: 'activation', interfaceId: 'activation-activate-line' },
      { page: 'fallout' },
      { page: 'retry-rules' },
      { page: 'retry-rules', ruleId: 'new' },
      { page: 'retry-rules', creating: true },
    ];
    for (const route of routes) assert.deepEqual(parseRoute(href(route)), route);
  });

  it('takes anything else for the orders list', () => {
    assert.deepEqual(parseRoute(''), { page: 'orders' });
    assert.deepEqual(parseRoute('#/nowhere'), { page: 'orders' });
    assert.deepEqual(parseRoute('#token=abc'), { page: 'orders' });
  });
});

describe('console: the actions an item allows', () => {
  it('offers what the API accepts in each state', () => {
    assert.deepEqual(actionsFor({ type: 'callout', state: 'FatallyFailed' }), ['retry', 'skip', 'fail']);
    assert.deepEqual(actionsFor({ type: 'callout', state: 'Failed' }), ['retry', 'skip', 'fail']);
    assert.deepEqual(actionsFor({ type: 'callout', state: 'OnHold' }), ['skip']);
    assert.deepEqual(actionsFor({ type: 'manualTask', state: 'Running' }), ['complete']);
    assert.deepEqual(actionsFor({ type: 'callout', state: 'Running' }), ['abort']);
    assert.deepEqual(actionsFor({ type: 'autoTask', state: 'Running' }), ['abort']);
    for (const state of ['Pending', 'Completed', 'Skipped'])
      assert.deepEqual(actionsFor({ type: 'callout', state }), [], state);
  });
});

describe('console: the API client', () => {
  const answer = (status: number, body: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), { status });

  it('sends the token and JSON, and reads JSON back', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const api = apiClient(
      { token: async () => 'tok', signedOut: () => assert.fail('still signed in') },
      async (url, init) => {
        seen.push({ url: String(url), init: init ?? {} });
        return answer(200, { ok: true });
      },
    );

    const result = await api.put<{ ok: boolean }>('/admin/retry-rules/r', { a: 1 });

    assert.deepEqual(result.body, { ok: true });
    assert.equal(seen[0]?.url, '/admin/retry-rules/r');
    const headers = seen[0]?.init.headers as Record<string, string>;
    assert.equal(headers.authorization, 'Bearer tok');
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(seen[0]?.init.body, '{"a":1}');
  });

  it("keeps the API's message and its problems by field, and signs out on a 401", async () => {
    let signedOut = 0;
    const api = apiClient({ token: async () => 'tok', signedOut: () => signedOut++ }, async (url) =>
      String(url).includes('rules')
        ? answer(400, {
            message: 'policy.count: expected number',
            problems: [{ field: 'policy.count', message: 'expected number, received string' }],
          })
        : answer(401, { message: 'Unauthorized' }),
    );

    const refused = await api.put('/admin/retry-rules/r', {}).catch((error: unknown) => error);
    assert.ok(refused instanceof ApiError);
    assert.equal(refused.status, 400);
    assert.equal(refused.problemAt('policy.count'), 'expected number, received string');
    assert.equal(refused.problemAt('scope'), undefined);

    const unauthorized = await api.get('/admin/systems').catch((error: unknown) => error);
    assert.ok(unauthorized instanceof ApiError);
    assert.equal(unauthorized.status, 401);
    assert.equal(signedOut, 1);
  });

  it('builds query strings from the defined values only', () => {
    assert.equal(query({ state: 'held', search: undefined, offset: 0, empty: '' }), '?state=held&offset=0');
    assert.equal(query({}), '');
  });

  it('reads the next page’s cursor from the Link header, and none without one', () => {
    const link =
      '</tmf-api/productOrderingManagement/v5/productOrder?state=held&limit=50&after=eyJhIjoxfQ>; rel="next"';
    assert.equal(nextCursor(link), 'eyJhIjoxfQ');
    assert.equal(nextCursor(null), undefined);
    assert.equal(nextCursor('</x?after=1>; rel="prev"'), undefined);
  });
});

describe('console: how rules and limits read', () => {
  it('says each policy, scope, match and limit in a line', () => {
    assert.equal(policyText({ type: 'fixed', count: 3, intervalSeconds: 30 }), '3 × every 30 s');
    assert.equal(policyText({ type: 'staggered', intervalsSeconds: [10, 60] }), 'after 10, 60 s');
    assert.equal(policyText({ type: 'none' }), 'no retry: fallout at once');
    assert.equal(scopeText({ kind: 'system', systemId: 'billing' }), 'system billing');
    assert.equal(scopeText({ kind: 'all' }), 'every callout');
    assert.equal(
      matchesText({ timeouts: true, connectionErrors: false, failedAnswers: false, statuses: [503, '5xx'] }),
      'timeouts, 503, 5xx',
    );
    assert.equal(limitsText({ maxConcurrentCallouts: 4 }), '4 at once');
    assert.equal(limitsText({}), 'none');
  });
});

describe("console: an order line's characteristics", () => {
  const dsl = {
    id: 'dsl-broadband',
    name: 'DSL broadband',
    characteristics: [
      { name: 'bandwidth', unit: 'Mbit/s' },
      { name: 'serviceAddress' },
      { name: 'contactEmail' },
    ],
  };

  it('lists what the offering declares, in its order, each value with its unit, — for one left out', () => {
    const text = characteristicsText(
      [
        { name: 'serviceAddress', value: '1 Main Street' },
        { name: 'bandwidth', value: 100 },
      ],
      dsl,
    );
    assert.deepEqual(text, [
      { name: 'bandwidth', text: '100 Mbit/s' },
      { name: 'serviceAddress', text: '1 Main Street' },
      { name: 'contactEmail', text: '—' },
    ]);
  });

  it('shows what the offering does not declare after, and everything as sent without an offering', () => {
    assert.deepEqual(characteristicsText([{ name: 'legacy', value: { a: 1 } }], dsl).at(-1), {
      name: 'legacy',
      text: '{"a":1}',
    });
    assert.deepEqual(characteristicsText([{ name: 'on', value: true }], undefined), [
      { name: 'on', text: 'true' },
    ]);
  });
});

describe('console: configuration values', () => {
  it('reads any value as one line, so a field the console does not know yet shows too', () => {
    assert.equal(valueText('https://inventory.example.com/'), 'https://inventory.example.com/');
    assert.equal(valueText(30), '30');
    assert.equal(valueText([200, 202]), '200, 202');
    assert.equal(valueText(null), 'none');
    assert.equal(valueText(undefined), 'none');
    assert.equal(
      valueText({ intervalSeconds: 60, maxAttempts: 5 }),
      '{"intervalSeconds":60,"maxAttempts":5}',
    );
    assert.equal(fieldChangeText({ field: 'timeoutSeconds', from: 10, to: 1 }), 'timeoutSeconds: 10 → 1');
    assert.equal(
      fieldChangeText({ field: 'circuitBreaker', from: { failureThreshold: 3 }, to: null }),
      'circuitBreaker: {"failureThreshold":3} → none',
    );
  });
});
