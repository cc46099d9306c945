// A horizontal bar chart in plain SVG: one row per category, one bar per series (e.g. median and
// 90th percentile). No chart library: the reports draw a few dozen bars from figures the page
// already has; uPlot (the dashboard's) draws time series, not categories, and a general chart
// library would double the bundle for this. The SVG scales with the page, prints, follows the
// stylesheet's colours, and is described for screen readers; the table beside it has the figures.
import { useId } from "preact/hooks";

export interface BarSeries {
  name: string;
  /** A CSS class giving the bars their colour (style.css: .bar-0, .bar-1 …). */
  className: string;
}

export interface BarRow {
  label: string;
  /** One value per series, in the chart's unit. */
  values: number[];
}

const ROW = 22;
const BAR_GAP = 2;
const LABEL_WIDTH = 220;
const WIDTH = 720;
const VALUE_WIDTH = 110;

export function BarChart(p: {
  title: string;
  series: BarSeries[];
  rows: BarRow[];
  format: (v: number) => string;
  testid?: string;
}) {
  const id = useId();
  const max = Math.max(1, ...p.rows.flatMap((r) => r.values));
  const plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const bar = (ROW - BAR_GAP * (p.series.length + 1)) / p.series.length;
  const height = p.rows.length * ROW + ROW;
  return (
    <figure class="chart" data-testid={p.testid}>
      <figcaption id={`${id}-t`}>{p.title}</figcaption>
      <ul class="legend" aria-hidden="true">
        {p.series.map((s) => (
          <li key={s.name}>
            <span class={`swatch ${s.className}`} /> {s.name}
          </li>
        ))}
      </ul>
      <svg
        viewBox={`0 0 ${WIDTH} ${height}`}
        role="img"
        aria-labelledby={`${id}-t`}
        preserveAspectRatio="xMinYMin meet"
      >
        <title>{p.title}</title>
        {p.rows.map((r, i) => (
          <g key={r.label} transform={`translate(0 ${i * ROW})`}>
            <text x={LABEL_WIDTH - 8} y={ROW / 2} text-anchor="end" dominant-baseline="middle">
              {r.label}
            </text>
            {r.values.map((v, j) => (
              <g key={p.series[j]?.name ?? j}>
                <rect
                  class={p.series[j]?.className}
                  x={LABEL_WIDTH}
                  y={BAR_GAP + j * (bar + BAR_GAP)}
                  width={Math.max(1, (v / max) * plot)}
                  height={bar}
                >
                  <title>{`${r.label} · ${p.series[j]?.name}: ${p.format(v)}`}</title>
                </rect>
                <text
                  class="bar-value"
                  x={LABEL_WIDTH + Math.max(1, (v / max) * plot) + 4}
                  y={BAR_GAP + j * (bar + BAR_GAP) + bar / 2}
                  dominant-baseline="middle"
                >
                  {p.format(v)}
                </text>
              </g>
            ))}
          </g>
        ))}
        <line x1={LABEL_WIDTH} x2={LABEL_WIDTH} y1={0} y2={p.rows.length * ROW} class="axis" />
      </svg>
    </figure>
  );
}
