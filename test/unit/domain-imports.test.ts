import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const DOMAIN = join(import.meta.dirname, '..', '..', 'lambdas', 'domain');

/** Each domain module and the domain modules it imports. */
function domainGraph(): Map<string, { imports: string[]; source: string }> {
  const graph = new Map<string, { imports: string[]; source: string }>();
  for (const file of readdirSync(DOMAIN).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(DOMAIN, file), 'utf8');
    const imports = [...source.matchAll(/from '\.\/([a-z-]+)'/g)].map((m) => `${m[1]}.ts`);
    graph.set(file, { imports, source });
  }
  return graph;
}

describe('the domain modules', () => {
  it('import one another without a circle', () => {
    const graph = domainGraph();
    const state = new Map<string, 'visiting' | 'done'>();
    const path: string[] = [];
    const visit = (file: string) => {
      if (state.get(file) === 'done') return;
      assert.notEqual(state.get(file), 'visiting', `an import circle: ${[...path, file].join(' → ')}`);
      state.set(file, 'visiting');
      path.push(file);
      for (const next of graph.get(file)?.imports ?? []) visit(next);
      path.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file);
  });

  it('are pure: no AWS SDK, no adapters, no use cases', () => {
    for (const [file, { source }] of domainGraph()) {
      assert.doesNotMatch(source, /from '@aws-sdk\//, `${file} imports the AWS SDK`);
      assert.doesNotMatch(
        source,
        /from '\.\.\/(adapters|use-cases|shared)\//,
        `${file} reaches out of the domain`,
      );
    }
  });
});
