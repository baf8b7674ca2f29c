// The report's chart: alarms per hour or day, stacked by outcome, drawn by Chart.js (its minified
// build sets globalThis.Chart; the canvas names what it shows for screen readers).
import '/assets/vendor/chart.umd.min.js';
import { html, useEffect, useRef } from '../lib/html.js';

const SERIES = [
  ['real', 'Real alarm', '#c62828'],
  ['false', 'False alarm', '#f9a825'],
  ['other', 'Other', '#1565c0'],
];

export function ReportChart({ report }) {
  const canvas = useRef(null);
  const hourly = report.period === 'day';
  const label = hourly ? 'Alarms per hour' : 'Alarms per day';
  useEffect(() => {
    const labels = report.buckets.map((b) =>
      hourly
        ? new Date(b.start).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
        : new Date(b.start).toLocaleDateString([], { day: 'numeric', month: 'short' }),
    );
    const values = {
      real: report.buckets.map((b) => b.real),
      false: report.buckets.map((b) => b.false),
      other: report.buckets.map((b) => b.alarms - b.real - b.false),
    };
    const chart = new globalThis.Chart(canvas.current, {
      type: 'bar',
      data: {
        labels,
        datasets: SERIES.map(([key, name, color]) => ({
          label: name,
          data: values[key],
          backgroundColor: color,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { stacked: true, title: { display: true, text: hourly ? 'hour' : 'day' } },
          y: {
            stacked: true,
            beginAtZero: true,
            ticks: { precision: 0 },
            title: { display: true, text: 'alarms' },
          },
        },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    return () => chart.destroy();
  }, [report]);
  return html`<div class="chart"><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>`;
}
