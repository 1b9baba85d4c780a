// Bundles a process entry point for `npm start -w <pkg>`: Prism's own workspaces (core, store)
// go inside the bundle; npm dependencies stay in node_modules, loaded at run time.
import { build } from 'esbuild';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: node scripts/bundle.mjs <entry.ts> <out.js>');
  process.exit(2);
}

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: true,
  logLevel: 'warning',
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
console.log(`built ${outfile}`);
