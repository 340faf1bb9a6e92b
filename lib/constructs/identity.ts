import { CfnOutput, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AccountRecovery,
  CustomThreatProtectionMode,
  FeaturePlan,
  Mfa,
  OAuthScope,
  ResourceServerScope,
  StandardThreatProtectionMode,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
  UserPoolGroup,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { GROUPS, SCOPES } from '../../lambdas/domain/roles';

/**
 * Who may call Switchboard: a Cognito user pool whose groups give people their role (order submitters,
 * operators), and an OAuth resource server whose scopes give machine clients theirs through the client
 * credentials flow (order capture submits orders; operations tooling operates), with no person involved.
 */
export interface SwitchboardIdentityProps {
  /**
   * Where the hosted UI may send people back after they sign in with the people client (context
   * `switchboard:peopleCallbackUrls`); without any, that client signs people in with SRP only.
   */
  peopleCallbackUrls?: string[];
  /** The deployment's stage: the hosted UI's domain prefix, unique in the region, carries it. */
  stage?: string;
}

export class SwitchboardIdentity extends Construct {
  readonly userPool: UserPool;
  /** Where people sign in (the hosted UI) and clients get tokens. */
  readonly domain: UserPoolDomain;
  /** The app clients whose tokens the API accepts. */
  readonly clients: UserPoolClient[];

  constructor(scope: Construct, id: string, props: SwitchboardIdentityProps = {}) {
    super(scope, id);
    this.userPool = new UserPool(this, 'Users', {
      selfSignUpEnabled: false,
      signInAliases: { email: true, username: true },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      // Operators can take systems down: threat protection blocks risky sign-ins and leaked passwords.
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      customThreatProtectionMode: CustomThreatProtectionMode.FULL_FUNCTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const [role, groupName] of Object.entries(GROUPS)) {
      new UserPoolGroup(this, `${role}Group`, {
        userPool: this.userPool,
        groupName,
        description: `Switchboard ${role}s`,
      });
    }
    const resourceServer = this.userPool.addResourceServer('Api', {
      identifier: SCOPES.resourceServer,
      scopes: [
        new ResourceServerScope({
          scopeName: SCOPES.submit,
          scopeDescription: 'submit product orders and read those it submitted',
        }),
        new ResourceServerScope({
          scopeName: SCOPES.readOrders,
          scopeDescription: 'read every product order',
        }),
        new ResourceServerScope({
          scopeName: SCOPES.operate,
          scopeDescription: 'operate systems, items and fallout',
        }),
      ],
    });
    const scopeOf = (name: string) =>
      OAuthScope.resourceServer(
        resourceServer,
        new ResourceServerScope({ scopeName: name, scopeDescription: name }),
      );

    // The token endpoint needs a domain; the account id keeps the prefix unique without naming anything.
    const domain = this.userPool.addDomain('Domain', {
      cognitoDomain: {
        domainPrefix: Fn.join('-', [
          'switchboard',
          ...(props.stage ? [props.stage] : []),
          Stack.of(this).account,
        ]),
      },
    });

    const machineClient = (clientId: string, scopeName: string) =>
      this.userPool.addClient(clientId, {
        generateSecret: true,
        // The client credentials flow only: no person signs in through a machine client.
        authFlows: { userSrp: false },
        oAuth: { flows: { clientCredentials: true }, scopes: [scopeOf(scopeName)] },
        accessTokenValidity: Duration.hours(1),
      });
    const orderCapture = machineClient('OrderCaptureClient', SCOPES.submit);
    const operationsClient = machineClient('OperationsClient', SCOPES.operate);
    // People sign in with SRP (a team's own tooling) and, where the deployment names its applications'
    // callback URLs, the hosted UI's authorization code flow (with PKCE) — never the implicit grant, and
    // with no scope but who they are: their role comes from their group.
    const callbackUrls = props.peopleCallbackUrls ?? [];
    const people = this.userPool.addClient('PeopleClient', {
      authFlows: { userSrp: true },
      ...(callbackUrls.length > 0
        ? {
            oAuth: {
              flows: { authorizationCodeGrant: true },
              scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
              callbackUrls,
              logoutUrls: callbackUrls,
            },
            supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
          }
        : { disableOAuth: true }),
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      preventUserExistenceErrors: true,
    });
    this.clients = [orderCapture, operationsClient, people];
    this.domain = domain;

    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'TokenUrl', { value: `${domain.baseUrl()}/oauth2/token` });
    new CfnOutput(this, 'OrderCaptureClientId', { value: orderCapture.userPoolClientId });
    new CfnOutput(this, 'OperationsClientId', { value: operationsClient.userPoolClientId });
    new CfnOutput(this, 'PeopleClientId', { value: people.userPoolClientId });
  }
}
