/**
 * How deep a JSON value nests. DynamoDB keeps at most 32 levels in one attribute, and a kept value sits
 * a few levels down in its record (an order's characteristic value is six levels into the accepted
 * order), so what comes in from outside is held to `MAX_JSON_DEPTH`; deeper values are refused before
 * anything recursive (a schema, JSON.stringify, the marshaller) looks at them.
 */
export const MAX_JSON_DEPTH = 24;

/**
 * The path to the first place where `value` nests deeper than `max` levels (an object or array is one
 * level, its members the next), or undefined when it does not. Walked with a stack, not recursion, so a
 * value 10,000 levels deep is measured as cheaply as a flat one.
 */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH): string[] | undefined {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: next, path } = stack.pop() as { value: unknown; path: string[] };
    if (next === null || typeof next !== 'object') continue;
    if (path.length >= max) return path;
    for (const [key, member] of Object.entries(next)) stack.push({ value: member, path: [...path, key] });
  }
  return undefined;
}
