import type { ApiExchange } from '../../local/api-gateway';
import { exchangeProblems, schemaProblems } from './contract';
import { tmf622ExchangeProblems } from './tmf622';

/**
 * Watches a local runtime's API for the end-to-end tests: every request to a route and its answer is
 * checked against the generated OpenAPI document, and a TMF622 route's against the TMF622 v5 document
 * too. What is found waits to be taken (after each test, by local-switchboard.ts), each problem once with
 * how often it was seen. A check that throws is a problem found, never an answer of the API.
 */
export class ContractWatch {
  private readonly found = new Map<string, number>();
  /** Exchanges checked so far. */
  checked = 0;

  readonly observe = (exchange: ApiExchange): void => {
    this.checked += 1;
    let problems: string[];
    try {
      problems = [
        ...exchangeProblems(exchange),
        ...wholeOrderProblems(exchange),
        ...tmf622ExchangeProblems(exchange),
      ];
    } catch (error) {
      problems = [`${exchange.routeKey}: the check itself failed: ${(error as Error).message}`];
    }
    for (const problem of problems) this.found.set(problem, (this.found.get(problem) ?? 0) + 1);
  };

  /** The problems found since the last take, each with its count, and forgets them. */
  take(): string[] {
    const problems = [...this.found].map(([problem, count]) =>
      count > 1 ? `${problem} (×${count})` : problem,
    );
    this.found.clear();
    return problems;
  }
}

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';

/**
 * The document lets an order be answered whole or as `fields` selected it, which no schema can tell
 * apart; an answer to a request without `fields` must be a whole ProductOrder (every order of a page).
 */
function wholeOrderProblems(exchange: ApiExchange): string[] {
  const read = exchange.routeKey === `GET ${ORDERS}` || exchange.routeKey === `GET ${ORDERS}/{id}`;
  if (!read || exchange.status !== 200 || exchange.query?.fields !== undefined) return [];
  let answer: unknown;
  try {
    answer = JSON.parse(exchange.body ?? '');
  } catch {
    return []; // the document's own check says the body is not JSON
  }
  const orders = Array.isArray(answer) ? answer : [answer];
  return orders.flatMap((order) =>
    schemaProblems('ProductOrder', order).map((p) => `${exchange.routeKey} 200 body (no fields): ${p}`),
  );
}
