import { z } from 'zod';
import { MappingError } from './errors';
import { evaluateMapping } from './mapping';

/**
 * What a system's later answer about accepted work comes to, in Switchboard's terms: still going
 * (`inProgress`, maybe with a note and attributes learnt so far), done (`completed`, with the attributes
 * it writes), or not done (`failed`, with the system's reason). A callback in Switchboard's own shape
 * says it in its `status`; a system with its own vocabulary has it said by its interface's
 * `callbackMapping`, and a polled system's status answer by `polling.statusMapping`.
 */
export interface SystemOutcome {
  status: 'inProgress' | 'completed' | 'failed';
  note?: string;
  /** Why it failed, in the system's words. */
  reason?: string;
  /**
   * Attributes a mapping gave (absent for a callback in Switchboard's shape, whose final answer goes
   * through the interface's asyncResponseMapping instead).
   */
  attributes?: Record<string, unknown>;
}

export const systemOutcomeSchema = z
  .object({
    status: z.enum(['inProgress', 'completed', 'failed']),
    note: z.string().max(2000).optional(),
    reason: z.string().max(2000).optional(),
    attributes: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/**
 * What a callback or status mapping must produce. `outcome`: `interim` (the work goes on), `completed`
 * or `failed`; `reason` says why it failed, `note` what the system said on the way, `attributes` what to
 * write — on `completed` the item's attributes, on `interim` attributes kept on the item until it
 * completes (the final answer's win where both name one).
 */
const mappedOutcomeSchema = z
  .object({
    outcome: z.enum(['interim', 'completed', 'failed'], {
      error: 'must be "interim", "completed" or "failed"',
    }),
    note: z.string().max(2000, 'must be at most 2000 characters').optional(),
    reason: z.string().max(2000, 'must be at most 2000 characters').optional(),
    attributes: z.record(z.string(), z.unknown(), { error: 'must be an object of attributes' }).optional(),
  })
  .strict();

/** What a callback or status mapping sees: the system's answer as it came. */
export interface SystemAnswerInput {
  /** The body, parsed when it is JSON, else its text. */
  body: unknown;
  /** Its headers, names in lower case. */
  headers: Record<string, string>;
  /** A polled answer's HTTP status (a callback has none). */
  status?: number;
}

/**
 * Runs a callback or status mapping over a system's answer: the mapping's result as written (for its
 * cases to compare) and as an outcome. A result that is no outcome is a MappingError naming each field.
 */
export async function mapSystemAnswer(
  name: string,
  expression: string,
  input: SystemAnswerInput,
): Promise<{ result: unknown; outcome: SystemOutcome }> {
  const result = await evaluateMapping(name, expression, input);
  const parsed = mappedOutcomeSchema.safeParse(result);
  if (!parsed.success) {
    const why = parsed.error.issues
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'the result'} ${issue.message}`)
      .join('; ');
    throw new MappingError(name, `must produce {outcome, note?, reason?, attributes?}: ${why}`);
  }
  const { outcome, note, reason, attributes } = parsed.data;
  return {
    result,
    outcome: {
      status: outcome === 'interim' ? 'inProgress' : outcome,
      ...(note !== undefined ? { note } : {}),
      ...(reason !== undefined ? { reason } : {}),
      // A mapping's final answer always says its attributes, none being none.
      attributes: attributes ?? {},
    },
  };
}

/** The outcome of a callback in Switchboard's own shape (domain/callback.ts, callbackBodySchema). */
export function outcomeOfOwnShape(body: { status: SystemOutcome['status']; note?: string }): SystemOutcome {
  return { status: body.status, ...(body.note !== undefined ? { note: body.note } : {}) };
}

/** Headers as mappings see them: names in lower case, one value each (repeated ones joined). */
export function mappableHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
