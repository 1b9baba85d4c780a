/**
 * The functions that used the most CPU themselves (self time) in V8 CPU profiles (`node
 * --cpu-prof`, as `BENCH_CPU_PROF=DIR npm run bench:cpu` writes them), summed over the files given,
 * as a plain text table: share of the samples, milliseconds, function, where.
 *
 *   npx tsx server/bench/profile-top.ts DIR/*.cpuprofile [--top 30] [--by package] [--window FILE]
 *
 * `--window FILE` ({from, to} in microseconds of the monotonic clock, as bench:cpu writes for its
 * measured window) keeps only the samples taken within it.
 *
 * `--by package` sums by where the code lives instead (a package under node_modules, node's own
 * internals, Prism's bundle, or V8's (garbage collector), (program), (idle)).
 *
 * `--inclusive` counts each sample for every function on its stack (once per function, however
 * deep it recurses): the time spent in a function and everything it called, to see which of
 * Prism's paths the flat self times add up to.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const files = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const top = Number(args[args.indexOf('--top') + 1] ?? 30) || 30;
const byPackage = args.includes('--by') && args[args.indexOf('--by') + 1] === 'package';
const inclusive = args.includes('--inclusive');
const windowFile = args.includes('--window') ? args[args.indexOf('--window') + 1] : undefined;
const window = windowFile
  ? (JSON.parse(readFileSync(windowFile, 'utf8')) as { from: number; to: number })
  : { from: 0, to: Number.POSITIVE_INFINITY };

function where(url: string): string {
  if (!url) return '';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node';
  if (url.includes('/server/dist/')) return 'prism';
  return url.replace(/^file:\/\//, '');
}

function keyOf(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  const place = where(frame.url);
  return byPackage
    ? place.split(':')[0] || name
    : `${name}\t${place}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}

const selfUs = new Map<string, number>();
let totalUs = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // The keys a sample is counted under: its own function, or (inclusive) every one on its stack.
  const stackKeys = new Map<number, string[]>();
  const keysOf = (id: number): string[] => {
    let keys = stackKeys.get(id);
    if (keys) return keys;
    const node = byId.get(id);
    if (!node) return [];
    if (!inclusive) keys = [keyOf(node.callFrame)];
    else {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = byId.get(at)?.callFrame;
        if (frame) seen.add(keyOf(frame));
      }
      keys = [...seen];
    }
    stackKeys.set(id, keys);
    return keys;
  };
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (at < window.from || at > window.to) return;
    const keys = keysOf(id);
    if (keys.length === 0) return;
    for (const key of keys) selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    totalUs += dt;
  });
}

const busyUs = totalUs - (selfUs.get('(idle)\t') ?? selfUs.get('(idle)') ?? 0);
console.log(
  `${files.length} profile(s), ${(totalUs / 1e6).toFixed(1)} s sampled, ${(busyUs / 1e6).toFixed(1)} s not idle`,
);
console.log(`${'% busy'.padStart(7)}  ${'ms'.padStart(8)}  function  where`);
// (root) holds every sample when inclusive: nothing to learn from it.
const rows = [...selfUs].filter(([key]) => !key.startsWith('(root)'));
for (const [key, us] of rows.sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const [name, place] = key.split('\t');
  const share = key.startsWith('(idle)') ? '-' : ((100 * us) / busyUs).toFixed(1);
  console.log(`${share.padStart(7)}  ${(us / 1000).toFixed(0).padStart(8)}  ${name}  ${place ?? ''}`);
}
