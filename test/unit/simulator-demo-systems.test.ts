import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FetchHttpClient } from '../../lambdas/adapters/fetch-http-client';
import { credentialSchemas } from '../../lambdas/domain/auth-profile';
import { CalloutError } from '../../lambdas/domain/errors';
import { webhookKey } from '../../lambdas/domain/webhook-signature';
import type { ClientTls } from '../../lambdas/ports/http-client';
import {
  type DemoSystems,
  demoCredentials,
  FREE_DEMO_PORTS,
  startDemoSystems,
} from '../../simulators/demo-systems';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const ANY_PORT = FREE_DEMO_PORTS;

describe('the demo systems', () => {
  const credentials = demoCredentials();
  let systems: DemoSystems;
  before(async () => {
    systems = await startDemoSystems({ ports: ANY_PORT, credentials });
  });
  after(() => systems.stop());

  it('has the inventory take its API key in x-api-key', async () => {
    const reserve = (headers: Record<string, string>) =>
      fetch(`${systems.inventory.url}/ports/reservations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ orderId: 'o-1' }),
      });

    const right = await reserve({ 'x-api-key': credentials['inventory-api-key'].apiKey });
    const wrong = await reserve({ 'x-api-key': demoCredentials()['inventory-api-key'].apiKey });
    const missing = await reserve({});

    assert.equal(right.status, 201);
    assert.equal(wrong.status, 401);
    assert.equal(missing.status, 401);
  });

  it('has activation take a bearer token from its own OAuth 2.0 token endpoint', async () => {
    const { clientId, clientSecret } = credentials['activation-oauth'];
    const tokenResponse = await fetch(`${systems.activation.url}/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(clientId, clientSecret),
      },
      body: 'grant_type=client_credentials',
    });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const activate = (headers: Record<string, string>) =>
      fetch(`${systems.activation.url}/services/activations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({
          orderId: 'o-1',
          orderItemId: '1',
          portId: 'DSLAM-11/1/1',
          bandwidthMbps: 100,
        }),
      });

    const withToken = await activate({ authorization: `Bearer ${token}` });
    const withClientSecret = await activate({ authorization: basic(clientId, clientSecret) });

    assert.equal(withToken.status, 201);
    assert.equal(withClientSecret.status, 401);
    assert.equal(systems.activation.stats.tokensIssued, 1);
  });

  it('has billing take HTTP basic', async () => {
    const { username, password } = credentials['billing-basic'];
    const body = `<chargeRequest><orderId>o-1</orderId><serviceId>SVC-000001</serviceId><charges><charge><type>one-time</type><amount currency="EUR">49.00</amount></charge></charges></chargeRequest>`;
    const bill = (headers: Record<string, string>) =>
      fetch(`${systems.billing.url}/billing/accounts/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', ...headers },
        body,
      });

    const right = await bill({ authorization: basic(username, password) });
    const wrong = await bill({ authorization: basic(username, `${password}x`) });

    assert.equal(right.status, 200);
    assert.equal(wrong.status, 401);
    assert.equal(systems.billing.charges.length, 1);
  });

  it('has provisioning speak https and take only the client certificate of its demo CA', async () => {
    // Prepare: the secret Switchboard's profile reads, through the client the callouts use.
    const http = new FetchHttpClient();
    const { certificate, privateKey, caBundle } = credentials['provisioning-mtls'];
    const assign = (tls: ClientTls) =>
      http.send({
        method: 'POST',
        url: `${systems.provisioning.url}/static-ips`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId: 'o-1', orderItemId: '2', ipVersion: 'v4' }),
        timeoutMs: 10_000,
        tls,
      });
    const other = demoCredentials()['provisioning-mtls'];

    try {
      // Act
      const right = await assign({ profileId: 'right', certificate, privateKey, caBundle });
      const again = await assign({ profileId: 'right', certificate, privateKey, caBundle });
      const wrong = await assign({ profileId: 'wrong', ...other, caBundle }).catch((error: Error) => error);

      // Assess
      assert.match(systems.provisioning.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(right.status, 201);
      assert.deepEqual(JSON.parse(right.body), {
        assignmentId: 'IP-000001',
        orderId: 'o-1',
        orderItemId: '2',
        ipVersion: 'v4',
        address: '203.0.113.1',
      });
      assert.equal(again.status, 200, 'the same line gets the same address');
      assert.ok(wrong instanceof CalloutError, 'a certificate of another demo CA is refused');
      assert.equal(systems.provisioning.stats.tlsRefused, 1);
      assert.equal(systems.provisioning.assignments.length, 1);
    } finally {
      await http.close();
    }
  });
});

