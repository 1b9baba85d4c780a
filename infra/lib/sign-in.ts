/**
 * Sign-in with an OpenID Connect provider (CONTRACT 7.1), optional:
 *
 * - `cognito`: a Cognito user pool (people are invited by an administrator; no self sign-up), its
 *   hosted sign-in domain, and a confidential app client for the authorization code flow with the
 *   redirect URI `${PublicUrl}/auth/callback`. The client secret Cognito generates is copied into
 *   Secrets Manager (never in the template or the task definition).
 * - `issuer`: an existing provider (Entra ID, Okta, Google, Keycloak, ...), given at deploy time by
 *   the parameters OidcIssuer, OidcClientId and OidcClientSecretArn (a Secrets Manager secret
 *   holding the client secret as plain text); infra/README.md says how to register Prism there.
 *
 * Either way the server gets OIDC_ISSUER, OIDC_CLIENT_ID and AUTH_GUEST in its environment and
 * OIDC_CLIENT_SECRET from Secrets Manager.
 */
import { Aws, CfnOutput, CfnParameter, Duration, Fn, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

interface SignInCommon {
  /** "Sign in with <name>" (OIDC_PROVIDER_NAME); default: the server's label for the issuer. */
  readonly providerName?: string;
  /** Keep guest sign-in (AUTH_GUEST=true) beside the provider. Default false. */
  readonly guest?: boolean;
}

export type SignInOptions =
  | (SignInCommon & {
      readonly kind: 'cognito';
      /** The hosted sign-in domain's prefix (unique in the region). Default: `<stack>-<account>`. */
      readonly domainPrefix?: string;
    })
  | (SignInCommon & { readonly kind: 'issuer' });

export interface SignInProps {
  readonly options: SignInOptions;
  /** PUBLIC_URL (a token of the PublicUrl parameter). */
  readonly publicUrl: string;
  readonly removalPolicy: RemovalPolicy;
}

/** A Cognito domain prefix from the stack name: lowercase letters, digits and hyphens, no "aws"/"cognito". */
export function cognitoDomainPrefixFor(stackName: string): string {
  const base = stackName
    .toLowerCase()
    .replace(/aws|cognito|amazon/g, '')
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${(base || 'prism').slice(0, 40)}-signin`;
}

export class SignIn extends Construct {
  /** What the server's environment gains. */
  readonly environment: Record<string, string>;
  /** What the server's secrets gain: OIDC_CLIENT_SECRET. */
  readonly secrets: Record<string, ecs.Secret>;
  readonly clientSecret: secretsmanager.ISecret;
  readonly userPool?: cognito.UserPool;
  readonly client?: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: SignInProps) {
    super(scope, id);
    const { options } = props;
    let issuer: string;
    let clientId: string;
    if (options.kind === 'cognito') {
      const userPool = new cognito.UserPool(this, 'UserPool', {
        // A team's pool: an administrator invites people (their email is their sign-in name).
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        autoVerify: { email: true },
        standardAttributes: {
          email: { required: true, mutable: true },
          fullname: { required: false, mutable: true },
        },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        mfa: cognito.Mfa.OPTIONAL,
        mfaSecondFactor: { otp: true, sms: false },
        passwordPolicy: { minLength: 12, requireSymbols: false },
        removalPolicy: props.removalPolicy,
      });
      const stack = Stack.of(this);
      const prefix =
        options.domainPrefix ?? Fn.join('-', [cognitoDomainPrefixFor(stack.stackName), Aws.ACCOUNT_ID]);
      userPool.addDomain('Domain', { cognitoDomain: { domainPrefix: prefix } });
      const client = userPool.addClient('Client', {
        generateSecret: true,
        authFlows: {},
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.PROFILE, cognito.OAuthScope.EMAIL],
          callbackUrls: [`${props.publicUrl}/auth/callback`],
          logoutUrls: [props.publicUrl],
        },
        supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
        preventUserExistenceErrors: true,
        idTokenValidity: Duration.hours(1),
        accessTokenValidity: Duration.hours(1),
        refreshTokenValidity: Duration.days(1),
      });
      this.userPool = userPool;
      this.client = client;
      this.clientSecret = new secretsmanager.Secret(this, 'ClientSecret', {
        description: 'Prism OIDC_CLIENT_SECRET: the Cognito app client secret',
        secretStringValue: client.userPoolClientSecret,
        removalPolicy: props.removalPolicy,
      });
      issuer = userPool.userPoolProviderUrl;
      clientId = client.userPoolClientId;
      new CfnOutput(this, 'UserPoolId', {
        value: userPool.userPoolId,
        description: 'Invite people here (Cognito console, or aws cognito-idp admin-create-user)',
      });
    } else {
      // Parameters of the stack itself, so their names are plain (`--parameters OidcIssuer=...`).
      const stack = Stack.of(this);
      issuer = new CfnParameter(stack, 'OidcIssuer', {
        type: 'String',
        description: 'OIDC_ISSUER: the OpenID Connect issuer URL, exactly as its discovery document says',
        allowedPattern: '^https://\\S+$',
        constraintDescription: 'an https:// issuer URL',
      }).valueAsString;
      clientId = new CfnParameter(stack, 'OidcClientId', {
        type: 'String',
        description: 'OIDC_CLIENT_ID: the client (application) id registered at the issuer',
        minLength: 1,
      }).valueAsString;
      const secretArn = new CfnParameter(stack, 'OidcClientSecretArn', {
        type: 'String',
        description: 'ARN of the Secrets Manager secret holding the client secret (plain text)',
        allowedPattern: '^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:.+$',
        constraintDescription: 'a Secrets Manager secret ARN',
        // Not the secret itself, but CloudFormation's checks take any "secret" parameter for one.
        noEcho: true,
      }).valueAsString;
      this.clientSecret = secretsmanager.Secret.fromSecretCompleteArn(this, 'ClientSecret', secretArn);
    }
    this.environment = {
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_ID: clientId,
      OIDC_SCOPES: 'openid profile email',
      AUTH_GUEST: options.guest ? 'true' : 'false',
      ...(options.providerName ? { OIDC_PROVIDER_NAME: options.providerName } : {}),
    };
    this.secrets = { OIDC_CLIENT_SECRET: ecs.Secret.fromSecretsManager(this.clientSecret) };
    if (options.kind === 'cognito') {
      new CfnOutput(this, 'ClientSecretArn', { value: this.clientSecret.secretArn });
    }
  }
}
