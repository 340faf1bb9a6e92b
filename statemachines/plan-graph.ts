import type { PlanDefinition } from './plan-definition';

/** A problem in one plan definition, named by the item it concerns. */
export interface PlanProblem {
  item?: string;
  field?: string;
  message: string;
}

/**
 * Checks what a schema cannot: duplicate ids, dependencies on unknown items and cycles. Every problem is
 * reported, not only the first.
 */
export function checkPlanGraph(plan: PlanDefinition): PlanProblem[] {
  const problems: PlanProblem[] = [];
  const ids = new Set<string>();
  for (const item of plan.items) {
    if (ids.has(item.id))
      problems.push({ item: item.id, field: 'id', message: `duplicate item id "${item.id}"` });
    ids.add(item.id);
  }
  for (const item of plan.items) {
    for (const dep of item.dependsOn) {
      if (!ids.has(dep)) {
        problems.push({ item: item.id, field: 'dependsOn', message: `depends on unknown item "${dep}"` });
      } else if (dep === item.id) {
        problems.push({ item: item.id, field: 'dependsOn', message: 'depends on itself' });
      }
    }
  }
  const cycle = findCycle(plan);
  if (cycle && cycle.length > 2) {
    problems.push({ item: cycle[0], field: 'dependsOn', message: `dependency cycle ${cycle.join(' → ')}` });
  }
  return problems;
}

/** A dependency cycle as a closed walk (`a, b, c, a`), or undefined when the graph is acyclic. */
export function findCycle(plan: PlanDefinition): string[] | undefined {
  const deps = new Map(plan.items.map((item) => [item.id, item.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];

  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const dep of deps.get(id) ?? []) {
      // Unknown items and self-dependencies are reported on their own; a walk through them hides real cycles.
      if (!deps.has(dep) || dep === id) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };

  for (const id of deps.keys()) {
    const cycle = visit(id);
    // The walk follows "depends on" edges; reverse it so it reads in execution order.
    if (cycle) return cycle.reverse();
  }
  return undefined;
}

/** Items that depend on each item: the edges the worker follows when an item is done. */
export function dependentsOf(plan: PlanDefinition): Map<string, string[]> {
  const dependents = new Map<string, string[]>(plan.items.map((item) => [item.id, []]));
  for (const item of plan.items) {
    for (const dep of item.dependsOn) dependents.get(dep)?.push(item.id);
  }
  return dependents;
}
