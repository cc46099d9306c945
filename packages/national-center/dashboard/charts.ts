// uPlot charts that follow their panel's size and take new data in place (no redraw of the page):
// a chart is made again only when its set of series changes (a region or scope appears).
import uPlot from "uplot";

export interface SeriesData {
  label: string;
  color: string;
  values: Array<number | null>;
}

const AXIS = {
  stroke: "#9aa7b8",
  grid: { stroke: "rgba(154,167,184,0.12)", width: 1 },
  ticks: { stroke: "rgba(154,167,184,0.25)", width: 1 },
  font: "11px system-ui, sans-serif",
};

/** Colors of series, distinguishable on the dark background. */
export const PALETTE = [
  "#4cc9f0",
  "#f72585",
  "#b5e48c",
  "#ffb703",
  "#9d4edd",
  "#fb8500",
  "#2ec4b6",
  "#e76f51",
];

interface ChartOptions {
  /** How a y value reads ("12/min", "35 ms"). */
  format: (v: number) => string;
  logScale?: boolean;
  height?: number;
  /** Draw each value as a dot too (sparse series: a minute alone is no line). */
  points?: boolean;
}

/** A time-series line chart (x: Unix seconds). */
export class Chart {
  readonly #el: HTMLElement;
  readonly #opts: ChartOptions;
  #plot: uPlot | undefined;
  #signature = "";
  readonly #resize: ResizeObserver;

  constructor(el: HTMLElement, opts: ChartOptions) {
    this.#el = el;
    this.#opts = opts;
    this.#resize = new ResizeObserver(() => this.#fit());
    this.#resize.observe(el);
  }

  #size(): { width: number; height: number } {
    return { width: Math.max(200, this.#el.clientWidth), height: this.#opts.height ?? 200 };
  }

  #fit(): void {
    if (!this.#plot) return;
    const { width, height } = this.#size();
    if (Math.abs(this.#plot.width - width) > 1 || Math.abs(this.#plot.height - height) > 1)
      this.#plot.setSize({ width, height });
  }

  update(xs: number[], series: SeriesData[]): void {
    const data = [xs, ...series.map((s) => s.values)] as uPlot.AlignedData;
    const signature = series.map((s) => `${s.label}|${s.color}`).join(";");
    if (this.#plot && signature === this.#signature) {
      this.#plot.setData(data);
      return;
    }
    this.#plot?.destroy();
    this.#signature = signature;
    this.#el.replaceChildren();
    const { format } = this.#opts;
    this.#plot = new uPlot(
      {
        ...this.#size(),
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false }, points: { size: 6 } },
        scales: {
          x: { time: true },
          y: this.#opts.logScale
            ? { distr: 3, log: 10 }
            : { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.15))] },
        },
        axes: [
          AXIS,
          {
            ...AXIS,
            size: 60,
            values: (_u: uPlot, vals: number[]) => vals.map((v) => (v == null ? "" : format(v))),
          },
        ],
        series: [
          {},
          ...series.map(
            (s): uPlot.Series => ({
              label: s.label,
              stroke: s.color,
              width: 2,
              fill: `${s.color}1a`,
              spanGaps: false,
              points: { show: this.#opts.points === true, size: 5, fill: s.color },
              value: (_u, v) => (v == null ? "–" : format(v)),
            }),
          ),
        ],
      },
      data,
      this.#el,
    );
  }

  destroy(): void {
    this.#resize.disconnect();
    this.#plot?.destroy();
  }
}
