import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCatalog } from '../../lib/catalog/load-catalog';
import { runMappingCases } from '../../lib/catalog/mapping-cases';
import { dslCatalog } from './fixtures/catalogs';

describe("the demo catalog's mappings", async () => {
  // Every mapping of the catalog, each case of its mappings/<name>.cases.yaml, as its own test.
  const results = await runMappingCases('catalog', loadCatalog('catalog'));

  it('has cases for every mapping', () => {
    const mappings = Object.keys(loadCatalog('catalog').mappings);
    assert.deepEqual([...new Set(results.map((r) => r.mapping))].sort(), mappings.sort());
  });

  for (const result of results) {
    it(`${result.mapping}: ${result.name}`, () => {
      assert.equal(result.failure, undefined, `${result.file}: ${result.failure}`);
    });
  }
});

describe('runMappingCases', () => {
  it('reports a mapping without a cases file, a wrong result, a missing error and an invalid cases file', async () => {
    // Prepare
    const catalog = { ...dslCatalog(), mappings: { double: '{ "twice": value * 2 }' } };
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-cases-'));
    mkdirSync(join(dir, 'mappings'));
    const casesFile = join(dir, 'mappings', 'double.cases.yaml');

    // Act
    const missing = await runMappingCases(dir, catalog);
    writeFileSync(
      casesFile,
      [
        'cases:',
        '  - { name: right, input: { value: 2 }, expect: { twice: 4 } }',
        '  - { name: wrong, input: { value: 2 }, expect: { twice: 5 } }',
        '  - { name: no error, input: { value: 2 }, expectError: "never" }',
        '  - { name: an error as expected, input: { value: "x" }, expectError: "double" }',
      ].join('\n'),
    );
    const ran = await runMappingCases(dir, catalog);
    writeFileSync(casesFile, 'cases:\n  - { name: both, input: {}, expect: 1, expectError: x }\n');
    const invalid = await runMappingCases(dir, catalog);

    // Assess
    assert.match(missing[0]?.failure ?? '', /has no cases file/);
    assert.deepEqual(
      ran.map((r) => [r.name, r.failure === undefined]),
      [
        ['right', true],
        ['wrong', false],
        ['no error', false],
        ['an error as expected', true],
      ],
    );
    assert.match(ran[1]?.failure ?? '', /expected \{"twice":5\}, got \{"twice":4\}/);
    assert.match(invalid[0]?.failure ?? '', /not a valid cases file: .*either expect or expectError/);
  });
});
