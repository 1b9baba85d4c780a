/**
 * The images install only the production dependencies of their workspace (Dockerfile: server-deps,
 * worker-deps), while the bundle keeps every npm import external (scripts/bundle.mjs). In the
 * repository an undeclared package still resolves, hoisted there for another workspace; in the
 * image the process would die at start with ERR_MODULE_NOT_FOUND. So: every package the bundle
 * imports must be a dependency of the runtime's workspace or of core and store, bundled inside it.
 */
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../lib/task.ts';
import { repoFile } from './repo.ts';

const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
const builtins = new Set(builtinModules);

/** Packages the bundle of `runtime` imports at run time (what scripts/bundle.mjs leaves external). */
async function bundleImports(runtime: string): Promise<string[]> {
  const result = await build({
    entryPoints: [path.join(REPO_ROOT, runtime, 'src/main.ts')],
    outfile: path.join(REPO_ROOT, runtime, 'dist/main.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'external-npm-packages',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@prism/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external));
  return [
    ...new Set(
      imports
        .map((i) => i.path)
        .filter((p) => !p.startsWith('node:') && !builtins.has(p))
        .map(packageName),
    ),
  ].sort();
}

const declared = (...workspaces: string[]) =>
  new Set(
    workspaces.flatMap((w) => Object.keys(JSON.parse(repoFile(`${w}/package.json`)).dependencies ?? {})),
  );

describe('what the images install', () => {
  for (const runtime of ['server', 'worker']) {
    it(`covers every package the ${runtime} bundle imports`, async () => {
      const imports = await bundleImports(runtime);
      expect(imports.length).toBeGreaterThan(0);
      const installed = declared(runtime, 'core', 'store');
      const missing = imports.filter((p) => !installed.has(p));
      expect(missing, `add to ${runtime}/package.json "dependencies" (and npm install)`).toEqual([]);
    });
  }
});
