import jsonata, { type Expression } from 'jsonata';
import { MappingError } from './errors';

const compiled = new Map<string, Expression>();

/** A JSONata expression compiled once per process (a mapping, a path's placeholder); throws on bad syntax. */
export function compiledExpression(expression: string): Expression {
  let program = compiled.get(expression);
  if (!program) {
    program = jsonata(expression);
    compiled.set(expression, program);
  }
  return program;
}

/**
 * Evaluates a named JSONata mapping. Whatever goes wrong — a syntax error, a runtime error, a result that
 * is not JSON — comes back as a MappingError naming the mapping, never as a crash.
 */
export async function evaluateMapping(name: string, expression: string, input: unknown): Promise<unknown> {
  let program: Expression;
  try {
    program = compiledExpression(expression);
  } catch (error) {
    throw new MappingError(name, `is not valid JSONata: ${(error as Error).message}`);
  }
  let result: unknown;
  try {
    result = await program.evaluate(input);
  } catch (error) {
    throw new MappingError(name, (error as Error).message);
  }
  if (result === undefined) throw new MappingError(name, 'produced no value');
  return toJson(name, result);
}

/** Like evaluateMapping, for mappings that must yield an object of order attributes. */
export async function evaluateAttributeMapping(
  name: string,
  expression: string,
  input: unknown,
): Promise<Record<string, unknown>> {
  const result = await evaluateMapping(name, expression, input);
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw new MappingError(name, 'must produce an object of attributes');
  }
  return result as Record<string, unknown>;
}

function toJson(name: string, value: unknown): unknown {
  // JSONata sequences carry a hidden `sequence` flag and may hold functions; a JSON round trip both
  // normalises them and proves the value can be stored and sent.
  const seen = new Set<unknown>();
  const check = (v: unknown, path: string): void => {
    const where = path || 'the top';
    if (typeof v === 'function') throw new MappingError(name, `produced a function at ${where}`);
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new MappingError(name, `produced ${v} at ${where}`);
    if (v !== null && typeof v === 'object') {
      if (seen.has(v)) throw new MappingError(name, `produced a circular value at ${where}`);
      seen.add(v);
      for (const [k, inner] of Object.entries(v)) check(inner, path ? `${path}.${k}` : k);
      seen.delete(v);
    }
  };
  check(value, '');
  return JSON.parse(JSON.stringify(value));
}
