import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { closeServer, readBody } from './aws-json-server';
import type { LocalDeployment } from './cloud-assembly';
import type { LocalDistribution } from './distribution';
import { listen } from './free-port';
import type { LocalIdentity } from './identities';
import type { LambdaHost } from './lambda-host';
import { answerMetricsRequest, LOCAL_PATH_PREFIX, type LocalMetrics } from './metrics';
import { TokenBucket } from './token-bucket';

/** HTTP APIs accept payloads up to 10 MB; anything larger never reaches an integration. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

interface JwtAuthorizer {
  issuer: string;
  audience: string[];
}

interface Route {
  method: string;
  pattern: RegExp;
  paramNames: string[];
  routeKey: string;
  functionArn: string;
  authorizer?: JwtAuthorizer;
  /** The stage's throttling of this route: its own route settings, else the stage's default. */
  throttle?: TokenBucket;
}

interface ThrottleSettings {
  ThrottlingRateLimit?: number;
  ThrottlingBurstLimit?: number;
}

/** One request to a route of the API and its answer, as they passed the gateway. */
export interface ApiExchange {
  /** `METHOD /path/{param}`, the route it matched. */
  routeKey: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  /** Lower-case names. */
  requestHeaders?: Record<string, string>;
  /** The body as sent, if any. */
  requestBody?: string;
  status: number;
  /** Lower-case names. */
  headers?: Record<string, string>;
  body?: string;
}

const TOO_MANY_REQUESTS: APIGatewayProxyStructuredResultV2 = {
  statusCode: 429,
  body: JSON.stringify({ message: 'Too Many Requests' }),
};

const INTERNAL_SERVER_ERROR: APIGatewayProxyStructuredResultV2 = {
  statusCode: 500,
  body: JSON.stringify({ message: 'Internal Server Error' }),
};

const UNAUTHORIZED: APIGatewayProxyStructuredResultV2 = {
  statusCode: 401,
  headers: { 'www-authenticate': 'Bearer' },
  body: JSON.stringify({ message: 'Unauthorized' }),
};

/**
 * Serves the template's HTTP API (API Gateway v2) routes on loopback: matches a request to a route the
 * way API Gateway does (exact segments before {params}), throttles it as the stage says (429), builds
 * the payload-2.0 event, invokes the integration's Lambda and writes its structured result back.
 * The runtime's own paths under `/local` (the functions' metrics) and the console's files are answered
 * first, as the distribution answers its paths before the API on AWS.
 */
export class LocalApiGateway {
  private server?: Server;
  private readonly routes: Route[] = [];

  private readonly tokens: Map<string, LocalIdentity>;

