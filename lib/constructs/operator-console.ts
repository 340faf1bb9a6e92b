import {
  AssetHashType,
  CfnOutput,
  DockerImage,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { OAuthScope, UserPoolClient, UserPoolClientIdentityProvider } from 'aws-cdk-lib/aws-cognito';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { buildConsole, CONSOLE_DIR } from '../../console/build';
import { API_DOCUMENT_PATH } from '../../lambdas/domain/schema-location';
import { consoleContentSecurityPolicy } from './console-policy';
import type { SwitchboardIdentity } from './identity';

/** Where the console lives on its distribution (and on the local runtime's port). */
export const CONSOLE_PATH = '/console/';

/** The API's paths the distribution forwards, so the console calls its API on its own origin. */
export const API_PATH_PATTERNS = ['/admin/*', '/orchestration/*', '/tmf-api/*'] as const;

export interface OperatorConsoleProps {
  httpApi: HttpApi;
  identity: SwitchboardIdentity;
  /** The API's OpenAPI document, published at the distribution's `/openapi.json`. */
  apiDocument: object;
}

/**
 * The operator console: static files in a private S3 bucket behind CloudFront (origin access control,
 * so only the distribution reads the bucket), with the API's paths forwarded to the HTTP API on the
 * same distribution: one origin for the console and its API, so no CORS and no token leaves it. People
 * sign in through Cognito's hosted UI only (the console sends the authorization code with PKCE; the
 * client has no secret and no other sign-in flow); their group gives them their role, as for the API.
 */
export class OperatorConsole extends Construct {
  readonly distribution: Distribution;
  /** The app client the console signs people in with; the API's authorizer must accept its tokens. */
  readonly client: UserPoolClient;

  constructor(scope: Construct, id: string, props: OperatorConsoleProps) {
    super(scope, id);
    const bucket = new Bucket(this, 'Files', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Only built files live here: the deployment puts them back on every deploy.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const api = {
      origin: new HttpOrigin(Fn.select(2, Fn.split('/', props.httpApi.apiEndpoint))),
      allowedMethods: AllowedMethods.ALLOW_ALL,
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      // Every viewer header but Host (API Gateway answers 403 to a foreign Host), Authorization included.
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };
    // The console is one page: `/` and `/console` lead to it, and a path ending in / means its index.
    const paths = new EdgeFunction(this, 'Paths', {
      runtime: FunctionRuntime.JS_2_0,
      comment: 'Sends / and /console to /console/, and serves index.html for a path ending in /',
      code: FunctionCode.fromInline(
        [
          'function handler(event) {',
          '  var request = event.request;',
          `  if (request.uri === '/' || request.uri === '${CONSOLE_PATH.slice(0, -1)}') {`,
          `    return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: '${CONSOLE_PATH}' } } };`,
          '  }',
          "  if (request.uri.endsWith('/')) request.uri += 'index.html';",
          '  return request;',
          '}',
        ].join('\n'),
      ),
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Switchboard operator console and its API',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: new ResponseHeadersPolicy(this, 'Headers', {
          comment: "The console's CSP and security headers",
          securityHeadersBehavior: {
            contentSecurityPolicy: {
              contentSecurityPolicy: consoleContentSecurityPolicy(props.identity.domain.baseUrl()),
              override: true,
            },
            contentTypeOptions: { override: true },
            frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
            referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.SAME_ORIGIN, override: true },
            strictTransportSecurity: {
              accessControlMaxAge: Duration.days(365),
              includeSubdomains: true,
              override: true,
            },
          },
        }),
        functionAssociations: [{ function: paths, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: Object.fromEntries(API_PATH_PATTERNS.map((pattern) => [pattern, api])),
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
    });
    const consoleUrl = `https://${this.distribution.distributionDomainName}${CONSOLE_PATH}`;

    // In this stack, not the user pool's: its callback is the distribution's address.
    this.client = new UserPoolClient(this, 'Client', {
      userPool: props.identity.userPool,
      generateSecret: false,
      // Only the hosted UI signs people in: no SRP or custom flow on this public client, refresh only.
      authFlows: { userSrp: false },
      enableTokenRevocation: true,
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      // No API scope: a person's role comes from their group, never from this client.
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [consoleUrl],
        logoutUrls: [consoleUrl],
      },
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      preventUserExistenceErrors: true,
    });

    const files = new Asset(this, 'Build', {
      path: CONSOLE_DIR,
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never used: esbuild builds it here, with no Docker, as it builds the functions' bundles.
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim'),
        local: {
          tryBundle(outputDir) {
            buildConsole(outputDir);
            return true;
          },
        },
      },
    });
    // The deployments' provider (one function for both) logs here, expiring as every other function's do.
    const deployLogs = new LogGroup(this, 'DeployLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new BucketDeployment(this, 'Deploy', {
      sources: [
        Source.bucket(files.bucket, files.s3ObjectKey),
        Source.jsonData('config.json', {
          signIn: {
            kind: 'cognito',
            domain: props.identity.domain.baseUrl(),
            clientId: this.client.userPoolClientId,
            redirectUri: consoleUrl,
          },
        }),
      ],
      destinationBucket: bucket,
      destinationKeyPrefix: CONSOLE_PATH.slice(1, -1),
      distribution: this.distribution,
      distributionPaths: [`${CONSOLE_PATH}*`],
      memoryLimit: 512,
      logGroup: deployLogs,
    });

    // The API's reference beside the console, at the distribution's root: a deployment of its own that
    // leaves the rest of the bucket alone (the console's deployment prunes only under its prefix).
    new BucketDeployment(this, 'ApiDocument', {
      sources: [Source.jsonData(API_DOCUMENT_PATH.slice(1), props.apiDocument)],
      destinationBucket: bucket,
      prune: false,
      distribution: this.distribution,
      distributionPaths: [API_DOCUMENT_PATH],
      memoryLimit: 512,
      logGroup: deployLogs,
    });

    new CfnOutput(this, 'Url', { value: consoleUrl, description: 'The operator console' });
    new CfnOutput(this, 'ApiDocumentUrl', {
      value: `https://${this.distribution.distributionDomainName}${API_DOCUMENT_PATH}`,
      description: "The API's OpenAPI 3.1 document",
    });
    acknowledgeFindings(bucket, this.distribution, Stack.of(this));
  }
}

