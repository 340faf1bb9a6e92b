import { ValidationError } from '../domain/errors';

/** What an id in a path may be: letters, digits, ".", "_" and "-", at most 200, not starting with a sign. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** A path parameter that names a resource: refused with 400 before it reaches a query when malformed. */
export function pathId(value: string | undefined, field: string): string {
  if (value === undefined || !ID_PATTERN.test(value)) {
    throw new ValidationError([
      { field, message: 'is not a valid id (letters, digits, ".", "_" and "-", at most 200)' },
    ]);
  }
  return value;
}
