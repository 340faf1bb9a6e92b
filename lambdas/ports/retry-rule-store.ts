import type { RetryRule } from '../domain/retry-rules';
import type { Actor } from '../domain/roles';

/** A retry rule as kept: who wrote it last, and when. */
export interface RetryRuleRecord extends RetryRule {
  createdAt: string;
  updatedAt: string;
  updatedBy: Actor;
}

/** The operators' connection retry rules, read by the worker at every retry decision. */
export interface RetryRuleStore {
  /** Every rule, by id. */
  list(): Promise<RetryRuleRecord[]>;
  get(ruleId: string): Promise<RetryRuleRecord | undefined>;
  /** Creates or replaces the rule; `created` says which. */
  put(rule: RetryRule, by: Actor, at: string): Promise<{ created: boolean; rule: RetryRuleRecord }>;
  /** Removes the rule; what it was, or undefined when there was none. */
  remove(ruleId: string): Promise<RetryRuleRecord | undefined>;
}
