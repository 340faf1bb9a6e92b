import { CalloutError } from '../domain/errors';
import type { HttpClient, HttpRequest, HttpResponse } from '../ports/http-client';

/** The largest answer a system may send; anything bigger fails the callout rather than the worker. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** HTTP with a hard timeout, no redirects followed, and a cap on the answer's size. */
export class FetchHttpClient implements HttpClient {
  async send(request: HttpRequest): Promise<HttpResponse> {
    let response: Response;
    try {
      response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(request.timeoutMs),
      });
    } catch (error) {
      throw describeFailure(error, request);
    }
    try {
      const body = await readCapped(response);
      return { status: response.status, headers: Object.fromEntries(response.headers), body };
    } catch (error) {
      if (error instanceof CalloutError) throw error;
      throw describeFailure(error, request);
    }
  }
}

function describeFailure(error: unknown, request: HttpRequest): CalloutError {
  const e = error as Error & { cause?: unknown };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new CalloutError(`no answer within ${request.timeoutMs} ms`, undefined, true);
  }
  // fetch says only "fetch failed"; the cause says why (a refused connection, an answer that is not HTTP).
  const cause = e.cause as { code?: string; message?: string } | undefined;
  const code = cause?.code;
  return new CalloutError(
    `connection failed${code ? ` (${code})` : ''}: ${cause?.message ?? e.message}`,
    undefined,
    true,
  );
}

async function readCapped(response: Response): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new CalloutError(`answer larger than ${MAX_RESPONSE_BYTES} bytes`, response.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
