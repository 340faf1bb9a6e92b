import { existsSync, readFileSync } from 'node:fs';
import type { ApiExchange } from '../../local/api-gateway';
import { ContractWatch } from './contract-watch';

/**
 * What a runtime in another process (the demo's, the benchmark's, the chaos run's) answered outside the
 * API's documents, read from the file its `SWITCHBOARD_API_EXCHANGES` named: one JSON line per exchange.
 * A file that is missing or empty is a problem (the wiring broke, and nothing would be checked); so is a
 * line that cut short, beyond the `torn` a run that kills its runtime with SIGKILL may leave.
 */
export function exchangeLogProblems(file: string, { torn: tornAllowed = 0 } = {}): string[] {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  if (lines.length === 0) return [`no API exchange was written to ${file}`];
  const watch = new ContractWatch();
  let torn = 0;
  for (const line of lines) {
    let exchange: ApiExchange;
    try {
      exchange = JSON.parse(line) as ApiExchange;
    } catch {
      torn += 1;
      continue;
    }
    watch.observe(exchange);
  }
  const problems = watch.take();
  if (torn > tornAllowed)
    problems.push(`${torn} exchanges in ${file} are cut short (at most ${tornAllowed} may be)`);
  return problems;
}
