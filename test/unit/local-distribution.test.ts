import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LocalDeployment } from '../../local/cloud-assembly';
import { LocalDistribution } from '../../local/distribution';

/**
 * An assembly with a BucketDeployment of a built console and a config.json with deploy-time markers, and
 * one of the API's document at the bucket's root (listed first, as the template may list it).
 */
function assembly(): LocalDeployment {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-distribution-'));
  mkdirSync(join(dir, 'asset.app'));
  writeFileSync(join(dir, 'asset.app', 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(dir, 'asset.app', 'app.js'), 'console.log(1)');
  mkdirSync(join(dir, 'asset.config'));
  writeFileSync(
    join(dir, 'asset.config', 'config.json'),
    '{"signIn":{"kind":"cognito","domain":"<<marker:0>>"}}',
  );
  mkdirSync(join(dir, 'asset.document'));
  writeFileSync(join(dir, 'asset.document', 'openapi.json'), '{"openapi":"3.1.0"}');
  writeFileSync(join(dir, 'secret.txt'), 'not to be served');
  const asset = (path: string) => ({
    source: { path, packaging: 'zip' },
    destinations: { d: { bucketName: 'assets', objectKey: `${path}.zip` } },
  });
  writeFileSync(
    join(dir, 'Stack.assets.json'),
    JSON.stringify({
      files: { app: asset('asset.app'), config: asset('asset.config'), document: asset('asset.document') },
    }),
  );
  const resource = {
    logicalId: 'Deploy',
    stackName: 'Stack',
    properties: {
      SourceObjectKeys: ['asset.app.zip', 'asset.config.zip'],
      SourceMarkers: [{}, { '<<marker:0>>': 'https://auth.example' }],
      DestinationBucketKeyPrefix: 'console',
    },
  };
  const document = {
    logicalId: 'ApiDocument',
    stackName: 'Stack',
    properties: { SourceObjectKeys: ['asset.document.zip'], SourceMarkers: [{}], Prune: false },
  };
  return {
    assemblyDir: dir,
    ofType: (type: string) => (type === 'Custom::CDKBucketDeployment' ? [document, resource] : []),
    resolve: (value: unknown) => value,
  } as unknown as LocalDeployment;
}

describe('LocalDistribution: the console as CloudFront and S3 serve it', () => {
  const distribution = new LocalDistribution(assembly());
  const text = (answer: ReturnType<LocalDistribution['answer']>) => answer?.body.toString();

  it('serves the deployed files under the prefix, index.html for the folder, with the console policy', () => {
    const index = distribution.answer('GET', '/console/');
    assert.equal(index?.status, 200);
    assert.equal(index?.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(index?.headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    assert.equal(text(distribution.answer('GET', '/console/app.js')), 'console.log(1)');
    assert.equal(distribution.answer('HEAD', '/console/app.js')?.status, 200);
  });

  it('redirects / and /console to the console, and leaves every other path to the API', () => {
    for (const path of ['/', '/console'])
      assert.deepEqual(distribution.answer('GET', path)?.headers, { location: '/console/' });
    assert.equal(distribution.answer('GET', '/admin/systems'), undefined);
    assert.equal(distribution.answer('POST', '/console/app.js'), undefined, 'only GET and HEAD');
  });

  it('says to sign in with a local token, never serving the deploy-time config with its markers', () => {
    assert.deepEqual(JSON.parse(text(distribution.answer('GET', '/console/config.json')) ?? ''), {
      signIn: { kind: 'token' },
    });
  });

  it('answers a missing file 403 as S3 does, and never a file outside the deployed folders', () => {
    assert.equal(distribution.answer('GET', '/console/nope.js')?.status, 403);
    for (const path of ['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/..%2fsecret.txt'])
      assert.equal(distribution.answer('GET', path)?.status, 403, path);
  });

  it("serves the API's document at the root, and only the files deployed there", () => {
    const document = distribution.answer('GET', '/openapi.json');
    assert.equal(document?.status, 200);
    assert.equal(document?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(text(document) ?? ''), { openapi: '3.1.0' });
    for (const path of ['/config.json', '/tmf-api/productOrderingManagement/v5/productOrder', '/admin/%zz'])
      assert.equal(distribution.answer('GET', path), undefined, path);
  });

  it('answers a path that cannot be decoded 400 rather than throwing', () => {
    assert.equal(distribution.answer('GET', '/console/%')?.status, 400);
  });
});
