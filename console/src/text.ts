/** How rules and limits read to an operator: one line each, in the domain's words. */

export interface RuleScope {
  kind: string;
  systemId?: string;
  interfaceId?: string;
}

export interface RuleMatches {
  timeouts: boolean;
  connectionErrors: boolean;
  failedAnswers: boolean;
  statuses: (number | string)[];
}

export function scopeText(scope: RuleScope): string {
  if (scope.kind === 'all') return 'every callout';
  return scope.kind === 'system' ? `system ${scope.systemId}` : `interface ${scope.interfaceId}`;
}

export function policyText(policy: Record<string, unknown> & { type: string }): string {
  switch (policy.type) {
    case 'none':
      return 'no retry: fallout at once';
    case 'fixed':
      return `${policy.count} × every ${policy.intervalSeconds} s`;
    case 'staggered':
      return `after ${(policy.intervalsSeconds as number[]).join(', ')} s`;
    case 'exponential':
      return `${policy.count} × from ${policy.firstIntervalSeconds} s × ${policy.factor}, at most ${policy.capSeconds} s`;
    case 'forever':
      return `every ${policy.intervalSeconds} s until an operator acts`;
    default:
      return policy.type;
  }
}

export function matchesText(m: RuleMatches): string {
  return (
    [
      m.timeouts ? 'timeouts' : '',
      m.connectionErrors ? 'connection errors' : '',
      m.failedAnswers ? 'failed answers' : '',
      m.statuses.length ? m.statuses.join(', ') : '',
    ]
      .filter(Boolean)
      .join(', ') || 'nothing'
  );
}

export function limitsText(limits: {
  maxConcurrentCallouts?: number;
  maxCalloutsPerSecond?: number;
}): string {
  const parts = [
    limits.maxConcurrentCallouts !== undefined ? `${limits.maxConcurrentCallouts} at once` : '',
    limits.maxCalloutsPerSecond !== undefined ? `${limits.maxCalloutsPerSecond}/s` : '',
  ].filter(Boolean);
  return parts.join(', ') || 'none';
}
