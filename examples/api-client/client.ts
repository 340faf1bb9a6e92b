/**
 * A typed client of Switchboard's API, made from its OpenAPI document by a common generator
 * (openapi-typescript for the types, openapi-fetch for the calls). docs/api.md shows how; the unit test
 * test/unit/openapi-client.test.ts generates the types and compiles this file against them.
 *
 *   npm run openapi
 *   npx openapi-typescript openapi/openapi.json -o examples/api-client/switchboard-api.d.ts
 *   SWITCHBOARD_URL=http://127.0.0.1:3000 SWITCHBOARD_TOKEN=… node examples/api-client/client.ts
 */
import createClient from 'openapi-fetch';
import type { paths } from './switchboard-api.js';

const client = createClient<paths>({
  baseUrl: process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:3000',
  headers: { authorization: `Bearer ${process.env.SWITCHBOARD_TOKEN ?? ''}` },
});

const orders = '/tmf-api/productOrderingManagement/v5/productOrder';

const created = await client.POST(orders, {
  params: { header: { 'idempotency-key': `example-${Date.now()}` } },
  body: {
    externalId: [{ id: `example-${Date.now()}` }],
    productOrderItem: [
      {
        id: '1',
        action: 'add',
        productOffering: { id: 'dsl-broadband' },
        product: {
          productCharacteristic: [
            { name: 'bandwidth', value: '100' },
            { name: 'serviceAddress', value: '1 Main Street, Springfield' },
          ],
        },
      },
    ],
  },
});
if (created.error) throw new Error(`refused: ${created.error.message}`);
console.log(`created ${created.data.id}, ${created.data.state}`);

const read = await client.GET(`${orders}/{id}`, { params: { path: { id: created.data.id } } });
if (read.error) throw new Error(`not read: ${read.error.message}`);
for (const line of read.data.productOrderItem ?? [])
  console.log(`line ${line.id}: ${line.state ?? 'not started'}`);

const page = await client.GET(orders, { params: { query: { limit: 5, fields: 'state' } } });
console.log(`${page.data?.length ?? 0} orders; next page: ${page.response.headers.get('link') ?? 'none'}`);
