import jsonata from 'jsonata';

/**
 * Which characteristics a JSONata expression reads by name, found in its syntax tree (never in its text,
 * where a name may sit in a string or a comment). A mapping, condition or auto task sees the line's
 * characteristics as `characteristics` (lambdas/domain/callout.ts, mappingInput); a read is any of
 *
 * - `characteristics.bandwidth` (and `$.characteristics…`, `$$.characteristics…` anywhere),
 * - `$lookup(characteristics, "bandwidth")`, `characteristics ~> $lookup("bandwidth")`,
 * - a variable bound to `characteristics` and then read: `($c := characteristics; $c.bandwidth)`,
 * - `line.product.productCharacteristic[name = "bandwidth"]` (or `name in [...]`), and the same on `lines`,
 *   the TMF622 form the line itself carries.
 *
 * Paths are followed from the input only: `lines.(characteristics.x)` reads a field of each line, not a
 * characteristic, and a filter or a block sees what its step yields. Reads whose name is computed
 * (`$lookup(characteristics, $name)`, `characteristics.*`) name nothing and are not reported; passing
 * `characteristics` whole is no read of a name either.
 */
export function characteristicReads(expression: string): string[] {
  const reads = new Set<string>();
  walk(jsonata(expression).ast() as unknown as Node, { context: 'root', vars: new Map() }, reads);
  return [...reads].sort();
}

/** What a value in the expression is known to be, as far as reads go; undefined for anything else. */
type Known = 'root' | 'characteristics' | 'line' | 'product' | 'productCharacteristics' | undefined;

interface Scope {
  /** What `$` (the context) is. */
  context: Known;
  vars: Map<string, Known>;
}

/** A JSONata syntax tree node, as much of it as the walk reads. */
interface Node {
  type: string;
  value?: unknown;
  steps?: Node[];
  stages?: Node[];
  expressions?: Node[];
  arguments?: Node[];
  procedure?: Node;
  body?: Node;
  lhs?: Node | Node[][];
  rhs?: Node;
  expr?: Node;
  condition?: Node;
  then?: Node;
  else?: Node;
  terms?: { expression: Node }[];
  group?: { lhs: Node[][] };
  focus?: string;
  index?: string;
  pattern?: Node;
  update?: Node;
  delete?: Node;
}

/** Where a name leads from a known value. */
const NEXT: Partial<Record<NonNullable<Known>, Record<string, Known>>> = {
  root: { characteristics: 'characteristics', line: 'line', lines: 'line' },
  line: { product: 'product' },
  product: { productCharacteristic: 'productCharacteristics' },
};

const isNode = (value: unknown): value is Node =>
  value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';

function named(from: Known, name: string, reads: Set<string>): Known {
  if (from === 'characteristics') {
    reads.add(name);
    return undefined;
  }
  return from ? NEXT[from]?.[name] : undefined;
}

function variable(name: unknown, scope: Scope): Known {
  if (name === '') return scope.context;
  if (name === '$') return 'root';
  return typeof name === 'string' ? scope.vars.get(name) : undefined;
}

const within = (scope: Scope, context: Known): Scope => ({ context, vars: new Map(scope.vars) });

