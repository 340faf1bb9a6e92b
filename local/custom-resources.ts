import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { closeServer, readBody } from './aws-json-server';
import type { DeployedResource, LocalDeployment } from './cloud-assembly';
import { writeFileDurably } from './durable-file';
import { jsonProblem } from './json-problem';

/** What runs a custom resource's provider function: the LambdaHost, or a test's stand-in. */
export interface ProviderFunctions {
  /** Invokes a function by its ARN, resolving when it returns. */
  invoke(functionArn: string, event: unknown): Promise<unknown>;
}

export interface CustomResourceDeploymentOptions {
  /** Where custom-resources.json remembers what was deployed. */
  dataDir: string;
  functions: ProviderFunctions;
  log: (line: string) => void;
  /** How long to wait for the response after the function has returned or timed out; default 2 s. */
  responseGraceMs?: number;
}

type RequestType = 'Create' | 'Update' | 'Delete';

/** The event CloudFormation sends a custom resource's provider. */
export interface CustomResourceEvent {
  RequestType: RequestType;
  ServiceToken: string;
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  ResourceType: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceProperties: Record<string, unknown>;
  OldResourceProperties?: Record<string, unknown>;
}

export interface CustomResourceOutcome {
  stackName: string;
  logicalId: string;
  resourceType: string;
  action: 'created' | 'updated' | 'unchanged' | 'deleted' | 'delete failed';
  physicalResourceId: string;
}

/** A custom resource CloudFormation could not create, update or delete, with the reason it was given. */
export class CustomResourceFailedError extends Error {
  constructor(
    readonly stackName: string,
    readonly logicalId: string,
    readonly resourceType: string,
    readonly status: string,
    readonly reason: string,
  ) {
    super(`${stackName}/${logicalId} (${resourceType}) ${status}: ${reason}`);
    this.name = 'CustomResourceFailedError';
  }
}

const recordedResourceSchema = z.object({
  resourceType: z.string(),
  physicalResourceId: z.string(),
  properties: z.record(z.string(), z.unknown()),
  data: z.record(z.string(), z.unknown()).default({}),
});
const recordedStacksSchema = z.record(
  z.string(),
  z.object({ stackId: z.string(), resources: z.record(z.string(), recordedResourceSchema) }),
);
type RecordedResource = z.infer<typeof recordedResourceSchema>;
type RecordedStacks = z.infer<typeof recordedStacksSchema>;

/** CloudFormation reads at most this much of a custom resource's response. */
const RESPONSE_LIMIT_BYTES = 4096;

