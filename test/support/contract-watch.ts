import type { ApiExchange } from '../../local/api-gateway';
import { exchangeProblems } from './contract';
import { tmf622ExchangeProblems } from './tmf622';

/**
 * Watches a local runtime's API for the end-to-end tests: every request to a route and its answer is
 * checked against the generated OpenAPI document, and a TMF622 route's against the TMF622 v5 document
 * too. What is found waits to be taken (after each test, by local-switchboard.ts), each problem once with
 * how often it was seen.
 */
export class ContractWatch {
  private readonly found = new Map<string, number>();
  /** Exchanges checked so far. */
  checked = 0;

  readonly observe = (exchange: ApiExchange): void => {
    this.checked += 1;
    for (const problem of [...exchangeProblems(exchange), ...tmf622ExchangeProblems(exchange)])
      this.found.set(problem, (this.found.get(problem) ?? 0) + 1);
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
