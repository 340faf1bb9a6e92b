import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { switchboardOpenApi } from '../lib/openapi';

/** `npm run openapi [file]`: writes the API's OpenAPI 3.1 document (default openapi/openapi.json, git-ignored). */
const target = resolve(process.argv[2] ?? 'openapi/openapi.json');
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, `${JSON.stringify(switchboardOpenApi(), null, 2)}\n`);
console.log(`wrote ${target}`);
