/**
 * Samples CPU and memory of the processes in a load test once a second (Linux /proc), so the
 * report can say what limited a run: which process used the cores, or the machine as a whole.
 *
 *   node loadtest/lib/cpu.mjs --out FILE [--pids-dir DIR] name=PID name=@PIDFILE ...
 *
 * A process counts with its descendants (tsx runs its script in a child node). `--pids-dir` adds
 * every DIR/<name>.pid (the cluster's children), re-read each second. On SIGTERM/SIGINT it writes
 * FILE: {cores, intervalMs, machine: {busyAvgPct, busyMaxPct}, processes: {name: {cpuAvgPct,
 * cpuMaxPct, rssStartMB, rssMaxMB, rssEndMB}}, timeline: [{t, at, machineBusyPct, coreBusyPct: [pct per
 * core], cpu: {name: pct}}]}
 * where 100 % is one core and each point covers the second before `at` (ms since the epoch).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
let out = '';
let pidsDir = '';
const named = [];
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === '--out') out = args[++i];
  else if (args[i] === '--pids-dir') pidsDir = args[++i];
  else if (args[i].includes('=')) {
    const [name, value] = args[i].split('=');
    if (value) named.push({ name, value });
  }
}
if (!out) {
  console.error('usage: node loadtest/lib/cpu.mjs --out FILE [--pids-dir DIR] name=PID|name=@FILE ...');
  process.exit(2);
}

const TICK = Number(process.env.CLK_TCK || 100); // jiffies per second on Linux
const PAGE = 4096;
const INTERVAL = 1000;

const readPid = (value) => {
  try {
    const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
    const pid = Number(String(text).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
};

/** All processes: pid -> {ppid, jiffies, rss}. */
function snapshot() {
  const procs = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, rss 24.
      procs.set(Number(entry), {
        ppid: Number(rest[1]),
        jiffies: Number(rest[11]) + Number(rest[12]),
        rss: Number(rest[21]) * PAGE,
      });
    } catch {
      // gone
    }
  }
  return procs;
}

/** Idle and total jiffies of the machine and of each core (/proc/stat's `cpu` and `cpuN` lines). */
function machineJiffies() {
  const count = (line) => {
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    return { idle: v[3] + (v[4] || 0), total: v.reduce((a, b) => a + b, 0) };
  };
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const cores = lines.filter((line) => /^cpu\d+ /.test(line)).map(count);
  return { ...count(lines[0]), cores };
}

const busyPct = (now, before) => {
  const dt = now.total - before.total;
  return dt > 0 ? (100 * (dt - (now.idle - before.idle))) / dt : null;
};

function targets() {
  const list = named.map(({ name, value }) => ({ name, pid: readPid(value) })).filter((t) => t.pid);
  if (pidsDir) {
    try {
      for (const file of readdirSync(pidsDir)) {
        if (!file.endsWith('.pid') || file === 'cluster.pid') continue;
        const pid = readPid(`@${join(pidsDir, file)}`);
        if (pid) list.push({ name: file.slice(0, -4), pid });
      }
    } catch {
      // not there (yet)
    }
  }
  return list;
}

/** Sum of a process tree's jiffies and RSS. */
function treeUsage(procs, children, pid) {
  let jiffies = 0;
  let rss = 0;
  const stack = [pid];
  const seen = new Set();
  while (stack.length) {
    const p = stack.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    const info = procs.get(p);
    if (!info) continue;
    jiffies += info.jiffies;
    rss += info.rss;
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return { jiffies, rss, alive: procs.has(pid) };
}

const stats = {}; // name -> {sum, n, max, rssStart, rssMax, rssEnd}
const timeline = [];
let previous = null;
const started = Date.now();
let machineSum = 0;
let machineN = 0;
let machineMax = 0;

function sample() {
  const procs = snapshot();
  const children = new Map();
  for (const [pid, info] of procs) {
    if (!children.has(info.ppid)) children.set(info.ppid, []);
    children.get(info.ppid).push(pid);
  }
  const now = Date.now();
  const machine = machineJiffies();
  const usage = {};
  for (const { name, pid } of targets()) {
    const u = treeUsage(procs, children, pid);
    if (u.alive) usage[name] = { pid, ...u };
  }
  if (previous) {
    const seconds = (now - previous.at) / 1000;
    const point = { t: Math.round((now - started) / 1000), at: now, cpu: {} };
    const busy = busyPct(machine, previous.machine);
    if (busy !== null) {
      point.machineBusyPct = Math.round(busy);
      machineSum += busy;
      machineN += 1;
      machineMax = Math.max(machineMax, busy);
    }
    // Each core's own busy share: with LOADTEST_PIN the load side is core 0, the servers' core 1.
    point.coreBusyPct = machine.cores.map((core, i) => {
      const before = previous.machine.cores[i];
      return before ? Math.round(busyPct(core, before) ?? 0) : null;
    });
    for (const [name, u] of Object.entries(usage)) {
      const before = previous.usage[name];
      if (!before || before.pid !== u.pid) continue;
      const pct = (100 * (u.jiffies - before.jiffies)) / TICK / seconds;
      if (!stats[name]) stats[name] = { sum: 0, n: 0, max: 0, rssStart: u.rss, rssMax: 0, rssEnd: 0 };
      const s = stats[name];
      s.sum += pct;
      s.n += 1;
      s.max = Math.max(s.max, pct);
      s.rssMax = Math.max(s.rssMax, u.rss);
      s.rssEnd = u.rss;
      point.cpu[name] = Math.round(pct);
    }
    timeline.push(point);
  }
  previous = { at: now, machine, usage };
}

function write() {
  const mb = (b) => Math.round((b / 1048576) * 10) / 10;
  const processes = {};
  for (const [name, s] of Object.entries(stats)) {
    processes[name] = {
      cpuAvgPct: Math.round(s.sum / Math.max(1, s.n)),
      cpuMaxPct: Math.round(s.max),
      rssStartMB: mb(s.rssStart),
      rssMaxMB: mb(s.rssMax),
      rssEndMB: mb(s.rssEnd),
      samples: s.n,
    };
  }
  writeFileSync(
    out,
    JSON.stringify(
      {
        cores: cpus().length,
        intervalMs: INTERVAL,
        machine: {
          busyAvgPct: Math.round(machineSum / Math.max(1, machineN)),
          busyMaxPct: Math.round(machineMax),
        },
        processes,
        timeline,
      },
      null,
      1,
    ),
  );
}

sample();
const timer = setInterval(sample, INTERVAL);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    clearInterval(timer);
    write();
    process.exit(0);
  });
}
