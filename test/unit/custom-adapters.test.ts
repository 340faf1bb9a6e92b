import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { describe, it } from 'node:test';
import legacyBillingXml from '../../catalog/adapters/legacy-billing-xml';
import type { CustomAdapter } from '../../lambdas/domain/integration-adapters';
import { customAdapterRegistrations } from '../../lib/constructs/custom-adapters';
import { parseChargeRequest } from '../../simulators/billing';

const CALL = { interfaceId: 'billing-start-charging', method: 'POST' };

describe("the catalog's custom adapters", () => {
  it('each default-exports an adapter with encodeRequest and decodeResponse', async () => {
    for (const file of readdirSync('catalog/adapters').filter((f) => f.endsWith('.ts'))) {
      const module = (await import(resolve('catalog/adapters', file))) as {
        default?: Partial<CustomAdapter>;
      };
      assert.equal(typeof module.default?.encodeRequest, 'function', `${file} encodeRequest`);
      assert.equal(typeof module.default?.decodeResponse, 'function', `${file} decodeResponse`);
    }
  });

  it('are registered under their file names by the modules the worker bundle injects', async () => {
    const files = readdirSync('catalog/adapters').map((f) => resolve('catalog/adapters', f));
    const registrations = customAdapterRegistrations(files);
    for (const registration of registrations) await import(registration);
    const { integrationAdapter } = await import('../../lambdas/domain/integration-adapters');
    for (const file of files) assert.ok(integrationAdapter(basename(file, '.ts')));
  });
});

describe('legacy-billing-xml', () => {
  const request = {
    orderId: 'O-1',
    serviceId: 'SVC-000001',
    charges: [
      { type: 'recurring', period: 'month', amount: 31.92, currency: 'EUR', description: 'DSL <100> & more' },
      { type: 'one-time', amount: 39, currency: 'EUR' },
    ],
  };

  it('encodes the mapped request as the charge document the billing system accepts', () => {
    const wire = legacyBillingXml.encodeRequest(request, CALL);
    assert.equal(wire.headers['content-type'], 'application/xml');
    // The simulator's strict parser is the system's own reading of the document.
    assert.deepEqual(parseChargeRequest(wire.body ?? ''), {
      orderId: 'O-1',
      serviceId: 'SVC-000001',
      charges: [
        {
          type: 'recurring',
          period: 'month',
          amount: '31.92',
          currency: 'EUR',
          description: 'DSL <100> & more',
        },
        { type: 'one-time', amount: '39.00', currency: 'EUR' },
      ],
    });
  });

  it('refuses to encode a request that is not a charge request, naming the field', () => {
    assert.throws(
      () =>
        legacyBillingXml.encodeRequest(
          { ...request, charges: [{ ...request.charges[0], amount: -1 }] },
          CALL,
        ),
      /charges\.0\.amount/,
    );
    assert.throws(() => legacyBillingXml.encodeRequest({ orderId: 'O-1' }, CALL), /serviceId/);
  });

  it('decodes the charge response into JSON with numeric totals', () => {
    const body =
      '<?xml version="1.0"?><chargeResponse><billingAccountId>BA-000001</billingAccountId><status>charging</status><monthlyTotal currency="EUR">31.92</monthlyTotal><oneTimeTotal currency="EUR">39.00</oneTimeTotal></chargeResponse>';
    assert.deepEqual(legacyBillingXml.decodeResponse({ status: 200, headers: {}, body }, CALL), {
      billingAccountId: 'BA-000001',
      status: 'charging',
      monthlyTotal: { amount: 31.92, currency: 'EUR' },
      oneTimeTotal: { amount: 39, currency: 'EUR' },
    });
  });

  it('refuses an answer that is not XML or not a charge response', () => {
    assert.throws(
      () => legacyBillingXml.decodeResponse({ status: 200, headers: {}, body: '{"json":true}' }, CALL),
      /not a charge response|not XML/,
    );
    assert.throws(
      () =>
        legacyBillingXml.decodeResponse(
          { status: 200, headers: {}, body: '<error><code>X</code><message>m</message></error>' },
          CALL,
        ),
      /chargeResponse/,
    );
  });
});
