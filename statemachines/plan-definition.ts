import { z } from 'zod';

/** Ids of plans and items: they become state names and parts of URLs, so keep them plain. */
export const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes (at most 63)');

export const lineActions = ['add', 'modify', 'delete'] as const;

/**
 * How long a plan may wait for any one item, end to end. It bounds each item's Task state. The local
 * engine's timer overflows above 2,147,483 s (ARCHITECTURE.md), so that is the ceiling until the local
 * runtime splits longer waits.
 */
export const MAX_PLAN_TIMEOUT_SECONDS = 2_147_483;
const DEFAULT_PLAN_TIMEOUT_SECONDS = 14 * 24 * 3600;

export const planItemSchema = z
  .object({
    id: slug,
    type: z.enum(['callout', 'milestone']),
    dependsOn: z.array(slug).default([]),
    /** The system interface a callout calls. */
    interface: slug.optional(),
  })
  .strict()
  .superRefine((item, ctx) => {
    if (item.type === 'callout' && item.interface === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['interface'],
        message: 'a callout names the system interface it calls',
      });
    }
    if (item.type !== 'callout' && item.interface !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['interface'],
        message: `a ${item.type} calls no system interface`,
      });
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
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_PLAN_TIMEOUT_SECONDS)
      .default(DEFAULT_PLAN_TIMEOUT_SECONDS),
    items: z.array(planItemSchema).min(1),
  })
  .strict();

export type PlanItem = z.infer<typeof planItemSchema>;
export type PlanDefinition = z.infer<typeof planDefinitionSchema>;
export type LineAction = (typeof lineActions)[number];
