import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Reads a synthesized cloud assembly (cdk.out) and resolves its templates the way CloudFormation would
 * on one account in one region: every resource gets a physical name (`<stack>-<logicalId>`, as
 * CloudFormation derives them) and intrinsic functions are evaluated, across stacks through exports.
 */

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
}

interface CfnTemplate {
  Resources?: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Parameters?: Record<string, { Default?: unknown }>;
}

export interface DeployedResource {
  stackName: string;
  logicalId: string;
  type: string;
  /** The raw properties; resolve them with LocalDeployment.resolve. */
  properties: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** The logical ids of the template's DependsOn, in the same stack. */
  dependsOn: string[];
  physicalName: string;
}

export interface AssemblyEnvironment {
  region: string;
  accountId: string;
  /** The URL a queue of this name has in the local SQS. */
  queueUrl: (queueName: string) => string;
  /** The base URL the local API Gateway serves an API on. */
  apiEndpoint: (apiLogicalId: string) => string;
}

interface StackArtifact {
  name: string;
  template: CfnTemplate;
  dependencies: string[];
}

export class LocalDeployment {
  readonly resources: DeployedResource[] = [];
  readonly outputs: Record<string, Record<string, unknown>> = {};
  private readonly exports = new Map<string, unknown>();
  private readonly byStack = new Map<string, Map<string, DeployedResource>>();
  private readonly parameters = new Map<string, Record<string, unknown>>();
  private readonly provisioned = new Map<DeployedResource, Record<string, unknown>>();

  constructor(
    readonly assemblyDir: string,
    readonly env: AssemblyEnvironment,
  ) {
    for (const stack of readStacks(assemblyDir)) {
      const resources = new Map<string, DeployedResource>();
      for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
        const deployed: DeployedResource = {
          stackName: stack.name,
          logicalId,
          type: resource.Type,
          properties: resource.Properties ?? {},
          metadata: resource.Metadata ?? {},
          dependsOn: [resource.DependsOn ?? []].flat(),
          physicalName: physicalName(stack.name, logicalId, resource),
        };
        resources.set(logicalId, deployed);
        this.resources.push(deployed);
      }
      this.byStack.set(stack.name, resources);
      this.parameters.set(
        stack.name,
        Object.fromEntries(Object.entries(stack.template.Parameters ?? {}).map(([k, v]) => [k, v.Default])),
      );
      const outputs: Record<string, unknown> = {};
      for (const [key, output] of Object.entries(stack.template.Outputs ?? {})) {
        const value = this.resolve(output.Value, stack.name);
        outputs[key] = value;
        if (output.Export) this.exports.set(String(this.resolve(output.Export.Name, stack.name)), value);
      }
      this.outputs[stack.name] = outputs;
    }
  }

  ofType(type: string): DeployedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  find(stackName: string, logicalId: string): DeployedResource | undefined {
    return this.byStack.get(stackName)?.get(logicalId);
  }

  /** Resolves a resource's properties, or any template value, in the scope of its stack. */
  resolve(value: unknown, stackName: string): unknown {
    if (Array.isArray(value))
      return value.map((v) => this.resolve(v, stackName)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
      return this.intrinsic(first[0], first[1], stackName);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const resolved = this.resolve(v, stackName);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  }

  private intrinsic(name: string, arg: unknown, stackName: string): unknown {
    const r = (v: unknown) => this.resolve(v, stackName);
    switch (name) {
      case 'Ref':
        return this.ref(String(arg), stackName);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split(/\.(.*)/s);
        return this.getAtt(stackName, logicalId ?? '', attribute ?? '');
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (r(parts) as unknown[]).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        return (r(list) as unknown[])[Number(r(index))];
      }
      case 'Fn::Split': {
        const [separator, source] = arg as [string, unknown];
        return String(r(source)).split(separator);
      }
      case 'Fn::ImportValue': {
        const exportName = String(r(arg));
        if (!this.exports.has(exportName))
          throw new Error(`${stackName} imports unknown export ${exportName}`);
        return this.exports.get(exportName);
      }
      case 'Fn::Sub': {
        const [template, vars] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [String(arg), {}];
        return template.replace(/\$\{([^}!][^}]*)\}/g, (_, token: string) => {
          if (token in vars) return String(r(vars[token]));
          const [id, attribute] = token.split(/\.(.*)/s);
          return String(attribute ? this.getAtt(stackName, id ?? '', attribute) : this.ref(token, stackName));
        });
      }
      default:
        throw new Error(`the local runtime does not evaluate ${name} (in ${stackName})`);
    }
  }

  private ref(logicalId: string, stackName: string): unknown {
    switch (logicalId) {
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::AccountId':
        return this.env.accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stackName;
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const params = this.parameters.get(stackName) ?? {};
    if (logicalId in params) return params[logicalId];
    const resource = this.find(stackName, logicalId);
    if (!resource) throw new Error(`${stackName} refers to unknown resource ${logicalId}`);
    return this.attributes(resource).Ref;
  }

  private getAtt(stackName: string, logicalId: string, attribute: string): unknown {
    const resource = this.find(stackName, logicalId);
    if (!resource) throw new Error(`${stackName} refers to unknown resource ${logicalId}`);
    const attributes = this.attributes(resource);
    if (!(attribute in attributes)) {
      throw new Error(`the local runtime has no attribute ${attribute} for ${resource.type} ${logicalId}`);
    }
    return attributes[attribute];
  }

  /**
   * Records what a resource's provider returned once it exists (a custom resource's physical id and
   * Data): from then on Ref and Fn::GetAtt give those, as they do on CloudFormation.
   */
  provision(resource: DeployedResource, attributes: Record<string, unknown>): void {
    this.provisioned.set(resource, attributes);
  }

  /** What Ref and Fn::GetAtt return for a resource, by type. */
  attributes(resource: DeployedResource): Record<string, unknown> {
    const provisioned = this.provisioned.get(resource);
    if (provisioned) return provisioned;
    const { region, accountId } = this.env;
    const name = resource.physicalName;
    const arn = (service: string, rest: string) => `arn:aws:${service}:${region}:${accountId}:${rest}`;
    switch (resource.type) {
      case 'AWS::DynamoDB::Table':
        return {
          Ref: name,
          Arn: arn('dynamodb', `table/${name}`),
          StreamArn: arn('dynamodb', `table/${name}/stream/local`),
        };
      case 'AWS::SQS::Queue':
        return {
          Ref: this.env.queueUrl(name),
          QueueUrl: this.env.queueUrl(name),
          Arn: arn('sqs', name),
          QueueName: name,
        };
      case 'AWS::Lambda::Function':
        return { Ref: name, Arn: arn('lambda', `function:${name}`) };
      case 'AWS::StepFunctions::StateMachine':
        return {
          Ref: arn('states', `stateMachine:${name}`),
          Arn: arn('states', `stateMachine:${name}`),
          Name: name,
        };
      case 'AWS::Events::EventBus':
        return { Ref: name, Name: name, Arn: arn('events', `event-bus/${name}`) };
      case 'AWS::Events::Rule':
        return { Ref: name, Arn: arn('events', `rule/${name}`) };
      case 'AWS::ApiGatewayV2::Api':
        return { Ref: name, ApiId: name, ApiEndpoint: this.env.apiEndpoint(resource.logicalId) };
      case 'AWS::CloudFront::Distribution':
        // The local distribution answers on the API's port (local/distribution.ts).
        return { Ref: name, Id: name, DomainName: new URL(this.env.apiEndpoint(resource.logicalId)).host };
      case 'AWS::IAM::Role':
        return { Ref: name, Arn: `arn:aws:iam::${accountId}:role/${name}`, RoleId: name };
      case 'AWS::Logs::LogGroup':
        return { Ref: name, Arn: arn('logs', `log-group:${name}:*`) };
      case 'AWS::SecretsManager::Secret': {
        const secretArn = arn('secretsmanager', `secret:${name}-${secretSuffix(resource)}`);
        return { Ref: secretArn, Id: secretArn };
      }
      default:
        return { Ref: name, Arn: arn('local', `${resource.type}/${name}`) };
    }
  }
}

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Secrets Manager ends every secret's ARN with a dash and six random characters; deriving them from the
 * resource keeps the ARN stable across restarts, as it is for a deployed secret.
 */
