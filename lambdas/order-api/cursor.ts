import { z } from 'zod';
import { ValidationError } from '../domain/errors';

/** The cursor a page's Link gives: opaque to callers (base64url of where the next page starts). */
export const encodeCursor = (position: string): string =>
  Buffer.from(JSON.stringify({ after: position })).toString('base64url');

const cursorSchema = z.object({
  after: z.string().regex(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z#[A-Za-z0-9_-]{1,100}$/),
});

/** The position a cursor names; a cursor not made by encodeCursor is refused naming `after`. */
export function decodeCursor(cursor: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const checked = cursorSchema.safeParse(parsed);
  if (!checked.success) {
    throw new ValidationError([
      {
        field: 'after',
        message: 'is not a cursor Switchboard gave: use the Link header’s rel="next" as it is',
      },
    ]);
  }
  return checked.data.after;
}
