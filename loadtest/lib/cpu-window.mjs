/**
 * CPU over a window of a load test's samples (the timeline loadtest/lib/cpu.mjs writes), so the
 * report can say, for each ramp level, what every process used while the level was held and
 * what limited it.
 */

/** Processes of one kind counted together: server-1..n, worker-1..n. */
const GROUPS = [
  ['servers', /^server-\d+$/],
  ['workers', /^worker-\d+$/],
];
const groupOf = (name) => GROUPS.find(([, re]) => re.test(name))?.[0] ?? name;

/**
 * Averages of the samples taken in (fromMs, toMs]: {samples, machineAvgPct, machineMaxPct,
 * coreAvgPct: [per core], cores: {name: cores used on average}, busiest: {name, pct} (the single process with the highest
 * average)}, with servers and workers also summed as `servers` and `workers`; null when no sample
 * falls in the window (or the samples carry no time).
 */
export function cpuBetween(cpu, fromMs, toMs) {
  const points = (cpu?.timeline ?? []).filter(
    (p) => typeof p.at === 'number' && p.at > fromMs && p.at <= toMs,
  );
  if (!points.length) return null;
  let machineSum = 0;
  let machineN = 0;
  let machineMax = 0;
  const single = {};
  const coreSums = [];
  for (const point of points) {
    (point.coreBusyPct ?? []).forEach((pct, i) => {
      if (typeof pct === 'number') coreSums[i] = (coreSums[i] ?? 0) + pct;
    });
    if (typeof point.machineBusyPct === 'number') {
      machineSum += point.machineBusyPct;
      machineN += 1;
      machineMax = Math.max(machineMax, point.machineBusyPct);
    }
    for (const [name, pct] of Object.entries(point.cpu ?? {})) single[name] = (single[name] ?? 0) + pct;
  }
  const cores = {};
  let busiest = null;
  for (const [name, sum] of Object.entries(single)) {
    const pct = sum / points.length;
    if (!busiest || pct > busiest.pct) busiest = { name, pct };
    const group = groupOf(name);
    cores[group] = (cores[group] ?? 0) + pct / 100;
  }
  return {
    samples: points.length,
    machineAvgPct: machineN ? machineSum / machineN : null,
    machineMaxPct: machineN ? machineMax : null,
    // Each core's average busy share (empty for samples from before cores were sampled).
    coreAvgPct: coreSums.map((sum) => sum / points.length),
    cores,
    busiest,
  };
}

/**
 * What limited a window, in words: the machine's cores when they were nearly all busy on average
 * (>= 85 %) or pinned at some point (>= 98 %), one core busy on average (>= 85 %: with the
 * load generator and the servers pinned to a core each, that side's limit), a single process near
 * a full core (>= 90 %; Node and Redis use one), else nothing.
 */
export function limitOf(window, coreCount) {
  if (!window) return '-';
  const parts = [];
  if (window.machineAvgPct !== null && window.machineAvgPct >= 85) {
    parts.push(`the ${coreCount} cores (${Math.round(window.machineAvgPct)} % busy on average)`);
  } else if (window.machineMaxPct !== null && window.machineMaxPct >= 98) {
    parts.push(`the ${coreCount} cores at moments (${Math.round(window.machineMaxPct)} % at most)`);
  }
  // One core nearly always busy while the machine is not: a pinned side at its limit.
  (window.coreAvgPct ?? []).forEach((pct, i) => {
    if (pct >= 85 && !(window.machineAvgPct >= 85))
      parts.push(`core ${i} (${Math.round(pct)} % busy on average)`);
  });
  if (window.busiest && window.busiest.pct >= 90) {
    parts.push(`${window.busiest.name} near a full core (${Math.round(window.busiest.pct)} %)`);
  }
  return parts.length ? parts.join('; ') : 'nothing saturated';
}

/** "k6 0.81, servers 0.62, haproxy 0.14": cores per process or group, busiest first. */
export function coresText(window, limit = 6) {
  if (!window) return '-';
  return Object.entries(window.cores)
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, cores]) => `${name} ${cores.toFixed(2)}`)
    .join(', ');
}
