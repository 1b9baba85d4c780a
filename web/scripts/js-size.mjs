// Initial JS per route: the files a first visit loads before any dynamic import, gzipped.
// Run after `npm run build` (reads .svelte-kit/output/client/.vite/manifest.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const out = new URL('../.svelte-kit/output/client/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(out, '.vite/manifest.json'), 'utf8'));
const entries = Object.entries(manifest);
const find = (pattern) =>
  entries.find(([key, value]) => pattern.test(key) || pattern.test(value.src ?? ''))?.[0];

function closure(keys) {
  const seen = new Set();
  const visit = (key) => {
    if (!key || seen.has(key)) return;
    seen.add(key);
    for (const dep of manifest[key]?.imports ?? []) visit(dep);
  };
  keys.forEach(visit);
  return [...seen].map((key) => manifest[key].file).filter((file) => file.endsWith('.js'));
}

// Kit 3 names nodes by number: 0 is the root layout, then the routes in the order of the app's manifest.
const start = find(/runtime\/client\/entry\.js$/);
const app = find(/client-optimized\/app\.js$/);
const node = (n) => find(new RegExp(`client-optimized/nodes/${n}\\.js$`));
const base = [start, app, node(0)].filter(Boolean);
const routes = {};
for (let n = 1; node(n); n += 1) {
  const source = readFileSync(new URL(`../${node(n)}`, import.meta.url), 'utf8');
  const route = /src\/routes(\/.*?)\/?\+(page|error)\.svelte/.exec(source);
  routes[route ? `${route[1] || '/'}${route[2] === 'error' ? ' (error)' : ''}` : `node ${n}`] = node(n);
}
let worst = 0;
for (const [route, key] of Object.entries(routes)) {
  const files = [...new Set(closure([...base, key]))];
  const raw = files.reduce((sum, file) => sum + readFileSync(join(out, file)).length, 0);
  const gz = files.reduce(
    (sum, file) => sum + gzipSync(readFileSync(join(out, file)), { level: 9 }).length,
    0,
  );
  worst = Math.max(worst, gz);
  console.log(
    `${route.padEnd(16)} ${files.length} files, ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped`,
  );
}
const limit = 200 * 1024;
if (worst > limit) {
  console.error(`initial JS over budget: ${(worst / 1024).toFixed(1)} KB > 200 KB gzipped`);
  process.exit(1);
}