describe('the demo systems with activation in async mode', () => {
  it('has activation accept with 202 and call back after the delays given', async () => {
    const received: { target: string; body: { status: string } }[] = [];
    const endpoint = createHttpServer(async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      received.push({ target: req.url ?? '', body: JSON.parse(text) });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    const address = endpoint.address();
    const callbackUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/cb?token=t`;
    const credentials = demoCredentials();
    const systems = await startDemoSystems({
      ports: ANY_PORT,
      credentials,
      activationMode: 'async',
      activationInterimDelayMs: 1,
      activationFinalDelayMs: 1,
    });
    try {
      const { clientId, clientSecret } = credentials['activation-oauth'];
      const tokenResponse = await fetch(`${systems.activation.url}/oauth2/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(clientId, clientSecret),
        },
        body: 'grant_type=client_credentials',
      });
      const { access_token: token } = (await tokenResponse.json()) as { access_token: string };

      const response = await fetch(`${systems.activation.url}/services/activations`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'callback-url': callbackUrl,
        },
        body: JSON.stringify({ orderId: 'o-1', orderItemId: '1', portId: 'DSLAM-12/1/1' }),
      });
      await systems.activation.settled();

      assert.equal(response.status, 202);
      assert.deepEqual(
        received.map((c) => [c.target, c.body.status]),
        [
          ['/cb?token=t', 'inProgress'],
          ['/cb?token=t', 'completed'],
        ],
      );
    } finally {
      await systems.stop();
      endpoint.closeAllConnections();
      await new Promise((resolve) => endpoint.close(resolve));
    }
  });
});

describe('demoCredentials', () => {
  it('makes fresh random credentials, shaped like the local secrets file, each time', () => {
    const one = demoCredentials();
    const two = demoCredentials();

    assert.deepEqual(Object.keys(one).sort(), [
      'activation-oauth',
      'billing-basic',
      'callbacks:activation',
      'inventory-api-key',
      'porting-bearer',
      'provisioning-mtls',
      'scheduling-api-key',
      'simulator:provisioning',
    ]);
    assert.notEqual(one['porting-bearer'].token, two['porting-bearer'].token);
    // A Standard Webhooks secret: whsec_ and base64 of 32 random bytes.
    assert.equal(webhookKey(one['callbacks:activation'].secret).length, 32);
    assert.notEqual(one['callbacks:activation'].secret, two['callbacks:activation'].secret);
    assert.notEqual(one['scheduling-api-key'].apiKey, two['scheduling-api-key'].apiKey);
    assert.notEqual(one['inventory-api-key'].apiKey, two['inventory-api-key'].apiKey);
    assert.notEqual(one['activation-oauth'].clientSecret, two['activation-oauth'].clientSecret);
    assert.notEqual(one['billing-basic'].password, two['billing-basic'].password);
    assert.ok(one['billing-basic'].password.length >= 24);
    // Provisioning's mutual TLS: Switchboard's side is a valid mtls secret, of a CA of its own each time.
    assert.ok(credentialSchemas.mtls.safeParse(one['provisioning-mtls']).success);
    assert.equal(one['provisioning-mtls'].caBundle, one['simulator:provisioning'].clientCa);
    assert.notEqual(one['provisioning-mtls'].caBundle, two['provisioning-mtls'].caBundle);
    assert.notEqual(one['provisioning-mtls'].privateKey, two['provisioning-mtls'].privateKey);
    const server = new X509Certificate(one['simulator:provisioning'].certificate);
    assert.ok(server.checkIP('127.0.0.1') && server.checkHost('localhost'));
    assert.ok(server.checkIssued(new X509Certificate(one['provisioning-mtls'].caBundle)));
  });
});

describe('startDemoSystems', () => {
  it('fails when a port is taken, leaving none of the systems running', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const taken = typeof address === 'object' && address ? address.port : 0;
    try {
      await assert.rejects(
        startDemoSystems({ ports: { ...ANY_PORT, billing: taken }, credentials: demoCredentials() }),
        /EADDRINUSE/,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