  constructor(
    private readonly deployment: LocalDeployment,
    private readonly lambdas: LambdaHost,
    identities: LocalIdentity[],
    private readonly log: (line: string) => void,
    /** The console's distribution, which fronts the API's port as it fronts the API on AWS. */
    private readonly distribution?: LocalDistribution,
    /** The functions' metrics, read and reset at `/local/metrics` (local only: no token, not billed). */
    private readonly metrics?: LocalMetrics,
    /** Told of every request to a route and its answer (the end-to-end tests check them against the API's document). */
    private readonly observe?: (exchange: ApiExchange) => void,
  ) {
    this.tokens = new Map(identities.map((identity) => [identity.token, identity]));
    const authorizers = new Map<string, JwtAuthorizer>();
    for (const authorizer of deployment.ofType('AWS::ApiGatewayV2::Authorizer')) {
      const p = deployment.resolve(authorizer.properties, authorizer.stackName) as {
        AuthorizerType: string;
        JwtConfiguration?: { Issuer: string; Audience?: string[] };
      };
      if (p.AuthorizerType !== 'JWT' || !p.JwtConfiguration) {
        throw new Error(`${authorizer.logicalId}: the local API Gateway runs only JWT authorizers`);
      }
      authorizers.set(authorizer.physicalName, {
        issuer: p.JwtConfiguration.Issuer,
        audience: p.JwtConfiguration.Audience ?? [],
      });
    }
    // The stage's throttling, as API Gateway applies it: each route its own bucket, of the route's
    // settings where the stage has them, else of the stage's default route settings.
    const [stage] = deployment.ofType('AWS::ApiGatewayV2::Stage');
    const stageProps = stage
      ? (deployment.resolve(stage.properties, stage.stackName) as {
          DefaultRouteSettings?: ThrottleSettings;
          RouteSettings?: Record<string, ThrottleSettings>;
        })
      : {};
    const throttleOf = (routeKey: string): TokenBucket | undefined => {
      const settings = stageProps.RouteSettings?.[routeKey] ?? stageProps.DefaultRouteSettings;
      const { ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst } = settings ?? {};
      return rate !== undefined && burst !== undefined ? new TokenBucket(rate, burst) : undefined;
    };
    const integrations = new Map<string, string>();
    for (const integration of deployment.ofType('AWS::ApiGatewayV2::Integration')) {
      const p = deployment.resolve(integration.properties, integration.stackName) as Record<string, unknown>;
      if (p.IntegrationType !== 'AWS_PROXY' || typeof p.IntegrationUri !== 'string') {
        throw new Error(
          `${integration.logicalId}: the local API Gateway runs only Lambda proxy integrations`,
        );
      }
      integrations.set(integration.physicalName, p.IntegrationUri);
    }
    for (const route of deployment.ofType('AWS::ApiGatewayV2::Route')) {
      const p = deployment.resolve(route.properties, route.stackName) as {
        RouteKey: string;
        Target?: string;
        AuthorizationType?: string;
        AuthorizerId?: string;
      };
      let authorizer: JwtAuthorizer | undefined;
      if (p.AuthorizationType === 'JWT') {
        authorizer = authorizers.get(p.AuthorizerId ?? '');
        if (!authorizer)
          throw new Error(`${route.logicalId}: route ${p.RouteKey} names an unknown authorizer`);
      } else if (p.AuthorizationType && p.AuthorizationType !== 'NONE') {
        throw new Error(
          `${route.logicalId}: the local API Gateway does not run ${p.AuthorizationType} authorization`,
        );
      }
      const target = p.Target?.replace(/^integrations\//, '') ?? '';
      const functionArn = integrations.get(target);
      if (!functionArn) throw new Error(`${route.logicalId}: route ${p.RouteKey} has no integration`);
      const [method = '', path = ''] = p.RouteKey.split(' ');
      // The runtime's own paths are answered before any route: a deployed one there would never be reached.
      if (path === LOCAL_PATH_PREFIX || path.startsWith(`${LOCAL_PATH_PREFIX}/`)) {
        throw new Error(
          `${route.logicalId}: route ${p.RouteKey} is under ${LOCAL_PATH_PREFIX}/, which the local runtime keeps for its own paths`,
        );
      }
      const throttle = throttleOf(p.RouteKey);
      const paramNames: string[] = [];
      const pattern = path
        .split('/')
        .map((segment) => {
          const param = /^\{(.+?)(\+)?\}$/.exec(segment);
          if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          paramNames.push(param[1] ?? '');
          return param[2] ? '(.+)' : '([^/]+)';
        })
        .join('/');
      this.routes.push({
        method,
        pattern: new RegExp(`^${pattern}$`),
        paramNames,
        routeKey: p.RouteKey,
        functionArn,
        ...(authorizer ? { authorizer } : {}),
        ...(throttle ? { throttle } : {}),
      });
    }
    // API Gateway prefers the most specific route: literal segments before parameters.
    this.routes.sort((a, b) => a.paramNames.length - b.paramNames.length);
  }

  /** Requests served since start, by route key (unmatched ones under `-`): what an HTTP API bills. */
  readonly requests = new Map<string, number>();
  /** Requests refused by the stage's throttling since start (429), by route key. */
  readonly throttled = new Map<string, number>();

  async start(port: number, host = '127.0.0.1'): Promise<number> {
    this.server = createServer((req, res) => {
      let served: ReturnType<LocalDistribution['answer']>;
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const method = req.method ?? 'GET';
        served =
          (this.metrics && answerMetricsRequest(this.metrics, method, url)) ??
          this.distribution?.answer(method, url.pathname);
      } catch (error) {
        // A path no URL parser takes (`//`, a stray `%`): answered, never a crash of the runtime.
        served = {
          status: 400,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify({ message: `bad request path: ${(error as Error).message}` })),
        };
      }
      if (served) {
        // A 204 carries no body and, by HTTP's rule, no content-length either.
        const length = served.status === 204 ? {} : { 'content-length': served.body.length };
        res.writeHead(served.status, { ...served.headers, ...length });
        res.end(req.method === 'HEAD' ? undefined : served.body);
        return;
      }
      this.handle(req).then(
        (result) => {
          const body = result.body ?? '';
          res.writeHead(result.statusCode ?? 200, {
            'content-type': 'application/json',
            ...(result.headers as Record<string, string>),
            'content-length': Buffer.byteLength(body, result.isBase64Encoded ? 'base64' : 'utf8'),
          });
          res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
        },
        (error: Error) => {
          this.log(`[api] ${req.method} ${req.url} failed: ${error.message}`);
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'Internal Server Error' }));
        },
      );
    });
    // Idle connections stay open longer than any client keeps one (undici: 4 s), so a client never sends on
    // a socket this side is closing at that moment (an ECONNRESET a loaded machine made of Node's 5 s).
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    await listen(this.server, port, host);
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  private async handle(req: IncomingMessage): Promise<APIGatewayProxyStructuredResultV2> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const candidates = this.routes.filter((r) => r.pattern.test(url.pathname));
    const route = candidates.find((r) => r.method === method || r.method === 'ANY');
    const key = route?.routeKey ?? '-';
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (!route) return { statusCode: 404, body: JSON.stringify({ message: 'Not Found' }) };
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
    }
    const seen: Partial<ApiExchange> = {};
    let result: APIGatewayProxyStructuredResultV2;
    try {
      result = await this.pass(route, req, url, headers, seen);
    } catch (error) {
      // The integration failed (the function threw, or its answer was no answer): API Gateway's own 500.
      this.log(`[api] ${method} ${req.url} failed: ${(error as Error).message}`);
      result = INTERNAL_SERVER_ERROR;
    }
    const observe = this.observe;
    if (observe) {
      const body = result.body ?? '';
      const exchange: ApiExchange = {
        ...seen,
        routeKey: route.routeKey,
        query: Object.fromEntries(url.searchParams),
        requestHeaders: headers,
        status: result.statusCode ?? 200,
        headers: Object.fromEntries(
          Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
        ),
        body: result.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body,
      };
      // After the answer, and never at its expense: an observer that throws is logged, not answered.
      setImmediate(() => {
        try {
          observe(exchange);
        } catch (error) {
          this.log(`[api] the observer of ${route.routeKey} failed: ${(error as Error).message}`);
        }
      });
    }
    return result;
  }

  /** Everything API Gateway does with a request for a route: throttle, authorize, read, invoke. */
  private async pass(
    route: Route,
    req: IncomingMessage,
    url: URL,
    headers: Record<string, string>,
    seen: Partial<ApiExchange>,
  ): Promise<APIGatewayProxyStructuredResultV2> {
    const method = req.method ?? 'GET';
    const key = route.routeKey;
    if (route.throttle && !route.throttle.take()) {
      this.throttled.set(key, (this.throttled.get(key) ?? 0) + 1);
      return TOO_MANY_REQUESTS;
    }
    let claims: Record<string, unknown> | undefined;
    if (route.authorizer) {
      claims = this.verify(req.headers.authorization, route.authorizer);
      if (!claims) return UNAUTHORIZED;
    }
    let body: string;
    try {
      body = await readBody(req, MAX_PAYLOAD_BYTES);
    } catch {
      return { statusCode: 413, body: JSON.stringify({ message: 'Request Entity Too Large' }) };
    }
    const match = route.pattern.exec(url.pathname);
    let pathParameters: Record<string, string>;
    try {
      pathParameters = Object.fromEntries(
        route.paramNames.map((name, i) => [name, decodeURIComponent(match?.[i + 1] ?? '')]),
      );
    } catch {
      // A malformed percent-escape never reaches an integration.
      return { statusCode: 400, body: JSON.stringify({ message: 'Bad Request' }) };
    }
    seen.pathParameters = pathParameters;
    if (body.length > 0) seen.requestBody = body;
    const now = new Date();
    const event: APIGatewayProxyEventV2 = {
      version: '2.0',
      routeKey: route.routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.replace(/^\?/, ''),
      headers,
      ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
      ...(route.paramNames.length > 0 ? { pathParameters } : {}),
      requestContext: {
        accountId: this.deployment.env.accountId,
        apiId: 'local',
        domainName: headers.host ?? 'localhost',
        domainPrefix: 'localhost',
        http: {
          method,
          path: url.pathname,
          protocol: 'HTTP/1.1',
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey: route.routeKey,
        stage: '$default',
        ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      },
      body: body.length > 0 ? body : undefined,
      isBase64Encoded: false,
    };
    const result = await this.lambdas.invoke(route.functionArn, event);
    if (typeof result === 'object' && result !== null && 'statusCode' in result) {
      return result as APIGatewayProxyStructuredResultV2;
    }
    // Payload 2.0: a result without statusCode is a 200 with the result as JSON.
    return { statusCode: 200, body: JSON.stringify(result) };
  }

  /**
   * Stands in for API Gateway's JWT validation: a known token gets its identity's claims, completed with
   * the authorizer's issuer and one of its audiences as Cognito access tokens carry them.
   */
  private verify(header: string | undefined, authorizer: JwtAuthorizer): Record<string, unknown> | undefined {
    const token = header?.replace(/^Bearer\s+/i, '').trim();
    const identity = token ? this.tokens.get(token) : undefined;
    if (!identity) return undefined;
    return {
      iss: authorizer.issuer,
      client_id: authorizer.audience[0] ?? 'local',
      token_use: 'access',
      ...identity.claims,
    };
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }
}
