/** Chart.js with only what the statistics panel draws; loaded on demand (not in the initial bundle). */
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
} from 'chart.js';

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
);

import type { Series } from './statistics.ts';

export type { Series } from './statistics.ts';

export type ChartKind = 'doughnut' | 'bar' | 'hbar';

/** The series' colours (CSS custom properties) as the current theme has them. */
function resolve(colors: string[]): string[] {
  const style = getComputedStyle(document.documentElement);
  return colors.map((name) => (name.startsWith('--') ? style.getPropertyValue(name).trim() || '#888' : name));
}

export function drawChart(canvas: HTMLCanvasElement, kind: ChartKind, series: Series): Chart {
  const style = getComputedStyle(document.documentElement);
  const text = style.getPropertyValue('--text-2').trim() || '#666';
  const grid = style.getPropertyValue('--border').trim() || '#ddd';
  const dataset = {
    data: series.values,
    backgroundColor: resolve(series.colors),
    borderWidth: kind === 'doughnut' ? 2 : 0,
    borderColor: style.getPropertyValue('--surface').trim() || '#fff',
    borderRadius: kind === 'doughnut' ? 0 : 4,
  };
  const config: ChartConfiguration = {
    type: kind === 'doughnut' ? 'doughnut' : 'bar',
    data: { labels: series.labels, datasets: [dataset] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: { duration: 250 },
      indexAxis: kind === 'hbar' ? 'y' : 'x',
      plugins: {
        legend: { display: kind === 'doughnut', position: 'right', labels: { color: text, boxWidth: 12 } },
        tooltip: {
          enabled: true,
          backgroundColor: style.getPropertyValue('--surface-3').trim() || '#222',
          titleColor: style.getPropertyValue('--text').trim() || '#fff',
          bodyColor: style.getPropertyValue('--text').trim() || '#fff',
        },
      },
      ...(kind === 'doughnut'
        ? {}
        : {
            scales: {
              x: { beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid } },
              y: { beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid } },
            },
          }),
    },
  };
  return new Chart(canvas, config);
}

export function updateChart(chart: Chart, series: Series): void {
  chart.data.labels = series.labels;
  const dataset = chart.data.datasets[0];
  if (dataset) {
    dataset.data = series.values;
    dataset.backgroundColor = resolve(series.colors);
  }
  chart.update();
}