function secretSuffix(resource: DeployedResource): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const digest = createHash('sha256').update(`${resource.stackName}/${resource.logicalId}`).digest();
  return [...digest.subarray(0, 6)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * CloudFormation's naming: the stack, the logical id, kept within the service's length limit. A secret's
 * or a schedule group's literal Name is kept, since code uses it by that name.
 */
function physicalName(stackName: string, logicalId: string, resource: CfnResource): string {
  const type = resource.Type;
  const givenName = resource.Properties?.Name;
  if (
    (type === 'AWS::SecretsManager::Secret' || type === 'AWS::Scheduler::ScheduleGroup') &&
    typeof givenName === 'string'
  )
    return givenName;
  const limit = type === 'AWS::Lambda::Function' ? 64 : type === 'AWS::SQS::Queue' ? 80 : 80;
  const full = `${stackName}-${logicalId}`;
  if (full.length <= limit) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, limit - 9)}-${hash}`;
}

function readStacks(assemblyDir: string): StackArtifact[] {
  const manifest = JSON.parse(readFileSync(join(assemblyDir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<
      string,
      { type: string; dependencies?: string[]; properties?: { templateFile?: string } }
    >;
  };
  const stacks = new Map<string, StackArtifact>();
  for (const [name, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const template = JSON.parse(readFileSync(join(assemblyDir, artifact.properties.templateFile), 'utf8'));
    stacks.set(name, { name, template, dependencies: artifact.dependencies ?? [] });
  }
  // Deploy order: a stack after the stacks it depends on.
  const ordered: StackArtifact[] = [];
  const visit = (stack: StackArtifact, trail: Set<string>) => {
    if (ordered.includes(stack)) return;
    if (trail.has(stack.name)) throw new Error(`stack dependency cycle through ${stack.name}`);
    trail.add(stack.name);
    for (const dep of stack.dependencies) {
      const other = stacks.get(dep);
      if (other) visit(other, trail);
    }
    ordered.push(stack);
  };
  for (const stack of stacks.values()) visit(stack, new Set());
  return ordered;
}
