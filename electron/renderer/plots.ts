/**
 * Training and results plots (uPlot): the `Chart` widget. What to plot — metrics panels (one unit each), tables found
 * in results files — is decided in `tables.ts` (plain data, no DOM).
 *
 * Readability rules: SI tick labels (10k, 2.5M) with axis widths measured from the labels (never clipped); legends
 * show each series' latest value without hovering (the hovered one while hovering); intervals are whiskers on bars
 * and points, bands on lines.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { si, type Series } from './tables.ts';

export { findTables, groupRows, panelsOf, si, studyView, type Panel, type Series, type StudyView, type Table } from './tables.ts';

const PALETTE = ['#2f6fd0', '#d0452f', '#2f9d57', '#9a4fd0', '#d08a1f', '#1fa3a3', '#c43c8a', '#6b7a2a'];

export interface ChartOptions { yRange?: [number, number]; logY?: boolean }

function lastValue(ys: readonly (number | null | undefined)[]): number | null {
  for (let i = ys.length - 1; i >= 0; i--) if (ys[i] !== null && ys[i] !== undefined) return ys[i]!;
  return null;
}

function legendNum(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '--';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e4 || a < 1e-3) ? si(v) : String(Number(v.toPrecision(4)));
}

/** Axis width (px) that fits the widest tick label. */
function axisSize(u: uPlot, values: string[] | null, axisIdx: number): number {
  const longest = Math.max(3, ...(values ?? []).map((v) => String(v).length));
  const ax = u.axes[axisIdx]!;
  const label = ax.label ? 18 : 0;
  return Math.ceil(longest * 7 + 16 + label);
}

export class Chart {
  private u: uPlot | null = null;
  private names = '';
  readonly el: HTMLDivElement;

  constructor(parent: HTMLElement, readonly title: string, private xLabel = 'step', private xNames: string[] | null = null) {
    this.el = document.createElement('div');
    this.el.className = 'chart';
    this.el.dataset.title = title;
    parent.appendChild(this.el);
  }

  /** The y scale's current range (tests: a rate panel's axis covers [0, 1]). */
  get yRange(): [number, number] | null {
    const s = this.u?.scales.y;
    return s && s.min !== undefined && s.max !== undefined ? [s.min!, s.max!] : null;
  }

  /** The tick labels uPlot last drew on each axis (they are canvas text, not DOM). */
  get ticks(): string[][] {
    return (this.u?.axes ?? []).map((a) => ((a as unknown as { _values?: unknown[] })._values ?? []).map(String));
  }

