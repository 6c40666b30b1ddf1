/**
 * Training and results plots (uPlot). A run's metrics.jsonl rows are grouped by namespace (`losses/…`, `eval/…`,
 * `perf/…`): one chart per namespace, x = the row's `step` (else its index). Results files are plotted generically:
 * every array of records with ≥ 2 numeric fields becomes a chart of those fields against the first one.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const PALETTE = ['#2f6fd0', '#d0452f', '#2f9d57', '#9a4fd0', '#d08a1f', '#1fa3a3', '#c43c8a', '#6b7a2a'];

export interface Series { name: string; ys: (number | null)[] }

export class Chart {
  private u: uPlot | null = null;
  private names = '';
  readonly el: HTMLDivElement;

  constructor(parent: HTMLElement, readonly title: string, private xLabel = 'step') {
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
    this.u = new uPlot({
      title: this.title, width, height: 230,
      scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
      axes: [{ label: this.xLabel, stroke: '#334' }, { stroke: '#334' }],
      series: [{ label: this.xLabel }, ...series.map((s, i) => ({ label: s.name, stroke: PALETTE[i % PALETTE.length], width: 1.6, spanGaps: true, points: { show: xs.length < 40 } }))],
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
export function findTables(data: unknown, path = ''): { title: string; xLabel: string; xs: number[]; series: Series[] }[] {
  const out: { title: string; xLabel: string; xs: number[]; series: Series[] }[] = [];
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
      if (v.length >= 2 && v.every((e) => typeof e === 'number')) {
        out.push({ title: p || 'results', xLabel: 'index', xs: v.map((_, i) => i), series: [{ name: p.split('.').pop() || 'value', ys: v as number[] }] });
        return;
      }
      v.forEach((e, i) => visit(e, `${p}[${i}]`, depth + 1));
      return;
    }
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) visit(e, p ? `${p}.${k}` : k, depth + 1);
  };
  visit(data, path, 0);
  return out;
}
