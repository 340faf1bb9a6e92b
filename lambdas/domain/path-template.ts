import jsonata from 'jsonata';
import { MappingError } from './errors';
import { compiledExpression } from './mapping';

/**
 * An interface's path (and query) may hold placeholders in braces, filled from the order when a callout
 * is prepared, so that a callout can name what it acts on: `DELETE /ports/reservations/{portId}`.
 *
 * - `{portId}`, a bare name, is an attribute an earlier item wrote: the item's line's own first (two DSL
 *   lines each release their own port), then the order's.
 * - Anything else in braces is a JSONata expression over what mappings see: `{order.id}`,
 *   `{characteristics.serviceId}`, `{$lowercase(attributes.region)}`. It cannot hold braces itself.
 *
 * Each value is percent-encoded, so a value never adds a path segment or a query parameter; it must be
 * a string, a number or a boolean. The template is checked at synth (pathTemplateProblems); a value the
 * order does not have fails the callout with the placeholder named, which the retry rules send to fallout.
 */

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** What placeholders are filled from: what mappings see (callout.ts, MappingInput). */
export interface PathInput {
  attributes: Record<string, unknown>;
  lineAttributes: Record<string, unknown>;
}
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface PathPlaceholder {
  /** As written, with its braces. */
  text: string;
  /** A bare name: an attribute of the order. */
  attribute?: string;
  /** Otherwise a JSONata expression. */
  expression?: string;
}

/** The placeholders of a path, in order. */
export function pathPlaceholders(path: string): PathPlaceholder[] {
  return [...path.matchAll(PLACEHOLDER)].map(([text, inner = '']) => {
    const body = inner.trim();
    return ATTRIBUTE_NAME.test(body) ? { text, attribute: body } : { text, expression: body };
  });
}

/** What is wrong with a path template, one sentence each (none when it is sound). */
export function pathTemplateProblems(path: string): string[] {
  const problems: string[] = [];
  const outside = path.replace(PLACEHOLDER, '');
  if (/[{}]/.test(outside))
    problems.push(
      'has a brace that opens or closes no placeholder (a placeholder is "{name}" or "{expression}")',
    );
  for (const placeholder of pathPlaceholders(path)) {
    if (placeholder.expression === undefined) continue;
    if (placeholder.expression === '') {
      problems.push(`has an empty placeholder ${placeholder.text}`);
      continue;
    }
    try {
      jsonata(placeholder.expression);
    } catch (error) {
      problems.push(`placeholder ${placeholder.text} is not valid JSONata: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** The path with its placeholders filled from the order; a MappingError naming the placeholder otherwise. */
export async function expandPath(path: string, input: PathInput, interfaceId: string): Promise<string> {
  const placeholders = pathPlaceholders(path);
  if (placeholders.length === 0) return path;
  const values = await Promise.all(placeholders.map((p) => placeholderValue(p, input, interfaceId)));
  let index = 0;
  return path.replace(PLACEHOLDER, () => encodeURIComponent(values[index++] ?? ''));
}

async function placeholderValue(
  placeholder: PathPlaceholder,
  input: PathInput,
  interfaceId: string,
): Promise<string> {
  const fail = (message: string) =>
    new MappingError(`path of interface ${interfaceId}`, `placeholder ${placeholder.text} ${message}`);
  let value: unknown;
  if (placeholder.attribute !== undefined) {
    const name = placeholder.attribute;
    value = input.lineAttributes[name] ?? input.attributes[name];
    if (value === undefined) throw fail(`names attribute "${name}", which no item of the order has written`);
  } else {
    try {
      value = await compiledExpression(placeholder.expression ?? '').evaluate(input);
    } catch (error) {
      throw fail(`failed: ${(error as Error).message}`);
    }
    if (value === undefined) throw fail('produced no value');
  }
  if (value === '') throw fail('produced an empty string, which would name another resource');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  throw fail(`must produce a string, a number or a boolean, not ${value === null ? 'null' : typeof value}`);
}
