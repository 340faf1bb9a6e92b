/** How rules, limits and order lines read to an operator: one line each, in the domain's words. */

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

/** An offering as GET /admin/offerings shows it, as much as the console reads. */
export interface OfferingSummary {
  id: string;
  name: string;
  characteristics: { name: string; unit?: string }[];
}

/**
 * A line's characteristics as an operator reads them: every one its offering declares, in the
 * offering's order, each value with its unit (`100 Mbit/s`), `—` for one the line leaves out; then any
 * the offering does not declare (an order accepted before it did), as they came.
 */
export function characteristicsText(
  sent: { name: string; value: unknown }[],
  offering: OfferingSummary | undefined,
): { name: string; text: string }[] {
  const sentValue = new Map(sent.map((c) => [c.name, c.value]));
  const text = (value: unknown, unit: string | undefined) => {
    if (value === undefined) return '—';
    const shown = typeof value === 'string' ? value : JSON.stringify(value);
    return unit && (typeof value === 'number' || typeof value === 'string') ? `${shown} ${unit}` : shown;
  };
  const declared = offering?.characteristics ?? [];
  const known = new Set(declared.map((c) => c.name));
  return [
    ...declared.map((c) => ({ name: c.name, text: text(sentValue.get(c.name), c.unit) })),
    ...sent.filter((c) => !known.has(c.name)).map((c) => ({ name: c.name, text: text(c.value, undefined) })),
  ];
}

/**
 * Any configuration value as one line: text and numbers as they are, a list of plain values joined, an
 * object as compact JSON, nothing as `none`. Fields the console does not know yet read this way too.
 */
export function valueText(value: unknown): string {
  if (value === undefined || value === null) return 'none';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object'))
    return value.map((v) => valueText(v)).join(', ');
  return JSON.stringify(value);
}

/** One field of a configuration change: `timeoutSeconds: 10 → 1`. */
export function fieldChangeText(change: { field: string; from: unknown; to: unknown }): string {
  return `${change.field}: ${valueText(change.from)} → ${valueText(change.to)}`;
}
