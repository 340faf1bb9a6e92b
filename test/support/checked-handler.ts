import assert from 'node:assert/strict';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { exchangeProblems } from './contract';

type Handle<D> = (deps: D, event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * An API handler whose every answer is checked against the API's OpenAPI document, so that a unit test
 * of the handler fails, listing each problem, when the handler answers what the document does not say
 * (a status it does not list, a field it does not know, a header it promises and the answer lacks). A
 * request that was carried out (2xx) is checked too: the document must take what the test sent.
 */
export function checkedAgainstContract<D>(handle: Handle<D>): Handle<D> {
  return async (deps, event) => {
    const answer = await handle(deps, event);
    const problems = exchangeProblems({
      routeKey: event.routeKey,
      pathParameters: defined(event.pathParameters),
      query: defined(event.queryStringParameters),
      requestHeaders: lowerCased(event.headers),
      ...(event.body !== undefined
        ? {
            requestBody: event.isBase64Encoded
              ? Buffer.from(event.body, 'base64').toString('utf8')
              : event.body,
          }
        : {}),
      status: answer.statusCode ?? 200,
      headers: lowerCased(answer.headers),
      ...(answer.body !== undefined ? { body: answer.body } : {}),
    });
    assert.deepEqual(problems, [], `the answer breaks the API's document:\n${problems.join('\n')}`);
    return answer;
  };
}

const defined = (values: Record<string, string | undefined> | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(values ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

const lowerCased = (headers: Record<string, unknown> | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