const isCustomResource = (type: string) =>
  (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') &&
  !PROVIDED_LOCALLY.has(type);

/**
 * Custom resources whose effect the local runtime gives itself instead of running their provider:
 * BucketDeployment's files are served from cdk.out by the local distribution (local/distribution.ts).
 */
const PROVIDED_LOCALLY = new Set(['Custom::CDKBucketDeployment']);

/**
 * Deploys the cloud assembly's custom resources as CloudFormation would on `cdk deploy`: stack by stack in
 * deploy order and within a stack after what each depends on, it sends the provider function a Create for
 * a new resource and an Update when its properties changed (nothing when they did not), then waits for the
 * response the function PUTs to the event's ResponseURL. Resources gone from the assembly, and ones an
 * Update replaced with a new physical id, get a Delete at the end, as in CloudFormation's cleanup phase;
 * a failed Delete is reported and forgotten, as CloudFormation does there. A failed Create or Update
 * throws CustomResourceFailedError; unlike CloudFormation nothing is rolled back, and the next start
 * tries that resource again.
 */
export async function deployCustomResources(
  deployment: LocalDeployment,
  options: CustomResourceDeploymentOptions,
): Promise<CustomResourceOutcome[]> {
  const bucket = await ResponseBucket.open();
  try {
    return await new CustomResourceDeployment(deployment, options, bucket).run();
  } finally {
    await bucket.close();
  }
}

interface PendingDelete {
  stackName: string;
  stackId: string;
  logicalId: string;
  recorded: RecordedResource;
}

class CustomResourceDeployment {
  private readonly file: string;
  private readonly recorded: RecordedStacks;
  private readonly outcomes: CustomResourceOutcome[] = [];

  constructor(
    private readonly deployment: LocalDeployment,
    private readonly options: CustomResourceDeploymentOptions,
    private readonly bucket: ResponseBucket,
  ) {
    this.file = join(options.dataDir, 'custom-resources.json');
    this.recorded = readRecordedStacks(this.file);
  }

  async run(): Promise<CustomResourceOutcome[]> {
    const stackNames = [...new Set(this.deployment.resources.map((r) => r.stackName))];
    for (const stackName of stackNames) {
      const customResources = deployOrder(this.deployment, stackName).filter((r) => isCustomResource(r.type));
      if (customResources.length === 0 && !this.recorded[stackName]) continue;
      const stack = this.recordedStack(stackName);
      const cleanup: PendingDelete[] = [];
      for (const resource of customResources) {
        const replaced = await this.deploy(resource, stack.stackId);
        if (replaced)
          cleanup.push({
            stackName,
            stackId: stack.stackId,
            logicalId: resource.logicalId,
            recorded: replaced,
          });
      }
      const present = new Set(customResources.map((r) => r.logicalId));
      for (const [logicalId, recorded] of Object.entries(stack.resources).reverse()) {
        if (!present.has(logicalId)) cleanup.push({ stackName, stackId: stack.stackId, logicalId, recorded });
      }
      await this.cleanUp(cleanup);
    }
    // Stacks no longer in the assembly: their resources go as they would with the stack.
    for (const stackName of Object.keys(this.recorded).reverse()) {
      if (stackNames.includes(stackName)) continue;
      const stack = this.recordedStack(stackName);
      await this.cleanUp(
        Object.entries(stack.resources)
          .reverse()
          .map(([logicalId, recorded]) => ({ stackName, stackId: stack.stackId, logicalId, recorded })),
      );
      delete this.recorded[stackName];
      this.save();
    }
    return this.outcomes;
  }

  /** Creates or updates one resource; returns what it replaced, if its physical id changed. */
  private async deploy(resource: DeployedResource, stackId: string): Promise<RecordedResource | undefined> {
    const { stackName, logicalId, type } = resource;
    const stack = this.recordedStack(stackName);
    const previous = stack.resources[logicalId];
    const properties = asCloudFormationSendsThem(
      this.deployment.resolve(resource.properties, stackName),
    ) as Record<string, unknown>;
    const sameType = previous?.resourceType === type;
    if (previous && sameType && isDeepStrictEqual(previous.properties, properties)) {
      this.provision(resource, previous);
      this.report({
        stackName,
        logicalId,
        resourceType: type,
        action: 'unchanged',
        physicalResourceId: previous.physicalResourceId,
      });
      return undefined;
    }
    // A changed resource type is a replacement: a new resource, and the old one deleted afterwards.
    const requestType = previous && sameType ? 'Update' : 'Create';
    const status = requestType === 'Create' ? 'CREATE_FAILED' : 'UPDATE_FAILED';
    const fail = (reason: string) =>
      new CustomResourceFailedError(stackName, logicalId, type, status, reason);
    const serviceToken = properties.ServiceToken;
    if (typeof serviceToken !== 'string') throw fail('the resource has no ServiceToken');
    const response = await this.request(
      {
        RequestType: requestType,
        ServiceToken: serviceToken,
        StackId: stackId,
        RequestId: randomUUID(),
        ResourceType: type,
        LogicalResourceId: logicalId,
        ...(requestType === 'Update' && previous
          ? { PhysicalResourceId: previous.physicalResourceId, OldResourceProperties: previous.properties }
          : {}),
        ResourceProperties: properties,
      },
      fail,
    );
    const deployed: RecordedResource = {
      resourceType: type,
      physicalResourceId: response.PhysicalResourceId,
      properties,
      data: response.Data ?? {},
    };
    stack.resources[logicalId] = deployed;
    this.save();
    this.provision(resource, deployed);
    this.report({
      stackName,
      logicalId,
      resourceType: type,
      action: requestType === 'Create' ? 'created' : 'updated',
      physicalResourceId: deployed.physicalResourceId,
    });
    const replaced = previous && (!sameType || previous.physicalResourceId !== deployed.physicalResourceId);
    return replaced ? previous : undefined;
  }

  private async cleanUp(deletes: PendingDelete[]): Promise<void> {
    for (const { stackName, stackId, logicalId, recorded } of deletes) {
      const { resourceType, physicalResourceId, properties } = recorded;
      const outcome = { stackName, logicalId, resourceType, physicalResourceId };
      try {
        await this.request(
          {
            RequestType: 'Delete',
            ServiceToken: String(properties.ServiceToken),
            StackId: stackId,
            RequestId: randomUUID(),
            ResourceType: resourceType,
            LogicalResourceId: logicalId,
            PhysicalResourceId: physicalResourceId,
            ResourceProperties: properties,
          },
          (reason) =>
            new CustomResourceFailedError(stackName, logicalId, resourceType, 'DELETE_FAILED', reason),
        );
        this.report({ ...outcome, action: 'deleted' });
      } catch (error) {
        const reason = error instanceof CustomResourceFailedError ? error.reason : (error as Error).message;
        this.report({ ...outcome, action: 'delete failed' }, reason);
      }
      const stack = this.recorded[stackName];
      // An Update that replaced the resource has already recorded its successor under the same logical id.
      if (stack?.resources[logicalId] === recorded) delete stack.resources[logicalId];
      this.save();
    }
  }

  /** Sends one request to the provider and waits for its response, as CloudFormation waits on the S3 object. */
  private async request(
    request: Omit<CustomResourceEvent, 'ResponseURL'>,
    fail: (reason: string) => CustomResourceFailedError,
  ): Promise<SuccessResponse> {
    const timeoutMs = this.providerTimeoutMs(request.ServiceToken, fail);
    const graceMs = this.options.responseGraceMs ?? 2000;
    const expected = this.bucket.expect();
    const event: CustomResourceEvent = { ...request, ResponseURL: expected.url };
    const response = expected.response.then((body) => ({ kind: 'response' as const, body }));
    const invocation = this.options.functions.invoke(request.ServiceToken, event).then(
      () => ({ kind: 'returned' as const }),
      (error: Error) => ({ kind: 'failed' as const, error }),
    );
    const deadline = countdown(timeoutMs + graceMs);
    try {
      let first = await Promise.race([response, invocation, deadline.elapsed]);
      if (first.kind === 'returned') {
        // A function that returned has had its chance to PUT: what it sent is here already, or never comes.
        const grace = countdown(graceMs);
        first = await Promise.race([response, grace.elapsed]).finally(grace.cancel);
      }
      switch (first.kind) {
        case 'response':
          return readResponse(first.body, event, fail);
        case 'failed':
          throw fail(`the provider function ${request.ServiceToken} failed: ${first.error.message}`);
        default:
          throw fail(
            `no response from the provider function ${request.ServiceToken}, which must PUT its result ` +
              'to the ResponseURL (CloudFormation did not receive a response from your Custom Resource)',
          );
      }
    } finally {
      deadline.cancel();
      expected.forget();
    }
  }

  /** The provider's timeout, which bounds how long CloudFormation's wait is worth waiting here. */
  private providerTimeoutMs(
    serviceToken: string,
    fail: (reason: string) => CustomResourceFailedError,
  ): number {
    const provider = this.deployment
      .ofType('AWS::Lambda::Function')
      .find((fn) => this.deployment.attributes(fn).Arn === serviceToken);
    if (!provider) {
      throw fail(
        `the ServiceToken ${serviceToken} is not a Lambda function of the cloud assembly ` +
          '(the local runtime runs Lambda-backed custom resources only)',
      );
    }
    const { Timeout } = this.deployment.resolve(provider.properties, provider.stackName) as {
      Timeout?: number;
    };
    return (Timeout ?? 3) * 1000;
  }

  private provision(resource: DeployedResource, deployed: RecordedResource): void {
    this.deployment.provision(resource, { ...deployed.data, Ref: deployed.physicalResourceId });
  }

  private recordedStack(stackName: string): RecordedStacks[string] {
    this.recorded[stackName] ??= {
      stackId: `arn:aws:cloudformation:${this.deployment.env.region}:${this.deployment.env.accountId}:stack/${stackName}/${randomUUID()}`,
      resources: {},
    };
    return this.recorded[stackName];
  }

  private report(outcome: CustomResourceOutcome, reason?: string): void {
    this.outcomes.push(outcome);
    const status = {
      created: 'CREATE_COMPLETE',
      updated: 'UPDATE_COMPLETE',
      unchanged: 'no change',
      deleted: 'DELETE_COMPLETE',
      'delete failed': 'DELETE_FAILED',
    }[outcome.action];
    this.options.log(
      `[cloudformation] ${outcome.stackName}/${outcome.logicalId} (${outcome.resourceType}) ${status}` +
        (reason ? `: ${reason}` : ` · ${outcome.physicalResourceId}`),
    );
  }

  private save(): void {
    // Data may carry values meant only for the stack (NoEcho), so the file is its owner's alone.
    writeFileDurably(this.file, `${JSON.stringify(this.recorded, null, 2)}\n`, 0o600);
  }
}

interface SuccessResponse {
  PhysicalResourceId: string;
  Data?: Record<string, unknown>;
}

const responseSchema = z.object({
  Status: z.enum(['SUCCESS', 'FAILED']),
  Reason: z.string().optional(),
  PhysicalResourceId: z.string().optional(),
  StackId: z.string(),
  RequestId: z.string(),
  LogicalResourceId: z.string(),
  Data: z.record(z.string(), z.unknown()).optional(),
});

/** Judges a response as CloudFormation does; Data is never echoed, since it may hold NoEcho values. */
function readResponse(
  body: string,
  event: CustomResourceEvent,
  fail: (reason: string) => CustomResourceFailedError,
): SuccessResponse {
  if (Buffer.byteLength(body) > RESPONSE_LIMIT_BYTES) {
    throw fail(`Response object is too long (over ${RESPONSE_LIMIT_BYTES} bytes).`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw fail('Response object is not valid JSON.');
  }
  const checked = responseSchema.safeParse(parsed);
  if (!checked.success) {
    const fields = [...new Set(checked.error.issues.map((issue) => issue.path.join('.') || 'the response'))];
    throw fail(`Invalid response object: check ${fields.join(', ')}`);
  }
  const response = checked.data;
  for (const field of ['StackId', 'RequestId', 'LogicalResourceId'] as const) {
    if (response[field] !== event[field])
      throw fail(`Invalid response object: ${field} must be the request's`);
  }
  if (response.Status === 'FAILED') {
    throw fail(
      `Received response status [FAILED] from custom resource. Message returned: ${response.Reason ?? '(no Reason)'}`,
    );
  }
  if (!response.PhysicalResourceId) throw fail('Invalid PhysicalResourceId');
  return { PhysicalResourceId: response.PhysicalResourceId, Data: response.Data };
}

/**
 * CloudFormation hands a custom resource every scalar property as a string (5 arrives as "5", true as
 * "true"); the local runtime does the same, so a provider that works here works there.
 */
function asCloudFormationSendsThem(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asCloudFormationSendsThem);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asCloudFormationSendsThem(v)]));
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