/** The AwsSolutions findings the console accepts, each with its reason (docs/console.md). */
function acknowledgeFindings(bucket: Bucket, distribution: Distribution, stack: Stack): void {
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'The bucket holds only the built console, which CloudFront alone reads through origin access control; what operators do is in the API access log.',
  });
  const acknowledge = (id: string, reason: string) =>
    Validations.of(distribution).acknowledge({ id, reason });
  acknowledge(
    'AwsSolutions-CFR1',
    'Operators work from wherever their organisation is; a geo restriction is a deployment choice (docs/console.md).',
  );
  acknowledge(
    'AwsSolutions-CFR2',
    "A web ACL for CloudFront lives in us-east-1 and is the organisation's to choose; every API path still needs a Cognito token, and sign-in has Cognito's Plus threat protection (docs/console.md).",
  );
  acknowledge(
    'AwsSolutions-CFR3',
    "Every API call through the distribution is in the HTTP API's access log; the rest are the console's static files, which hold no data.",
  );
  acknowledge(
    'AwsSolutions-CFR4',
    'The default *.cloudfront.net certificate is always reported as TLSv1; a deployment with its own domain gives the distribution a certificate and TLSv1.2_2021 (docs/console.md).',
  );
  // BucketDeployment's provider: one function per stack, named by CDK (Custom::CDKBucketDeployment<uuid><memory>).
  const provider = stack.node.children.find((child) =>
    child.node.id.startsWith('Custom::CDKBucketDeployment'),
  );
  if (!provider) throw new Error('the console deployment has no provider function to acknowledge');
  const deploymentReason =
    "CDK's BucketDeployment provider: it reads the CDK asset bucket, writes only the console's bucket (object actions on its keys) and invalidates the distribution's cache, which IAM cannot scope below *; its runtime is the one CDK ships.";
  for (const id of [
    'AwsSolutions-L1',
    'AwsSolutions-IAM5[Action::s3:GetObject*]',
    'AwsSolutions-IAM5[Action::s3:GetBucket*]',
    'AwsSolutions-IAM5[Action::s3:List*]',
    'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
    'AwsSolutions-IAM5[Action::s3:Abort*]',
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
    `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucket.node.defaultChild as CfnBucket)}.Arn>/*]`,
    'AwsSolutions-IAM5[Resource::*]',
  ]) {
    Validations.of(provider).acknowledge({ id, reason: deploymentReason });
  }
}
