import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { consoleContentSecurityPolicy } from '../lib/constructs/console-policy';
import type { LocalDeployment } from './cloud-assembly';

/** What the distribution answers: a file, a redirect, or nothing (the path is the API's). */
export interface DistributionAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface DeployedFiles {
  /** The bucket key prefix the deployment writes under, with a trailing slash (`console/`). */
  prefix: string;
  /** The source folders in cdk.out, in the deployment's order: a later one's file wins. */
  folders: string[];
}

/**
 * The response headers the distribution's policy adds on AWS (lib/constructs/operator-console.ts), with
 * the local runtime's own origin for Cognito's: the console is tested under the same CSP it runs under.
 */
const CONSOLE_HEADERS = {
  'content-security-policy': consoleContentSecurityPolicy(),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/**
 * The local stand-in for the console's CloudFront distribution and its S3 bucket, on the API's port as
 * on AWS the distribution fronts both. It serves what each `Custom::CDKBucketDeployment` of the
 * assembly puts in the bucket, read from cdk.out through the asset manifests (no provider function
 * runs: BucketDeployment's is Python and copies zips to S3), under the deployment's key prefix. The
 * console's paths behave as the distribution's function makes them: `/` and `/console` redirect to
 * `/console/`, a path ending in `/` serves its `index.html`.
 *
 * `config.json` is the one file that differs: on AWS it names Cognito's hosted sign-in (its values are
 * deploy-time markers); here the local runtime stands in for Cognito with its operator tokens, so the
 * answer says so. Sources with deploy-time markers are therefore not served.
 */
export class LocalDistribution {
  private readonly deployments: DeployedFiles[];

  constructor(deployment: LocalDeployment) {
    const assets = assetFolders(deployment.assemblyDir);
    this.deployments = deployment.ofType('Custom::CDKBucketDeployment').map((resource) => {
      const props = deployment.resolve(resource.properties, resource.stackName) as {
        SourceObjectKeys?: string[];
        SourceMarkers?: Record<string, unknown>[];
        DestinationBucketKeyPrefix?: string;
      };
      const folders = (props.SourceObjectKeys ?? []).flatMap((key, n) => {
        if (Object.keys(props.SourceMarkers?.[n] ?? {}).length > 0) return [];
        const folder = assets.get(key);
        if (!folder)
          throw new Error(`${resource.logicalId}: no asset in the assembly is published as ${key}`);
        return [folder];
      });
      const prefix = (props.DestinationBucketKeyPrefix ?? '').replace(/^\/|\/$/g, '');
      return { prefix: prefix ? `${prefix}/` : '', folders };
    });
  }

  /** The key prefixes the distribution serves (`console/`), for a log line. */
  get prefixes(): string[] {
    return this.deployments.map((d) => d.prefix);
  }

  answer(method: string, path: string): DistributionAnswer | undefined {
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    const console = this.deployments.find((d) => d.prefix !== '' && path === `/${d.prefix.slice(0, -1)}`);
    if (path === '/' || console) {
      const target = `/${(console ?? this.deployments.find((d) => d.prefix !== ''))?.prefix ?? ''}`;
      return { status: 302, headers: { location: target }, body: Buffer.alloc(0) };
    }
    for (const deployed of this.deployments) {
      if (!path.startsWith(`/${deployed.prefix}`)) continue;
      let key: string;
      try {
        key = decodeURIComponent(path.slice(deployed.prefix.length + 1)) || 'index.html';
      } catch {
        if (deployed.prefix === '') continue;
        return json({ message: `the path ${path} is not a valid URL path` }, 400);
      }
      const name = key.endsWith('/') ? `${key}index.html` : key;
      if (deployed.prefix !== '' && name === 'config.json') return json({ signIn: { kind: 'token' } });
      for (const folder of [...deployed.folders].reverse()) {
        const file = resolve(folder, normalize(name));
        if (!file.startsWith(folder + sep) || !existsSync(file) || !statSync(file).isFile()) continue;
        return {
          status: 200,
          headers: {
            'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
            'cache-control': 'no-cache',
            ...CONSOLE_HEADERS,
          },
          body: readFileSync(file),
        };
      }
      // Files at the bucket's root (the API's document) are served, and nothing else: every other path
      // here is the API's (on AWS the distribution forwards only the API's patterns; S3 would answer the rest).
      if (deployed.prefix === '') continue;
      // S3 through origin access control answers a missing key with 403, which CloudFront passes on.
      return json({ message: `no ${deployed.prefix}${name} in the bucket` }, 403);
    }
    return undefined;
  }
}

function json(body: unknown, status = 200): DistributionAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/** Every file asset of the assembly published as a zip of a folder: its object key → the folder. */
function assetFolders(assemblyDir: string): Map<string, string> {
  const folders = new Map<string, string>();
  for (const name of readdirSync(assemblyDir).filter((n) => n.endsWith('.assets.json'))) {
    const manifest = JSON.parse(readFileSync(join(assemblyDir, name), 'utf8')) as {
      files?: Record<
        string,
        { source: { path?: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }
      >;
    };
    for (const asset of Object.values(manifest.files ?? {})) {
      if (asset.source.packaging !== 'zip' || !asset.source.path) continue;
      for (const destination of Object.values(asset.destinations))
        folders.set(destination.objectKey, resolve(assemblyDir, asset.source.path));
    }
  }
  return folders;
}
