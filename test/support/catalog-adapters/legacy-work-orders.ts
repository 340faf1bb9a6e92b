/**
 * An asynchronous custom adapter, for test catalogs: a legacy work-order system that takes flat
 * `key=value` lines, names the job in its path, and answers in lines too whatever its HTTP status says —
 * `result=queued` (it answers later, on the callback), `result=done`, `result=busy` (try again later),
 * `result=rejected` (never) — and a 500 saying `already` for a job it did before, which is done.
 *
 *   request JSON  { job, …fields }            (strings or numbers)
 *   wire          POST <base>/work-orders/<job>   job=<job>\n<field>=<value>…
 *   answer        result=<queued|done|busy|rejected>\n<field>=<value>…
 *
 * Only a type is imported, so the module can live in any catalog folder.
 */
import type { AnswerVerdict, CustomAdapter } from '../../../lambdas/domain/integration-adapters';

/** The system's line format, read. */
export function readLines(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) fields[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return fields;
}

const legacyWorkOrders: CustomAdapter = {
  asynchronous: true,

  encodeRequest(request) {
    if (request === null || typeof request !== 'object' || Array.isArray(request))
      throw new Error('the mapped request must be an object with a job');
    const { job, ...fields } = request as Record<string, unknown>;
    if (typeof job !== 'string' || job === '') throw new Error('job: must be a non-empty string');
    const lines = [`job=${job}`];
    for (const [name, value] of Object.entries(fields)) {
      if (typeof value !== 'string' && typeof value !== 'number')
        throw new Error(`${name}: must be a string or a number`);
      lines.push(`${name}=${value}`);
    }
    return {
      headers: { 'content-type': 'text/plain' },
      body: lines.join('\n'),
      path: `/work-orders/${encodeURIComponent(job)}`,
    };
  },

  decodeResponse(response) {
    return readLines(response.body);
  },

  classifyResponse(response): AnswerVerdict {
    const { result, reason, ...rest } = readLines(response.body);
    if (response.status === 500 && /already/.test(response.body))
      return { outcome: 'success', body: { ...rest, already: true } };
    switch (result) {
      case 'queued':
        return { outcome: 'accepted' };
      case 'done':
        return { outcome: 'success', body: rest };
      case 'busy':
        // Busy is what a 503 says: the retry rules for 503 decide.
        return { outcome: 'failure', reason: reason ?? 'busy', retryable: true, status: 503 };
      case 'rejected':
        return { outcome: 'failure', reason: reason ?? 'rejected', retryable: false };
      default:
        return {
          outcome: 'failure',
          reason: `answered no result (${response.body.slice(0, 80)})`,
          retryable: response.status >= 500,
        };
    }
  },
};

export default legacyWorkOrders;
