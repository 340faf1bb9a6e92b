import { ValidationError } from '../domain/errors';
import { DEFAULT_RETRY_RULE, type RetryRule, retryRuleBodySchema } from '../domain/retry-rules';
import type { Actor } from '../domain/roles';
import type { ConfigurationStore } from '../ports/configuration-store';
import type { RetryRuleRecord, RetryRuleStore } from '../ports/retry-rule-store';
import { parseWith } from '../shared/http';

export interface RetryRuleDeps {
  rules: RetryRuleStore;
  config: ConfigurationStore;
  now: () => Date;
}

/**
 * An operator creates or replaces a connection retry rule. The built-in rule's id is not theirs to take,
 * and a rule for one system or interface must name one that is configured.
 */
export async function putRetryRule(
  deps: RetryRuleDeps,
  id: string,
  body: unknown,
  by: Actor,
): Promise<{ created: boolean; rule: RetryRuleRecord }> {
  if (id === DEFAULT_RETRY_RULE.id) {
    throw new ValidationError([
      { field: 'ruleId', message: `"${id}" is the built-in rule's id; give the rule another` },
    ]);
  }
  const rule = parseWith(retryRuleBodySchema, body);
  await checkScope(deps.config, rule.scope);
  return deps.rules.put({ ...rule, id }, by, deps.now().toISOString());
}

async function checkScope(config: ConfigurationStore, scope: RetryRule['scope']): Promise<void> {
  if (scope.kind === 'system' && !(await config.getSystem(scope.systemId))) {
    throw new ValidationError([
      { field: 'scope.systemId', message: `no system "${scope.systemId}" is configured` },
    ]);
  }
  if (scope.kind === 'interface' && !(await config.getInterface(scope.interfaceId))) {
    throw new ValidationError([
      { field: 'scope.interfaceId', message: `no system interface "${scope.interfaceId}" is configured` },
    ]);
  }
}
