/**
 * The report's CPU per ramp level (loadtest/lib/cpu-window.mjs): what each process used while a
 * level was held, and what that says limited it.
 */
import { describe, expect, it } from 'vitest';
import { coresText, cpuBetween, limitOf } from '../lib/cpu-window.mjs';

const T0 = 1_800_000_000_000;
/** One sample a second from T0 + 1 s: machine busy % and each process's % of a core. */
const samples = (points: [number, Record<string, number>][]) => ({
  cores: 2,
  timeline: points.map(([machineBusyPct, cpu], i) => ({
    t: i + 1,
    at: T0 + (i + 1) * 1000,
    machineBusyPct,
    cpu,
  })),
});

describe('cpuBetween', () => {
  const cpu = samples([
    [40, { k6: 30, 'server-1': 20, 'server-2': 10 }], // before the hold
    [90, { k6: 80, 'server-1': 40, 'server-2': 30, 'worker-1': 10, redis: 8 }],
    [100, { k6: 100, 'server-1': 40, 'server-2': 50, 'worker-1': 10, 'worker-2': 10, redis: 10 }],
    [20, { k6: 10 }], // after it
  ]);

  it('averages only the samples inside the window, servers and workers summed', () => {
    const w = cpuBetween(cpu, T0 + 1000, T0 + 3000);
    expect(w?.samples).toBe(2);
    expect(w?.machineAvgPct).toBe(95);
    expect(w?.machineMaxPct).toBe(100);
    expect(w?.cores.k6).toBeCloseTo(0.9);
    expect(w?.cores.servers).toBeCloseTo(0.8); // (40 + 30 + 40 + 50) / 2 / 100
    expect(w?.cores.workers).toBeCloseTo(0.15); // worker-2 ran in one of the two samples
    expect(w?.busiest).toEqual({ name: 'k6', pct: 90 });
    expect(coresText(w)).toBe('k6 0.90, servers 0.80, workers 0.15, redis 0.09');
  });

  it('is null for a window without samples, or samples without a time', () => {
    expect(cpuBetween(cpu, T0 + 10_000, T0 + 20_000)).toBeNull();
    expect(
      cpuBetween({ timeline: [{ t: 1, machineBusyPct: 50, cpu: { k6: 50 } }] }, 0, Number.MAX_SAFE_INTEGER),
    ).toBeNull();
    expect(cpuBetween(null, 0, 1)).toBeNull();
    expect(coresText(null)).toBe('-');
    expect(limitOf(null, 2)).toBe('-');
  });
});

describe('limitOf', () => {
  const one = (machine: number, cpu: Record<string, number>) =>
    cpuBetween(samples([[machine, cpu]]), T0, T0 + 1000);

  it('names the cores when they were busy on average, or pinned at moments', () => {
    expect(limitOf(one(92, { k6: 80, 'server-1': 60 }), 2)).toBe('the 2 cores (92 % busy on average)');
    const spiky = cpuBetween(
      samples([
        [60, { k6: 50 }],
        [99, { k6: 80 }],
      ]),
      T0,
      T0 + 2000,
    );
    expect(limitOf(spiky, 2)).toBe('the 2 cores at moments (99 % at most)');
  });

  it('names a core busy on average while the machine is not (a pinned side at its limit)', () => {
    const pinned = (cores: number[][]) => ({
      cores: 2,
      timeline: cores.map((coreBusyPct, i) => ({
        t: i + 1,
        at: T0 + (i + 1) * 1000,
        machineBusyPct: (coreBusyPct[0]! + coreBusyPct[1]!) / 2,
        coreBusyPct,
        cpu: { k6: coreBusyPct[0]! - 10, 'server-1': coreBusyPct[1]! - 10 },
      })),
    });
    const w = cpuBetween(
      pinned([
        [92, 60],
        [96, 70],
      ]),
      T0,
      T0 + 2000,
    );
    expect(w?.coreAvgPct).toEqual([94, 65]);
    expect(limitOf(w, 2)).toBe('core 0 (94 % busy on average)');
    // Both busy: the machine's cores say it, not each core again.
    expect(limitOf(cpuBetween(pinned([[95, 90]]), T0, T0 + 1000), 2)).toBe(
      'the 2 cores (93 % busy on average)',
    );
  });

  it('names a single process near a full core, and says when nothing was saturated', () => {
    expect(limitOf(one(70, { redis: 95, k6: 40 }), 2)).toBe('redis near a full core (95 %)');
    expect(limitOf(one(95, { k6: 120 }), 2)).toBe(
      'the 2 cores (95 % busy on average); k6 near a full core (120 %)',
    );
    expect(limitOf(one(50, { k6: 40, 'server-1': 30 }), 2)).toBe('nothing saturated');
  });
});
