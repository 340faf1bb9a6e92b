import { z } from 'zod';
import { durationMs } from '../lambdas/domain/duration';

/** Ids of plans and items: they become state names and parts of URLs, so keep them plain. */
export const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes (at most 63)');

export const lineActions = ['add', 'modify', 'delete'] as const;
export const itemTypes = ['callout', 'autoTask', 'milestone', 'manualTask'] as const;

/**
 * The longest a plan's wait for one item may last, from the plan's start: a year, the longest a Standard
 * workflow runs. (Locally, waits past Node's 24.8-day timer limit are armed in steps: local/long-timers.ts.)
 */
export const MAX_TIMEOUT_SECONDS = 365 * 24 * 3600;
const DEFAULT_PLAN_TIMEOUT_SECONDS = 14 * 24 * 3600;

/** Which of the type-specific fields each item type may have; an autoTask has one of its two kinds. */
const TYPE_FIELDS: Record<(typeof itemTypes)[number], readonly TypeField[]> = {
  callout: ['interface'],
  autoTask: ['setAttributes', 'procedure', 'input', 'output'],
  milestone: [],
  manualTask: [],
};
type TypeField = 'interface' | 'setAttributes' | 'procedure' | 'input' | 'output';
const TYPE_SPECIFIC: readonly TypeField[] = ['interface', 'setAttributes', 'procedure', 'input', 'output'];

/** An ISO 8601 duration of weeks, days, hours, minutes and seconds (domain/duration.ts). */
const isoDuration = z.string().refine((text) => durationMs(text) !== undefined, {
  message: 'must be an ISO 8601 duration such as PT30M, PT4H or P2D (no years or months), above zero',
});

export const planItemSchema = z
  .object({
    id: slug,
    type: z.enum(itemTypes),
    dependsOn: z.array(slug).default([]),
    /** JSONata over the order, the line and the attributes; false skips the item. */
    condition: z.string().min(1).optional(),
    /** `line`: once per order line the plan fulfils; `order`: once per order. */
    scope: z.enum(['line', 'order']).default('line'),
    /** Once this item has completed, the order can no longer be cancelled and the item not skipped. */
    pointOfNoReturn: z.boolean().default(false),
    /** The longest the plan waits for this item, from the plan's start (default: the plan's timeout). */
    timeoutSeconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).optional(),
    /**
     * How long the item is expected to take once started (ISO 8601: `PT30M`, `P2D`): an order's expected
     * completion is read along its plan's critical path of these, and an item that overruns its own by the
     * plan's `overrunMargin` puts its order in jeopardy (domain/jeopardy.ts).
     */
    expectedDuration: isoDuration.optional(),
    /** callout: the system interface it calls. */
    interface: slug.optional(),
    /** autoTask (built-in): JSONata yielding an object of attributes to set on the order. */
    setAttributes: z.string().min(1).optional(),
    /** autoTask (the default auto task): the integration procedure it runs (procedures/<id>.yaml). */
    procedure: slug.optional(),
    /** With a procedure: JSONata over the order, the line, its prices and attributes, yielding its input. */
    input: z.string().min(1).optional(),
    /**
     * With a procedure: JSONata over `output` (the procedure's outputs) and what `input` sees, yielding
     * the attributes to set on the order; without it, the outputs themselves are set.
     */
    output: z.string().min(1).optional(),
    /** manualTask: what the operator is asked to do. */
    instructions: z.string().optional(),
    /**
     * callout or autoTask: what undoes the item once it has acted, for a cancellation or a change of its
     * order that undoes it: a callout (`interface`, whose path can name what the item wrote:
     * `/ports/reservations/{portId}`) or a procedure (`procedure`, with an `input` mapping).
     */
    compensation: z
      .object({
        interface: slug.optional(),
        procedure: slug.optional(),
        input: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((item, ctx) => {
    const allowed = TYPE_FIELDS[item.type];
    for (const field of TYPE_SPECIFIC) {
      if (!allowed.includes(field) && item[field] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: `${article(item.type)} has no ${field}` });
      }
    }
    if (item.type === 'callout' && item.interface === undefined) {
      ctx.addIssue({ code: 'custom', path: ['interface'], message: 'a callout needs interface' });
    }
    if (item.type === 'autoTask') {
      if (item.setAttributes === undefined && item.procedure === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['setAttributes'],
          message: 'an autoTask needs setAttributes, or a procedure to run',
        });
      } else if (item.setAttributes !== undefined && item.procedure !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['procedure'],
          message: 'an autoTask runs a procedure or sets attributes (setAttributes), not both',
        });
      }
      for (const field of ['input', 'output'] as const) {
        if (item[field] !== undefined && item.procedure === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `${field} maps a procedure's; this autoTask runs none`,
          });
        }
      }
    }
    const { compensation } = item;
    if (compensation !== undefined) {
      if (item.type !== 'callout' && item.type !== 'autoTask') {
        ctx.addIssue({
          code: 'custom',
          path: ['compensation'],
          message: `${article(item.type)} acts on no system: it has nothing to compensate`,
        });
      } else if ((compensation.interface === undefined) === (compensation.procedure === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['compensation'],
          message: 'a compensation is a callout (interface) or a procedure (procedure), one of the two',
        });
      }
      if (compensation.input !== undefined && compensation.procedure === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['compensation', 'input'],
          message: "input maps a procedure's; this compensation runs none",
        });
      }
    }
    if (item.instructions !== undefined && item.type !== 'manualTask') {
      ctx.addIssue({ code: 'custom', path: ['instructions'], message: 'only a manualTask has instructions' });
    }
  });

export const planDefinitionSchema = z
  .object({
    id: slug,
    description: z.string().optional(),
    fulfils: z
      .array(
        z
          .object({
            offering: z.string().min(1),
            actions: z.array(z.enum(lineActions)).min(1).default(['add']),
          })
          .strict(),
      )
      .min(1),
    timeoutSeconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).default(DEFAULT_PLAN_TIMEOUT_SECONDS),
    /**
     * When an order of this plan is due, from its acceptance, if it asks for no `requestedCompletionDate`
     * (ISO 8601 duration). Without either, the order has no due date and is never in jeopardy.
     */
    completionWithin: isoDuration.optional(),
    /**
     * How far past its `expectedDuration` an item may run before its order is in jeopardy, as a share of
     * it: 0.25 (the default) allows a 4-hour visit 5 hours.
     */
    overrunMargin: z.number().min(0).max(10).default(0.25),
    items: z.array(planItemSchema).min(1),
  })
  .strict();

export type PlanItem = z.infer<typeof planItemSchema>;

/** "a callout", "an autoTask": for messages. */
export const article = (word: string): string => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
export type PlanDefinition = z.infer<typeof planDefinitionSchema>;
export type LineAction = (typeof lineActions)[number];
export type ItemType = (typeof itemTypes)[number];
