/**
 * `cdk synth` with the pinned aws-cdk CLI, run from infra/ exactly as infra/README.md says, with no
 * AWS account: the app (bin/app.ts), the CLI and the built-in template validation all agree.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../lib/task.ts';

const run = promisify(execFile);
const INFRA = path.join(REPO_ROOT, 'infra');
const require = createRequire(import.meta.url);
const cliPackage = require.resolve('aws-cdk/package.json');
const PINNED = '2.1148.1';

/** No account, no credentials, no network: what a fresh clone on a laptop without AWS has. */
const offlineEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (/^(AWS_|CDK_DEFAULT_)/.test(key)) delete env[key];
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_DISABLE_VERSION_CHECK: 'true',
    CI: 'true',
  };
};

describe('cdk synth (pinned CLI, offline)', () => {
  let out = '';
  let stderr = '';
  let seconds = 0;

  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'prism-cdk-'));
    const started = Date.now();
    const cli = path.join(path.dirname(cliPackage), 'bin', 'cdk');
    const result = await run(
      process.execPath,
      [cli, 'synth', '--quiet', '--no-notices', '-c', 'env=offline', '-o', out],
      { cwd: INFRA, env: offlineEnv(), timeout: 110_000, maxBuffer: 32 * 1024 * 1024 },
    );
    stderr = result.stderr;
    seconds = (Date.now() - started) / 1000;
  }, 120_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('uses the CLI version TOOLCHAIN.md pins', () => {
    expect(JSON.parse(readFileSync(cliPackage, 'utf8')).version).toBe(PINNED);
  });

  it('synthesizes the Prism stack, account-agnostic, with the deploy-time parameters', () => {
    const template = JSON.parse(readFileSync(path.join(out, 'Prism.template.json'), 'utf8'));
    expect(Object.keys(template.Parameters)).toEqual(expect.arrayContaining(['CertificateArn', 'PublicUrl']));
    const types = Object.values<{ Type: string }>(template.Resources).map((r) => r.Type);
    for (const type of [
      'AWS::EC2::VPC',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      'AWS::ECS::Service',
      'AWS::ElastiCache::ReplicationGroup',
      'AWS::S3::Bucket',
      'AWS::SecretsManager::Secret',
      'AWS::CloudWatch::Dashboard',
      'AWS::CloudWatch::Alarm',
    ]) {
      expect(types).toContain(type);
    }
    expect(JSON.stringify(template)).toContain('{"Ref":"AWS::AccountId"}');
    console.log(`cdk synth took ${seconds.toFixed(1)} s`);
  });

  it('builds both images from the repository Dockerfile (targets server and worker)', () => {
    const assets = JSON.parse(readFileSync(path.join(out, 'Prism.assets.json'), 'utf8'));
    const images = Object.values<{
      source: { directory: string; dockerFile?: string; dockerBuildTarget?: string };
    }>(assets.dockerImages);
    expect(images.map((i) => i.source.dockerBuildTarget).sort()).toEqual(['server', 'worker']);
    for (const image of images) expect(image.source.dockerFile ?? 'Dockerfile').toBe('Dockerfile');
  });

  it('passes the built-in template validation', () => {
    const report = JSON.parse(readFileSync(path.join(out, 'validation-report.json'), 'utf8'));
    const violations = (report.pluginReports ?? []).flatMap(
      (r: { violations?: unknown[] }) => r.violations ?? [],
    );
    expect(violations, stderr).toEqual([]);
  });
});
