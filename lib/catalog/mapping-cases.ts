import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Catalog } from '../../lambdas/domain/catalog';
import { evaluateMapping } from '../../lambdas/domain/mapping';
import { mapSystemAnswer, type SystemAnswerInput } from '../../lambdas/domain/system-outcome';

/**
 * A mapping's fixtures: `mappings/<name>.cases.yaml` beside `<name>.jsonata`, each case what the mapping
 * sees (`input`: order, line, characteristics, prices, attributes, lineAttributes, and for response
 * mappings `response` and `status`; for callback and status mappings the system's answer: `body`,
 * `headers`, and a poll's `status`) and either the JSON it must produce (`expect`) or a pattern its
 * error must match (`expectError`). A callback or status mapping's result must also be an outcome.
 */
const casesFileSchema = z
  .object({
    cases: z
      .array(
        z
          .object({
            name: z.string().min(1),
            input: z.record(z.string(), z.unknown()),
            expect: z.unknown().optional(),
            expectError: z.string().min(1).optional(),
          })
          .strict()
          .refine((c) => (c.expect === undefined) !== (c.expectError === undefined), {
            message: 'a case has either expect or expectError',
          }),
      )
      .min(1),
  })
  .strict();

export interface MappingCaseResult {
  mapping: string;
  file: string;
  name: string;
  /** Undefined when the case passed. */
  failure?: string;
}

export const casesFileOf = (catalogDir: string, mapping: string) =>
  join(catalogDir, 'mappings', `${mapping}.cases.yaml`);

/** Runs every case of every mapping; a mapping without a cases file is one failure. */
export async function runMappingCases(catalogDir: string, catalog: Catalog): Promise<MappingCaseResult[]> {
  const results: MappingCaseResult[] = [];
  // Callback and status mappings must produce an outcome: a case whose result is none fails.
  const outcomes = new Set(
    Object.values(catalog.interfaces).flatMap((i) => [i.callbackMapping, i.polling?.statusMapping]),
  );
  for (const [mapping, expression] of Object.entries(catalog.mappings).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const file = casesFileOf(catalogDir, mapping);
    const shown = relative(process.cwd(), file) || file;
    if (!existsSync(file)) {
      results.push({
        mapping,
        file: shown,
        name: '(cases)',
        failure: 'has no cases file: every mapping needs one',
      });
      continue;
    }
    const parsed = casesFileSchema.safeParse(parseYaml(readFileSync(file, 'utf8')));
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      results.push({ mapping, file: shown, name: '(cases)', failure: `is not a valid cases file: ${why}` });
      continue;
    }
    for (const testCase of parsed.data.cases) {
      let failure: string | undefined;
      try {
        const actual = outcomes.has(mapping)
          ? (await mapSystemAnswer(mapping, expression, systemAnswerOf(testCase.input))).result
          : await evaluateMapping(mapping, expression, testCase.input);
        if (testCase.expectError !== undefined) {
          failure = `expected an error matching /${testCase.expectError}/, got ${JSON.stringify(actual)}`;
        } else if (!isDeepStrictEqual(actual, testCase.expect)) {
          failure = `expected ${JSON.stringify(testCase.expect)}, got ${JSON.stringify(actual)}`;
        }
      } catch (error) {
        const message = (error as Error).message;
        if (testCase.expectError === undefined || !new RegExp(testCase.expectError).test(message)) {
          failure = `failed: ${message}`;
        }
      }
      results.push({ mapping, file: shown, name: testCase.name, ...(failure ? { failure } : {}) });
    }
  }
  return results;
}

/** A case's input as a callback or status mapping sees it: headers default to none. */
function systemAnswerOf(input: Record<string, unknown>): SystemAnswerInput {
  const headers = (input.headers as Record<string, string> | undefined) ?? {};
  return { ...input, body: input.body, headers } as SystemAnswerInput;
}