/** A stack's resources in the order CloudFormation creates them: after their DependsOn and what they refer to. */
function deployOrder(deployment: LocalDeployment, stackName: string): DeployedResource[] {
  const resources = deployment.resources.filter((r) => r.stackName === stackName);
  const byLogicalId = new Map(resources.map((r) => [r.logicalId, r]));
  const ordered = new Set<DeployedResource>();
  const visiting = new Set<DeployedResource>();
  const visit = (resource: DeployedResource) => {
    if (ordered.has(resource)) return;
    if (visiting.has(resource))
      throw new Error(`${stackName}: circular dependency through ${resource.logicalId}`);
    visiting.add(resource);
    for (const logicalId of [...resource.dependsOn, ...references(resource.properties)]) {
      const dependency = byLogicalId.get(logicalId);
      if (dependency) visit(dependency);
    }
    visiting.delete(resource);
    ordered.add(resource);
  };
  for (const resource of resources) visit(resource);
  return [...ordered];
}

/** The logical ids a template value refers to through Ref, Fn::GetAtt and Fn::Sub. */
function references(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(references);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, arg]): string[] => {
    if (key === 'Ref') return [String(arg)];
    if (key === 'Fn::GetAtt')
      return [Array.isArray(arg) ? String(arg[0]) : (String(arg).split('.')[0] ?? '')];
    if (key === 'Fn::Sub') {
      const [template, variables] = Array.isArray(arg) ? [String(arg[0]), arg[1] ?? {}] : [String(arg), {}];
      const named = [...template.matchAll(/\$\{([^}!][^}]*)\}/g)]
        .map((match) => match[1] ?? '')
        .filter((token) => !(token in variables))
        .map((token) => token.split('.')[0] ?? '');
      return [...named, ...references(variables)];
    }
    return references(arg);
  });
}

