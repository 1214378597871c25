// The knee plot: settled orders/s and p99 place → terminal against offered load, drawn from a
// result's sweep with Chart.js on @napi-rs/canvas (prebuilt, no native build), as a PNG.
import { createCanvas, type Canvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartDataset, type Plugin } from 'chart.js';
import type { OrdersFigures } from './orders-run.js';
import type { BenchResult, Database } from './report.js';

Chart.register(...registerables);

const COLOR: Record<Database, string> = { sqlite: '#1f77b4', postgres: '#ff7f0e' };
const NAME: Record<Database, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

// Chart.js leaves the canvas transparent; a PNG viewer's dark background would hide the axes.
// Drawn through the canvas's own context: Chart.js types its context with the DOM's, not loaded here.
function whiteBackground(canvas: Canvas): Plugin<'line'> {
  return {
    id: 'white-background',
    beforeDraw: () => {
      const ctx = canvas.getContext('2d');
      ctx.save();
      ctx.fillStyle = 'white';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.restore();
    },
  };
}

/** Whether the result has a sweep to plot. */
export function hasSweep(result: Pick<BenchResult, 'databases'>): boolean {
  return Object.values(result.databases).some((d) => (d?.sweep?.length ?? 0) > 0);
}

/**
 * A PNG of each database's sweep: settled orders/s during the load and accepted orders/s on the
 * left axis, p99 place → terminal on the right, against the connections wrk kept open.
 */
export function renderKnee(result: Pick<BenchResult, 'databases' | 'machine' | 'startedAt'>): Buffer {
  if (!hasSweep(result)) throw new Error('the result has no sweep (run the bench with --sweep)');
  const datasets: ChartDataset<'line', { x: number; y: number }[]>[] = [];
  for (const db of ['sqlite', 'postgres'] as const) {
    const sweep = result.databases[db]?.sweep;
    if (!sweep?.length) continue;
    const points = (f: (s: OrdersFigures) => number) =>
      sweep.map((s) => ({ x: s.connections, y: f(s) })).sort((a, b) => a.x - b.x);
    const color = COLOR[db];
    datasets.push(
      {
        label: `${NAME[db]} settled orders/s during the load`,
        data: points((s) => s.settledDuringLoadRps),
        borderColor: color,
        backgroundColor: color,
        borderWidth: 3,
        yAxisID: 'rate',
      },
      {
        label: `${NAME[db]} accepted orders/s`,
        data: points((s) => s.acceptedRps),
        borderColor: color,
        backgroundColor: color,
        borderWidth: 1.5,
        borderDash: [6, 4],
        pointStyle: 'rect',
        yAxisID: 'rate',
      },
      {
        label: `${NAME[db]} p99 place → terminal (ms)`,
        data: points((s) => s.placeToTerminalMs.p99),
        borderColor: color,
        backgroundColor: 'white',
        borderWidth: 1.5,
        borderDash: [2, 3],
        pointStyle: 'triangle',
        pointRadius: 5,
        yAxisID: 'latency',
      },
    );
  }
  const width = 1000;
  const height = 560;
  const canvas = createCanvas(width, height);
  const m = result.machine;
  // @napi-rs/canvas implements the 2D context Chart.js draws on.
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      plugins: {
        title: {
          display: true,
          text: [
            'Settled orders/s and p99 place → terminal against offered load',
            `${m.cpus} × ${m.model}, Node ${m.node}, ${result.startedAt.slice(0, 10)}; whole system and wrk on the same machine`,
          ],
        },
        legend: { position: 'bottom', labels: { usePointStyle: true } },
      },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'offered load: wrk connections (closed loop)' } },
        rate: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'orders/s' } },
        // Logarithmic: a database far past its knee would otherwise flatten the other's curve.
        latency: {
          type: 'logarithmic',
          position: 'right',
          title: { display: true, text: 'p99 place → terminal, ms (log scale)' },
          grid: { drawOnChartArea: false },
        },
      },
    },
    plugins: [whiteBackground(canvas)],
  });
  try {
    return canvas.toBuffer('image/png');
  } finally {
    chart.destroy();
  }
}
