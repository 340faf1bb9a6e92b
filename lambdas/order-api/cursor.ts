import { z } from 'zod';
import { ValidationError } from '../domain/errors';

/**
 * The paging parameters of every TMF622 list (orders, cancellations): `limit`, and the opaque cursor
 * `after` that the previous page's `Link: <…>; rel="next"` carries. `offset` is accepted at 0 only: a
 * page never reads those before it.
 */
const ONLY_OFFSET_0 = 'only 0: Switchboard pages by cursor, follow the Link header with rel="next" (after=…)';

export const pagingQuery = {
  after: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'Where the page starts: the opaque cursor of the previous page’s Link (rel="next"); follow the link as it is',
    ),
  offset: z.coerce
    .number()
    .int()
    .min(0, ONLY_OFFSET_0)
    .max(0, ONLY_OFFSET_0)
    .optional()
    .describe('Only 0, as TMF622 clients send it: pages follow the Link header’s cursor, never an offset'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .describe('How many entries a page holds at most'),
};

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