function readRecordedStacks(file: string): RecordedStacks {
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${file} is not valid JSON (${jsonProblem(text, error)}); delete it to deploy every custom resource anew`,
    );
  }
  const checked = recordedStacksSchema.safeParse(parsed);
  if (!checked.success) {
    throw new Error(
      `${file} is not what the local runtime wrote; delete it to deploy every custom resource anew`,
    );
  }
  return checked.data;
}

function countdown(ms: number): { elapsed: Promise<{ kind: 'elapsed' }>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<{ kind: 'elapsed' }>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'elapsed' }), ms);
  });
  return { elapsed, cancel: () => clearTimeout(timer) };
}

/**
 * Stands in for the S3 bucket CloudFormation pre-signs response URLs in: each URL takes one PUT, whose
 * body is the provider's response.
 */
class ResponseBucket {
  private readonly expected = new Map<string, (body: string) => void>();

  private constructor(
    private readonly server: Server,
    private readonly baseUrl: string,
  ) {}

  static async open(): Promise<ResponseBucket> {
    let bucket: ResponseBucket | undefined;
    const server = createServer(async (req, res) => {
      const key = (req.url ?? '').split('?')[0]?.slice(1) ?? '';
      const deliver = bucket?.expected.get(key);
      if (req.method !== 'PUT' || !deliver) {
        res
          .writeHead(403, { 'content-type': 'application/xml' })
          .end('<Error><Code>AccessDenied</Code></Error>');
        return;
      }
      try {
        deliver(await readBody(req, 1024 * 1024));
        res.writeHead(200, { etag: `"${randomBytes(16).toString('hex')}"` }).end();
      } catch {
        res.writeHead(400).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    bucket = new ResponseBucket(server, `http://127.0.0.1:${port}`);
    return bucket;
  }

  /** A fresh URL to PUT one response to, the response once it is there, and a way to stop expecting it. */
  expect(): { url: string; response: Promise<string>; forget: () => void } {
    const key = `cloudformation-custom-resource-response/${randomBytes(16).toString('hex')}`;
    const response = new Promise<string>((resolve) => this.expected.set(key, resolve));
    return {
      url: `${this.baseUrl}/${key}?X-Amz-Expires=7200`,
      response,
      forget: () => this.expected.delete(key),
    };
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }
}
