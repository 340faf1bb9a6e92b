import { ValidationError } from './errors';

/**
 * TMF630 attribute selection: `?fields=state,productOrderItem.id` answers each resource with only the
 * attributes named — a dotted name reaches into an object, or into each element of a list — and always
 * with the attributes that identify it (`id`, `href`, `@type`). A name the resource does not have
 * selects nothing; a list that is not a comma-separated list of attribute names is refused with 400
 * naming `fields`.
 */

/** A selection: attribute paths, each a list of names. */
export type FieldSelection = readonly (readonly string[])[];

const NAME = /^[A-Za-z@][A-Za-z0-9@_-]{0,99}$/;
/** At most this many names: a selection is a handful of attributes, not a query language. */
const MAX_FIELDS = 50;
/** What a resource always keeps, whatever is selected (its extensions' schema too, as TMF630 asks). */
const ALWAYS: FieldSelection = [['id'], ['href'], ['@type'], ['@schemaLocation']];

/** Reads `fields`; undefined when absent (the whole resource). */
export function parseFields(raw: string | undefined): FieldSelection | undefined {
  if (raw === undefined) return undefined;
  const names = raw.split(',').map((name) => name.trim());
  const problem = (message: string) => new ValidationError([{ field: 'fields', message }]);
  if (names.length > MAX_FIELDS) throw problem(`names at most ${MAX_FIELDS} attributes`);
  return names.map((name) => {
    const path = name.split('.');
    if (name === '' || !path.every((part) => NAME.test(part)))
      throw problem(
        `"${name.slice(0, 100)}" is not an attribute name (letters, digits, @, _ and -, dotted to reach into an attribute)`,
      );
    return path;
  });
}

/** The resource with only the selected attributes (and those that identify it). */
export function selectFields(
  resource: Record<string, unknown>,
  selection: FieldSelection,
): Record<string, unknown> {
  return pick(resource, [...ALWAYS, ...selection]) as Record<string, unknown>;
}

function pick(value: unknown, paths: FieldSelection): unknown {
  if (Array.isArray(value)) return value.map((element) => pick(element, paths));
  if (value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const byHead = new Map<string, (readonly string[])[]>();
  for (const [head, ...rest] of paths) {
    if (head === undefined || !(head in source)) continue;
    byHead.set(head, [...(byHead.get(head) ?? []), rest]);
  }
  for (const [head, rests] of byHead) {
    // A name selected whole keeps the attribute whole, whatever else reaches into it.
    out[head] = rests.some((rest) => rest.length === 0) ? source[head] : pick(source[head], rests);
  }
  return out;
}
