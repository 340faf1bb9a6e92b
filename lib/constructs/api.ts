import { CfnOutput, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type AddRoutesOptions,
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { TMF622_BASE_PATH as TMF622_BASE } from '../../lambdas/domain/order-view';
import type { SwitchboardIdentity } from './identity';

export interface SwitchboardApiRoutes {
  orderApi: IFunction;
  orchestrationApi: IFunction;
  adminApi: IFunction;
  callbackApi: IFunction;
  identity: SwitchboardIdentity;
  /** The app clients whose tokens the API accepts: the identity's and the console's. */
  clients: IUserPoolClient[];
}

/**
 * The HTTP API: TMF622 product orders and the orchestration view, with access logs. Every route needs a
 * Cognito token (JWT authorizer); the functions then check the caller's role. The API exists before its
 * routes: the console's distribution needs its address, and the routes' authorizer the console's client.
 */
export interface SwitchboardApiProps {
  /** The stage's default route throttling (context `switchboard:apiThrottle`). */
  throttle?: { rateLimit: number; burstLimit: number };
  /** The callback routes' throttling (context `switchboard:callbackThrottle`). */
  callbackThrottle?: { rateLimit: number; burstLimit: number };
}

/** Requests a second each route takes by default, and the burst: well above a busy order capture. */
export const DEFAULT_THROTTLE = { rateLimit: 200, burstLimit: 400 };

/**
 * The callback routes' own, tighter limit: a flood of callbacks (a leaked URL, a system gone wrong) is
 * answered 429 at the gateway, before any Lambda runs, above this — far more than the answers of the
 * callouts in flight need (each waits for one final answer and a few updates), and a system re-sends a
 * refused callback.
 */
export const CALLBACK_THROTTLE = { rateLimit: 50, burstLimit: 100 };

/** The callback routes: the correlation id and the URL's proof; a URL without its proof (told why). */
export const CALLBACK_ROUTE_KEYS = [
  'POST /callbacks/{correlationId}/{proof}',
  'POST /callbacks/{correlationId}',
] as const;

export class SwitchboardApi extends Construct {
  readonly httpApi: HttpApi;
  private readonly stage: HttpStage;
  private readonly callbackThrottle: { rateLimit: number; burstLimit: number };

  constructor(scope: Construct, id: string, props: SwitchboardApiProps = {}) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Switchboard: TMF622 product ordering and orchestration',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.callbackThrottle = props.callbackThrottle ?? CALLBACK_THROTTLE;
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      // One JSON object per request, so the logs can be queried by field.
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            route: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            error: '$context.error.message',
            integrationError: '$context.integrationErrorMessage',
            caller: '$context.authorizer.claims.sub',
          }),
        ),
      },
      // Each route may take this many requests a second (and bursts this big); more answer 429.
      throttle: props.throttle ?? DEFAULT_THROTTLE,
    });
    new CfnOutput(this, 'Url', {
      value: this.httpApi.apiEndpoint,
      description: 'Base URL of the Switchboard API',
    });
  }

  addRoutes(props: SwitchboardApiRoutes): void {
    const authorizer = new HttpUserPoolAuthorizer('Cognito', props.identity.userPool, {
      userPoolClients: props.clients,
    });
    const route = (options: Omit<AddRoutesOptions, 'authorizer'>) =>
      this.httpApi.addRoutes({ authorizer, ...options });
    const orders = new HttpLambdaIntegration('Orders', props.orderApi);
    route({
      path: `${TMF622_BASE}/productOrder`,
      methods: [HttpMethod.POST, HttpMethod.GET],
      integration: orders,
    });
    route({
      path: `${TMF622_BASE}/productOrder/{id}`,
      methods: [HttpMethod.GET, HttpMethod.PATCH],
      integration: orders,
    });
    route({
      path: `${TMF622_BASE}/cancelProductOrder`,
      methods: [HttpMethod.POST, HttpMethod.GET],
      integration: orders,
    });
    route({
      path: `${TMF622_BASE}/cancelProductOrder/{id}`,
      methods: [HttpMethod.GET],
      integration: orders,
    });
    route({ path: `${TMF622_BASE}/hub`, methods: [HttpMethod.POST, HttpMethod.GET], integration: orders });
    route({
      path: `${TMF622_BASE}/hub/{id}`,
      methods: [HttpMethod.GET, HttpMethod.DELETE],
      integration: orders,
    });
    const orchestration = new HttpLambdaIntegration('Orchestration', props.orchestrationApi);
    route({
      path: '/orchestration/orders/{orderId}/items',
      methods: [HttpMethod.GET],
      integration: orchestration,
    });
    for (const action of ['complete', 'retry', 'skip', 'fail', 'abort']) {
      route({
        path: `/orchestration/items/{itemId}/${action}`,
        methods: [HttpMethod.POST],
        integration: orchestration,
      });
    }

    const admin = new HttpLambdaIntegration('Admin', props.adminApi);
    const { GET, POST, PUT, PATCH, DELETE } = HttpMethod;
    for (const [path, methods] of [
      ['/admin/systems', [GET]],
      ['/admin/systems/{systemId}', [GET, PATCH]],
      ['/admin/systems/{systemId}/state', [PUT]],
      ['/admin/systems/{systemId}/on-hold-items', [GET]],
      ['/admin/systems/{systemId}/release', [POST]],
      ['/admin/systems/{systemId}/maintenance-windows', [GET, POST]],
      ['/admin/systems/{systemId}/maintenance-windows/{windowId}', [DELETE]],
      ['/admin/system-interfaces/{interfaceId}', [GET, PATCH]],
      ['/admin/system-interfaces/{interfaceId}/on-hold-items', [GET]],
      ['/admin/fallout', [GET]],
      ['/admin/retry-rules', [GET]],
      ['/admin/retry-rules/{ruleId}', [GET, PUT, DELETE]],
      ['/admin/dead-letters', [GET]],
      ['/admin/dead-letters/{queue}/redrive', [POST]],
      ['/admin/listeners', [GET]],
      ['/admin/jeopardy', [GET]],
      ['/admin/listeners/{listenerId}/resume', [POST]],
      ['/admin/offerings', [GET]],
    ] as const) {
      route({ path, methods: [...methods], integration: admin });
    }

    // Systems have no Cognito token: a callback is authorized by the proof its URL carries (and, where
    // its interface wants one, its system's signature). A URL without its proof reaches the function too,
    // so that the system is told why it is refused rather than given a bare 404.
    const callbackIntegration = new HttpLambdaIntegration('Callbacks', props.callbackApi);
    // CloudFormation's own shape: RouteSettings is a JSON map the L1 passes through as it is.
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const routeKey of CALLBACK_ROUTE_KEYS) {
      const [, path = ''] = routeKey.split(' ');
      const [callbacks] = this.httpApi.addRoutes({
        path,
        methods: [HttpMethod.POST],
        integration: callbackIntegration,
        authorizer: new HttpNoneAuthorizer(),
      });
      if (!callbacks) continue;
      Validations.of(callbacks).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Callbacks come from fulfilment systems that hold no Cognito identity; each callback URL carries an HMAC proof of its correlation id and expiry, checked by the callback function before anything is read, and interfaces may require Standard Webhooks signatures (docs/security.md).',
      });
      routeSettings[routeKey] = {
        ThrottlingRateLimit: this.callbackThrottle.rateLimit,
        ThrottlingBurstLimit: this.callbackThrottle.burstLimit,
      };
      // A stage's route settings may name only routes that exist.
      this.stage.node.addDependency(callbacks);
    }
    (this.stage.node.defaultChild as CfnStage).routeSettings = routeSettings;
  }
}
