import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OpenApiDocument, openApiDocument } from '../lambdas/contract/document';
import { ROUTES, TAGS } from '../lambdas/contract/routes';
import { orderWebhooks } from '../lambdas/contract/webhooks';

/** The API's OpenAPI document, versioned as the package is. Built once per process. */
let built: OpenApiDocument | undefined;
export function switchboardOpenApi(): OpenApiDocument {
  const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  built ??= openApiDocument(ROUTES, { version, tags: TAGS, webhooks: orderWebhooks });
  return built;
}
