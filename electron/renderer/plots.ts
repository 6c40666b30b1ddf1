/**
 * Training and results plots (uPlot). A run's metrics.jsonl rows are grouped by namespace (`losses/…`, `eval/…`,
 * `perf/…`): one chart per namespace, x = the row's `step` (else its index). Results files are plotted generically:
 * every array of records with ≥ 2 numeric fields becomes a chart of those fields against the first one.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const PALETTE = ['#2f6fd0', '#d0452f', '#2f9d57', '#9a4fd0', '#d08a1f', '#1fa3a3', '#c43c8a', '#6b7a2a'];

export interface Series { name: string; ys: (number | null)[]; bars?: boolean }

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
    const width = Math.max(320, Math.min(620, ((this.el.parentElement?.clientWidth ?? 640) - 48) / 2));
    // Losses span decades: log scale when every value is positive.
    const logY = this.title === 'losses' && series.every((s) => s.ys.every((y) => y === null || y > 0));
    const xNames = this.xNames;
    const bars = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 60] }) : undefined;
    this.u = new uPlot({
      title: this.title, width, height: 230,
      scales: { x: xNames ? { time: false, range: [-0.5, xNames.length - 0.5] } : { time: false }, y: logY ? { distr: 3 } : series.some((s) => s.bars) ? { range: (_u: uPlot, lo: number, hi: number): [number, number] => [Math.min(0, lo), hi > 0 ? hi * 1.08 : 1] } : {} },
      axes: [
        xNames
          ? { label: this.xLabel, stroke: '#334', splits: () => xNames.map((_, i) => i), values: (_u: uPlot, v: number[]) => v.map((i) => xNames[i] ?? '') }
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

/** Group metrics rows by namespace; numeric fields only. */
export function groupRows(rows: Record<string, unknown>[]): { xs: number[]; xLabel: string; groups: Map<string, Series[]> } {
  const hasStep = rows.some((r) => typeof r.step === 'number');
  const xs = rows.map((r, i) => (hasStep && typeof r.step === 'number' ? r.step : i));
  const keys = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && k !== 'step') keys.add(k);
  const groups = new Map<string, Series[]>();
  const rank = (k: string) => (k.startsWith('losses/') ? 0 : k.startsWith('eval/') ? 1 : 2);
  for (const k of [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))) {
    const ns = k.includes('/') ? k.slice(0, k.indexOf('/')) : 'other';
    let list = groups.get(ns);
    if (!list) groups.set(ns, (list = []));
    list.push({ name: k, ys: rows.map((r) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : null)) });
  }
  return { xs, xLabel: hasStep ? 'step' : 'row', groups };
}

/** Find plottable tables in an arbitrary results JSON. */
export interface Table { title: string; xLabel: string; xs: number[]; series: Series[]; xNames?: string[] }

const VALUE_KEYS = ['successRate', 'success_rate', 'rate', 'success', 'returnMean', 'mean', 'value'];

export function findTables(data: unknown, path = ''): Table[] {
  const out: Table[] = [];
  const visit = (v: unknown, p: string, depth: number) => {
    if (depth > 6 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      const recs = v.filter((e) => e && typeof e === 'object' && !Array.isArray(e)) as Record<string, unknown>[];
      if (recs.length >= 2 && recs.length === v.length) {
        const numKeys = Object.keys(recs[0]!).filter((k) => recs.every((r) => typeof r[k] === 'number'));
        if (numKeys.length >= 2) {
          const [xk, ...yks] = numKeys;
          const sorted = [...recs].sort((a, b) => (a[xk!] as number) - (b[xk!] as number));
          out.push({ title: p || 'results', xLabel: xk!, xs: sorted.map((r) => r[xk!] as number), series: yks.map((k) => ({ name: k, ys: sorted.map((r) => r[k] as number) })) });
          return;
        }
      }
      if (v.length >= 4 && v.every((e) => typeof e === 'number')) {
        out.push({ title: p || 'results', xLabel: 'index', xs: v.map((_, i) => i), series: [{ name: p.split('.').pop() || 'value', ys: v as number[] }] });
        return;
      }
      v.forEach((e, i) => visit(e, `${p}[${i}]`, depth + 1));
      return;
    }
    // { armA: { rate, ci95 }, armB: { rate, ci95 }, … } → one bar per arm (with its 95% interval when present).
    const entries = Object.entries(v as Record<string, unknown>).filter(([, e]) => e && typeof e === 'object' && !Array.isArray(e)) as [string, Record<string, unknown>][];
    if (entries.length >= 2) {
      const key = VALUE_KEYS.find((k) => entries.every(([, e]) => typeof e[k] === 'number'));
      if (key) {
        const series: Series[] = [{ name: key, ys: entries.map(([, e]) => e[key] as number), bars: true }];
        const ci = entries.every(([, e]) => Array.isArray(e.ci95) && (e.ci95 as unknown[]).length === 2);
        if (ci) series.push({ name: 'ci95 low', ys: entries.map(([, e]) => (e.ci95 as number[])[0]!) }, { name: 'ci95 high', ys: entries.map(([, e]) => (e.ci95 as number[])[1]!) });
        out.push({ title: p || 'results', xLabel: '', xs: entries.map((_, i) => i), series, xNames: entries.map(([k]) => k) });
        return;
      }
    }
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) visit(e, p ? `${p}.${k}` : k, depth + 1);
  };
  visit(data, path, 0);
  return out;
}