function walk(node: Node | undefined, scope: Scope, reads: Set<string>): Known {
  if (!node) return undefined;
  switch (node.type) {
    case 'path':
      return walkPath(node, scope, reads);
    case 'variable':
      return variable(node.value, scope);
    case 'name':
      return named(scope.context, String(node.value), reads);
    case 'block': {
      const inner = within(scope, scope.context);
      let last: Known;
      for (const expression of node.expressions ?? []) last = walk(expression, inner, reads);
      return last;
    }
    case 'bind': {
      const value = walk(node.rhs, scope, reads);
      const target = node.lhs as Node | undefined;
      if (target?.type === 'variable' && typeof target.value === 'string')
        scope.vars.set(target.value, value);
      return value;
    }
    case 'lambda': {
      // A function's body runs in the context where it was defined, its parameters shadowing.
      const inner = within(scope, scope.context);
      for (const parameter of node.arguments ?? [])
        if (typeof parameter.value === 'string') inner.vars.set(parameter.value, undefined);
      walk(node.body, inner, reads);
      return undefined;
    }
    case 'function':
    case 'partial': {
      walk(node.procedure, scope, reads);
      const args = (node.arguments ?? []).map((argument) => walk(argument, scope, reads));
      if (isLookup(node) && args[0] === 'characteristics') readLiteral(node.arguments?.[1], reads);
      return undefined;
    }
    case 'apply': {
      const input = walk(node.lhs as Node | undefined, scope, reads);
      const applied = node.rhs;
      if (applied && isLookup(applied) && input === 'characteristics')
        readLiteral(applied.arguments?.[0], reads);
      walk(applied, scope, reads);
      return undefined;
    }
    case 'condition': {
      walk(node.condition, scope, reads);
      const then = walk(node.then, scope, reads);
      const otherwise = walk(node.else, scope, reads);
      return then === otherwise ? then : undefined;
    }
    case 'transform': {
      // The pattern and the update run against what the transform is applied to: nothing known.
      const unknown = within(scope, undefined);
      for (const part of [node.pattern, node.update, node.delete]) walk(part, unknown, reads);
      return undefined;
    }
    default:
      // Operators, constructors and literals: their parts see the same context.
      for (const value of Object.values(node)) walkChildren(value, scope, reads);
      return undefined;
  }
}

function walkChildren(value: unknown, scope: Scope, reads: Set<string>): void {
  if (isNode(value)) walk(value, scope, reads);
  else if (Array.isArray(value)) for (const inner of value) walkChildren(inner, scope, reads);
}

function walkPath(node: Node, scope: Scope, reads: Set<string>): Known {
  const vars = new Map(scope.vars);
  const at = (context: Known): Scope => ({ context, vars });
  let current = scope.context;
  for (const [i, step] of (node.steps ?? []).entries()) {
    let value: Known;
    if (step.type === 'name') value = named(current, String(step.value), reads);
    else if (step.type === 'variable')
      value = i > 0 && step.value === '' ? current : variable(step.value, at(current));
    else if (step.type === 'sort') {
      for (const term of step.terms ?? []) walk(term.expression, at(current), reads);
      value = current;
    } else value = walk(step, at(current), reads);
    for (const stage of step.stages ?? []) {
      if (stage.type === 'filter') {
        if (value === 'productCharacteristics') readNameFilter(stage.expr, reads);
        walk(stage.expr, at(value), reads);
      } else if (stage.type === 'index' && typeof stage.value === 'string') vars.set(stage.value, undefined);
    }
    if (step.index) vars.set(step.index, undefined);
    if (step.group) for (const pair of step.group.lhs) for (const part of pair) walk(part, at(value), reads);
    // `step@$v` binds the step's value and leaves the context where it was.
    if (step.focus) vars.set(step.focus, value);
    else current = value;
  }
  if (node.group) for (const pair of node.group.lhs) for (const part of pair) walk(part, at(current), reads);
  return current;
}

function isLookup(node: Node): boolean {
  return (
    (node.type === 'function' || node.type === 'partial') &&
    node.procedure?.type === 'variable' &&
    node.procedure.value === 'lookup'
  );
}

function readLiteral(node: Node | undefined, reads: Set<string>): void {
  if (node?.type === 'string' && typeof node.value === 'string') reads.add(node.value);
}

/** `[name = "x"]`, `["x" = name]`, `[name in ["x", "y"]]`, joined by `and`/`or`: the names a filter picks. */
function readNameFilter(expr: Node | undefined, reads: Set<string>): void {
  if (expr?.type !== 'binary') return;
  const lhs = expr.lhs as Node | undefined;
  const rhs = expr.rhs;
  const isName = (n: Node | undefined) =>
    n?.type === 'path' && n.steps?.length === 1 && n.steps[0]?.type === 'name' && n.steps[0].value === 'name';
  if (expr.value === 'and' || expr.value === 'or') {
    readNameFilter(lhs, reads);
    readNameFilter(rhs, reads);
  } else if (expr.value === '=') {
    if (isName(lhs)) readLiteral(rhs, reads);
    else if (isName(rhs)) readLiteral(lhs, reads);
  } else if (expr.value === 'in' && isName(lhs) && rhs?.type === 'unary' && rhs.value === '[') {
    for (const element of rhs.expressions ?? []) readLiteral(element, reads);
  }
}
