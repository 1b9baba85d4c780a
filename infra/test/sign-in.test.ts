/**
 * Sign-in (CONTRACT 7.1): none by default; a Cognito user pool with a confidential app client for
 * the code flow, its secret in Secrets Manager; or an existing issuer by parameters. Either way the
 * server gets OIDC_* and AUTH_GUEST=false, and OIDC_CLIENT_SECRET only from Secrets Manager.
 */
import { describe, expect, it } from 'vitest';
import { cognitoDomainPrefixFor } from '../lib/sign-in.ts';
import { flatten, logicalId, roleStatements, synth } from './helpers.ts';
import { envKeys } from './repo.ts';

type Template = ReturnType<typeof synth>['template'];

const server = (template: Template) =>
  Object.values(template.findResources('AWS::ECS::TaskDefinition'))
    .map((r) => r.Properties.ContainerDefinitions[0])
    .find((c) => c.Name === 'server');
const envOf = (template: Template): Record<string, string> =>
  Object.fromEntries(
    server(template).Environment.map((e: { Name: string; Value: unknown }) => [e.Name, flatten(e.Value)]),
  );
const secretNames = (template: Template): string[] =>
  server(template).Secrets.map((s: { Name: string }) => s.Name);

describe('sign-in: none by default', () => {
  const { template } = synth();

  it('has no user pool and no OIDC_* variable: guests sign in as before', () => {
    expect(template.findResources('AWS::Cognito::UserPool')).toEqual({});
    expect(Object.keys(envOf(template)).filter((k) => k.startsWith('OIDC_') || k === 'AUTH_GUEST')).toEqual(
      [],
    );
    expect(secretNames(template)).not.toContain('OIDC_CLIENT_SECRET');
  });
});

describe('sign-in with a new Cognito user pool', () => {
  const { template } = synth({ signIn: { kind: 'cognito' } });

  it('makes a pool people are invited to, signing in by email', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      UsernameAttributes: ['email'],
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      Domain: { 'Fn::Join': ['-', ['prismtest-signin', { Ref: 'AWS::AccountId' }]] },
    });
  });

  it('registers a confidential code-flow client with the redirect URI <PublicUrl>/auth/callback', () => {
    const [client] = Object.values(template.findResources('AWS::Cognito::UserPoolClient'));
    const p = client?.Properties;
    expect(p.GenerateSecret).toBe(true);
    expect(p.AllowedOAuthFlows).toEqual(['code']);
    expect(p.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect([...p.AllowedOAuthScopes].sort()).toEqual(['email', 'openid', 'profile']);
    expect(p.CallbackURLs.map(flatten)).toEqual([`\${PublicUrl}/auth/callback`]);
    expect(p.SupportedIdentityProviders).toEqual(['COGNITO']);
  });

  it('keeps the client secret in Secrets Manager and gives it to the server as OIDC_CLIENT_SECRET', () => {
    const secret = logicalId(template, 'AWS::SecretsManager::Secret', 'SignInClientSecret');
    const resource = template.findResources('AWS::SecretsManager::Secret')[secret];
    // The value comes from Cognito at deploy time (DescribeUserPoolClient), not from the template.
    expect(JSON.stringify(resource?.Properties.SecretString)).toMatch(/UserPoolClient\.ClientSecret/);
    expect(server(template).Secrets).toContainEqual({
      Name: 'OIDC_CLIENT_SECRET',
      ValueFrom: { Ref: secret },
    });
    expect(JSON.stringify(server(template).Environment)).not.toMatch(/ClientSecret/);
    const reads = roleStatements(template, 'ServerTaskExecutionRole').filter((s) =>
      JSON.stringify(s.Resource).includes(secret),
    );
    expect(reads.flatMap((s) => s.Action)).toContain('secretsmanager:GetSecretValue');
  });

  it('points the server at the pool as its issuer, guests off', () => {
    const env = envOf(template);
    const pool = logicalId(template, 'AWS::Cognito::UserPool', 'SignInUserPool');
    const client = logicalId(template, 'AWS::Cognito::UserPoolClient', 'SignInUserPool');
    // The pool's ProviderURL: https://cognito-idp.<region>.amazonaws.com/<pool id>.
    expect(env.OIDC_ISSUER).toBe(`\${${pool}.ProviderURL}`);
    expect(env.OIDC_CLIENT_ID).toBe(`\${${client}}`);
    expect(env.OIDC_SCOPES).toBe('openid profile email');
    expect(env.AUTH_GUEST).toBe('false');
    for (const key of [...Object.keys(env), ...secretNames(template)]) {
      if (key.startsWith('OIDC_') || key === 'AUTH_GUEST') expect(envKeys('server')).toContain(key);
    }
  });

  it('keeps guests beside the pool, and names the button, when asked', () => {
    const env = envOf(synth({ signIn: { kind: 'cognito', guest: true, providerName: 'Acme' } }).template);
    expect(env).toMatchObject({ AUTH_GUEST: 'true', OIDC_PROVIDER_NAME: 'Acme' });
  });
});

describe('sign-in with an existing issuer (Entra ID, Okta, ...)', () => {
  const { template } = synth({ signIn: { kind: 'issuer' } });

  it('takes the issuer, client id and secret ARN as parameters, and makes no pool', () => {
    expect(template.findResources('AWS::Cognito::UserPool')).toEqual({});
    const parameters = template.toJSON().Parameters as Record<string, { AllowedPattern?: string }>;
    // Plain names, as infra/README.md gives them to `cdk deploy --parameters`.
    const [issuer, clientId, secretArn] = ['OidcIssuer', 'OidcClientId', 'OidcClientSecretArn'];
    expect(Object.keys(parameters)).toEqual(expect.arrayContaining([issuer, clientId, secretArn]));
    const pattern = new RegExp(parameters.OidcIssuer?.AllowedPattern ?? '');
    expect(pattern.test('https://login.microsoftonline.com/tenant/v2.0')).toBe(true);
    expect(pattern.test('http://login.example.com')).toBe(false);
    const env = envOf(template);
    expect(env).toMatchObject({
      OIDC_ISSUER: `\${${issuer}}`,
      OIDC_CLIENT_ID: `\${${clientId}}`,
      AUTH_GUEST: 'false',
    });
    expect(server(template).Secrets).toContainEqual({
      Name: 'OIDC_CLIENT_SECRET',
      ValueFrom: { Ref: secretArn },
    });
  });
});

describe('cognitoDomainPrefixFor', () => {
  it('makes a prefix Cognito accepts from any stack name', () => {
    expect(cognitoDomainPrefixFor('Prism')).toBe('prism-signin');
    expect(cognitoDomainPrefixFor('Prism-AWS_Cognito-Prod')).toBe('prism-prod-signin');
    expect(cognitoDomainPrefixFor('---')).toBe('prism-signin');
  });
});