  update(xs: number[], series: Series[], o: ChartOptions = {}): void {
    const names = series.map((s) => s.name).join('|') + JSON.stringify(o);
    const data = [xs, ...series.map((s) => s.ys)] as uPlot.AlignedData;
    if (this.u && names === this.names) { this.u.setData(data); this.u.setLegend({ idx: null as unknown as number }); return; }
    this.u?.destroy();
    this.names = names;
    this.el.dataset.series = String(series.filter((s) => !s.whisker && !s.band).length);
    const parentW = this.el.parentElement?.clientWidth ?? 640;
    // Many named bars (a study's arms): a full-row chart with slanted labels, so the names stay readable.
    const many = (this.xNames?.length ?? 0) > 6;
    if (many) this.el.classList.add('wide');
    const width = many ? Math.max(320, Math.min(1240, parentW - 32)) : Math.max(320, Math.min(620, (parentW - 48) / 2));
    const logY = !!o.logY;
    const xNames = this.xNames;
    const bars = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 60] }) : undefined;
    const hasBars = series.some((s) => s.bars);
    const yScale: uPlot.Scale = logY ? { distr: 3 }
      : o.yRange ? { range: (_u, lo, hi): [number, number] => [Math.min(o.yRange![0], lo), Math.max(o.yRange![1], hi)] }
        : hasBars ? { range: (_u, lo, hi): [number, number] => [Math.min(0, lo), hi > 0 ? hi * 1.08 : 1] } : {};
    // Interval ends: drawn by the hook below, not as series of their own.
    const whiskerPairs: [number, number, number][] = [];
    const bandPairs: [number, number, number][] = [];
    series.forEach((s, i) => {
      if (s.whisker === 'lo' && series[i + 1]?.whisker === 'hi') {
        let v = i - 1; while (v >= 0 && (series[v]!.whisker || series[v]!.band)) v--;
        if (v >= 0) whiskerPairs.push([v + 1, i + 1, i + 2]);
      }
      if (s.band === 'lo' && series[i + 1]?.band === 'hi') bandPairs.push([i, i + 1, i + 2]);
    });
    let colour = 0;
    const colourOf = series.map((s) => (s.whisker || s.band ? -1 : colour++));
    // An interval takes the colour of the value series it belongs to (the nearest one before it).
    const ownerColour = (i: number) => { let v = i; while (v >= 0 && colourOf[v]! < 0) v--; return PALETTE[Math.max(0, colourOf[v] ?? 0) % PALETTE.length]!; };
    const drawWhiskers = (u: uPlot) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.lineWidth = Math.max(1, devicePixelRatio);
      for (const [vi, loI, hiI] of whiskerPairs) {
        ctx.strokeStyle = '#1d2430';
        const lo = u.data[loI]!, hi = u.data[hiI]!;
        for (let k = 0; k < xs.length; k++) {
          const a = lo[k], b = hi[k];
          if (a === null || a === undefined || b === null || b === undefined) continue;
          const x = u.valToPos(xs[k]!, 'x', true), y0 = u.valToPos(a, 'y', true), y1 = u.valToPos(b, 'y', true);
          const cap = 6 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, y0); ctx.lineTo(x, y1);
          ctx.moveTo(x - cap, y0); ctx.lineTo(x + cap, y0);
          ctx.moveTo(x - cap, y1); ctx.lineTo(x + cap, y1);
          ctx.stroke();
        }
        void vi;
      }
      ctx.restore();
    };
    const opts: uPlot.Options = {
      title: this.title, width, height: many ? 330 : 230, ...(many ? { padding: [12, 56, 0, 0] as uPlot.Padding } : {}),
      scales: { x: xNames ? { time: false, range: [-0.5, xNames.length - 0.5] } : { time: false }, y: yScale },
      axes: [
        xNames
          ? { label: this.xLabel, stroke: '#334', splits: () => xNames.map((_, i) => i), values: (_u: uPlot, v: number[]) => v.map((i) => xNames[i] ?? ''), ...(many ? { rotate: -40, size: 100 } : {}) }
          : { label: this.xLabel, stroke: '#334', values: (_u: uPlot, v: number[]) => v.map(si) },
        { stroke: '#334', values: (_u: uPlot, v: number[]) => v.map(si), size: axisSize },
      ],
      series: [
        { label: this.xLabel || 'arm', value: xNames ? (_u: uPlot, v: number | null) => (v === null ? '(hover a bar)' : xNames[v] ?? '') : (_u: uPlot, v: number | null) => (v === null ? 'latest' : legendNum(v)) },
        ...series.map((s, i): uPlot.Series => {
          // Not hovering: a line's latest value; a bar chart has no "latest", so its legend waits for a hovered bar.
          const value = (_u: uPlot, v: number | null, _si: number, idx: number | null) => (idx === null && xNames ? '' : legendNum(idx === null ? lastValue(s.ys) : v));
          if (s.whisker || s.band) {
            const c = ownerColour(i);
            return { label: s.name, stroke: s.band ? `${c}66` : 'transparent', width: s.band ? 0.5 : 0, paths: s.whisker ? () => null : undefined, points: { show: false }, spanGaps: true, value };
          }
          const c = PALETTE[colourOf[i]! % PALETTE.length]!;
          return s.bars && bars
            ? { label: s.name, stroke: c, fill: `${c}55`, width: 1, paths: bars, points: { show: false }, value }
            : { label: s.name, stroke: c, width: 1.8, spanGaps: true, points: { show: xs.length < 40 || s.ys.filter((y) => y !== null).length < 40 }, value, ...(xNames ? { paths: () => null, points: { show: true, size: 8 } } : {}) };
        }),
      ],
      bands: bandPairs.map(([lo, hi]) => ({ series: [hi + 1, lo + 1] as [number, number], fill: `${ownerColour(lo)}2a` })),
      legend: { live: true },
      hooks: { draw: [drawWhiskers], ready: [(u) => u.setLegend({ idx: null as unknown as number })] },
    };
    this.u = new uPlot(opts, data, this.el);
    // Interval ends have no legend row of their own (the value's row is enough).
    const rows = this.el.querySelectorAll<HTMLElement>('.u-legend .u-series');
    series.forEach((s, i) => { if ((s.whisker || s.band) && rows[i + 1]) rows[i + 1]!.style.display = 'none'; });
  }

  destroy(): void { this.u?.destroy(); this.el.remove(); }
}
