/**
 * Training and results plots (uPlot): the `Chart` widget. What to plot — metrics rows grouped by namespace, tables
 * found in results files — is decided in `tables.ts` (plain data, no DOM).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from './tables.ts';

export { findTables, groupRows, studyView, type Series, type StudyView, type Table } from './tables.ts';

const PALETTE = ['#2f6fd0', '#d0452f', '#2f9d57', '#9a4fd0', '#d08a1f', '#1fa3a3', '#c43c8a', '#6b7a2a'];

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

  update(xs: number[], series: Series[]): void {
    const names = series.map((s) => s.name).join('|');
    const data = [xs, ...series.map((s) => s.ys)] as uPlot.AlignedData;
    if (this.u && names === this.names) { this.u.setData(data); return; }
    this.u?.destroy();
    this.names = names;
    const parentW = this.el.parentElement?.clientWidth ?? 640;
    // Many named bars (a study's arms): a full-row chart with slanted labels, so the names stay readable.
    const many = (this.xNames?.length ?? 0) > 6;
    if (many) this.el.classList.add('wide');
    const width = many ? Math.max(320, Math.min(1240, parentW - 32)) : Math.max(320, Math.min(620, (parentW - 48) / 2));
    // Losses span decades: log scale when every value is positive.
    const logY = this.title === 'losses' && series.every((s) => s.ys.every((y) => y === null || y > 0));
    const xNames = this.xNames;
    const bars = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 60] }) : undefined;
    this.u = new uPlot({
      title: this.title, width, height: many ? 330 : 230, ...(many ? { padding: [12, 56, 0, 0] as uPlot.Padding } : {}),
      scales: { x: xNames ? { time: false, range: [-0.5, xNames.length - 0.5] } : { time: false }, y: logY ? { distr: 3 } : series.some((s) => s.bars) ? { range: (_u: uPlot, lo: number, hi: number): [number, number] => [Math.min(0, lo), hi > 0 ? hi * 1.08 : 1] } : {} },
      axes: [
        xNames
          ? { label: this.xLabel, stroke: '#334', splits: () => xNames.map((_, i) => i), values: (_u: uPlot, v: number[]) => v.map((i) => xNames[i] ?? ''), ...(many ? { rotate: -40, size: 100 } : {}) }
          : { label: this.xLabel, stroke: '#334' },
        { stroke: '#334' },
      ],
      series: [
        { label: this.xLabel || 'arm', value: xNames ? (_u: uPlot, v: number | null) => (v === null ? '--' : xNames[v] ?? '') : undefined },
        ...series.map((s, i) => {
          const c = PALETTE[i % PALETTE.length]!;
          return s.bars && bars
            ? { label: s.name, stroke: c, fill: `${c}55`, width: 1, paths: bars, points: { show: false } }
            : { label: s.name, stroke: c, width: 1.6, spanGaps: true, points: { show: xs.length < 40 }, ...(xNames ? { paths: () => null, points: { show: true, size: 7 } } : {}) };
        }),
      ],
      legend: { live: true },
    }, data, this.el);
  }

  destroy(): void { this.u?.destroy(); this.el.remove(); }
}
