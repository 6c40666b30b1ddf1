/**
 * What the viewer plots, as plain data (no DOM, unit-tested): a run's metrics.jsonl rows grouped by namespace
 * (`losses/…`, `eval/…`, `perf/…`: one chart per namespace, x = the row's `step`, else its index), and the tables of an
 * arbitrary results JSON:
 * - every array of records with ≥ 2 numeric fields → a chart of those fields against the first one;
 * - `{ armA: { rate, ci95 }, armB: … }` → one bar per arm, with its 95% interval;
 * - `{ armA: { metricX: { rate, ci95 }, … }, … }` with ≥ 3 arms (a study's arms) → one such bar chart per metric
 *   that every arm has (`arms · goalSuccess`, …); nothing below an arm is charted on its own.
 */

/**
 * One plotted series. `whisker` marks the low/high ends of an interval drawn as whiskers on the previous value series
 * (not as points of its own); `band` the same drawn as a shaded band (line charts).
 */
export interface Series { name: string; ys: (number | null)[]; bars?: boolean; whisker?: 'lo' | 'hi'; band?: 'lo' | 'hi' }

/** SI tick label: 12 500 → '12.5k', 0.0004 → '400µ', 3 → '3'. */
export function si(v: number): string {
  if (!Number.isFinite(v)) return '';
  if (v === 0) return '0';
  const a = Math.abs(v);
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [f, u] of units) if (a >= f) return `${trim(v / f)}${u}`;
  if (a >= 0.01) return trim(v);
  if (a >= 1e-3) return `${trim(v * 1e3)}m`;
  if (a >= 1e-6) return `${trim(v * 1e6)}µ`;
  return v.toExponential(1);
}

function trim(x: number): string {
  return String(Number(x.toPrecision(3)));
}

/**
 * The unit of a metrics key, so no panel mixes scales: 'rate' (a 0–1 fraction: success, accuracy), 'count'
 * (workers, episodes), 'per_sec' (throughput), 'steps' (lengths), else '' (the namespace's own axis).
 */
export function unitOf(key: string, ys: readonly (number | null)[]): 'rate' | 'count' | 'per_sec' | 'steps' | '' {
  const leaf = key.slice(key.lastIndexOf('/') + 1);
  const in01 = ys.every((y) => y === null || (y >= 0 && y <= 1));
  if (/(success|rate|accuracy|frac|fraction|ratio)$|success_rate/.test(leaf) && !/per_sec/.test(leaf) && in01) return 'rate';
  if (/per_sec|per_s$|_sps$|fps$/.test(leaf)) return 'per_sec';
  if (/(workers|episodes|envs|count|batch_size)$|^num_/.test(leaf)) return 'count';
  if (/(length|length_mean|steps)$/.test(leaf)) return 'steps';
  return '';
}

const UNIT_TITLE: Record<string, string> = { rate: 'rate (0–1)', count: 'count', per_sec: 'per second', steps: 'steps' };

/** A Training-page chart: series of one unit from one namespace (one run or several compared). */
export interface Panel { id: string; title: string; series: Series[]; yRange?: [number, number]; logY?: boolean }

/**
 * The Training page's charts for one or more runs: per namespace, one panel per unit (a rate never shares a count's
 * axis); rates get a fixed [0, 1] axis and their `<key>_ci95_low/_high` as a band; a series identical to an earlier
 * one of the same panel is drawn once (named 'a = b'). With several runs every series is prefixed by its run and
 * all runs share the union of their x values (gaps where a run has no row).
 */
export function panelsOf(runs: { name: string; rows: Record<string, unknown>[] }[]): { xs: number[]; xLabel: string; panels: Panel[] } {
  const per = runs.map((r) => ({ name: r.name, g: groupRows(r.rows) }));
  const xsAll = [...new Set(per.flatMap((p) => p.g.xs))].sort((a, b) => a - b);
  const xLabel = per.every((p) => p.g.xLabel === 'step' || p.g.xs.length === 0) ? 'step' : 'row';
  const index = new Map(xsAll.map((x, i) => [x, i]));
  const panels = new Map<string, Panel>();
  const many = runs.length > 1;
  for (const { name, g } of per) {
    const align = (ys: (number | null)[]) => {
      const out: (number | null)[] = new Array(xsAll.length).fill(null);
      // Rows of one run may repeat a step (eval rows logged separately): the last non-null value wins.
      g.xs.forEach((x, i) => { if (ys[i] !== null && ys[i] !== undefined) out[index.get(x)!] = ys[i]!; });
      return out;
    };
    for (const [ns, list] of g.groups) {
      const byKey = new Map(list.map((s) => [s.name, s]));
      for (const s of list) {
        if (/_ci95_(low|high)$/.test(s.name)) continue;
        const unit = ns === 'losses' ? '' : unitOf(s.name, s.ys);
        const id = unit ? `${ns} · ${UNIT_TITLE[unit]}` : ns;
        let p = panels.get(id);
        if (!p) panels.set(id, (p = { id, title: id, series: [], ...(unit === 'rate' ? { yRange: [0, 1] as [number, number] } : {}) }));
        const ys = align(s.ys);
        const label = many ? `${name} · ${s.name}` : s.name;
        const twin = p.series.find((o) => !o.band && o.name.startsWith(many ? `${name} · ` : '') && o.ys.length === ys.length && o.ys.every((y, i) => y === ys[i]));
        if (twin) { twin.name = `${twin.name} = ${s.name}`; continue; }
        p.series.push({ name: label, ys });
        const lo = byKey.get(`${s.name}_ci95_low`), hi = byKey.get(`${s.name}_ci95_high`);
        if (lo && hi) p.series.push({ name: `${label} ci95 low`, ys: align(lo.ys), band: 'lo' }, { name: `${label} ci95 high`, ys: align(hi.ys), band: 'hi' });
      }
    }
  }
  for (const p of panels.values()) {
    if (p.id === 'losses') p.logY = p.series.every((s) => s.ys.every((y) => y === null || y > 0));
  }
  return { xs: xsAll, xLabel, panels: [...panels.values()] };
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

/** A plottable table: named series against xs (bar charts name their xs with `xNames`). */
export interface Table { title: string; xLabel: string; xs: number[]; series: Series[]; xNames?: string[] }

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Bars of one value per entry (the first of VALUE_KEYS that every entry has) and its 95% interval; null if none. */
function barTable(title: string, entries: [string, Record<string, unknown>][]): Table | null {
  const key = VALUE_KEYS.find((k) => entries.every(([, e]) => typeof e[k] === 'number'));
  if (!key) return null;
  const series: Series[] = [{ name: key, ys: entries.map(([, e]) => e[key] as number), bars: true }];
  const ci = entries.every(([, e]) => Array.isArray(e.ci95) && (e.ci95 as unknown[]).length === 2);
  if (ci) series.push({ name: 'ci95 low', ys: entries.map(([, e]) => (e.ci95 as number[])[0]!), whisker: 'lo' }, { name: 'ci95 high', ys: entries.map(([, e]) => (e.ci95 as number[])[1]!), whisker: 'hi' });
  return { title, xLabel: '', xs: entries.map((_, i) => i), series, xNames: entries.map(([k]) => k) };
}

const VALUE_KEYS = ['successRate', 'success_rate', 'rate', 'success', 'returnMean', 'mean', 'value'];

/** Find plottable tables in an arbitrary results JSON (the rules are in the header). */
export function findTables(data: unknown, path = ''): Table[] {
  const out: Table[] = [];
  const visit = (v: unknown, p: string, depth: number) => {
    if (depth > 6 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      const recs = v.filter(isRecord);
      if (recs.length >= 2 && recs.length === v.length) {
        const numKeys = Object.keys(recs[0]!).filter((k) => recs.every((r) => typeof r[k] === 'number'));
        if (numKeys.length >= 2) {
          const [xk, ...yks] = numKeys;
          const sorted = [...recs].sort((a, b) => (a[xk!] as number) - (b[xk!] as number));
          // A curve (success vs N, best-of-K, updates…): lines; a per-record ci95 becomes whiskers on the first value.
          const series: Series[] = yks.filter((k) => !/^(k|n)$/.test(k) || yks.length === 1).map((k) => ({ name: k, ys: sorted.map((r) => r[k] as number) }));
          if (sorted.every((r) => Array.isArray(r.ci95) && (r.ci95 as unknown[]).length === 2 && (r.ci95 as unknown[]).every((x) => typeof x === 'number'))) {
            series.splice(1, 0, { name: 'ci95 low', ys: sorted.map((r) => (r.ci95 as number[])[0]!), whisker: 'lo' }, { name: 'ci95 high', ys: sorted.map((r) => (r.ci95 as number[])[1]!), whisker: 'hi' });
          }
          out.push({ title: p || 'results', xLabel: xk!, xs: sorted.map((r) => r[xk!] as number), series });
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
    const entries = Object.entries(v as Record<string, unknown>).filter(([, e]) => isRecord(e)) as [string, Record<string, unknown>][];
    if (entries.length >= 2) {
      const bars = barTable(p || 'results', entries);
      if (bars) {
        out.push(bars);
        return;
      }
    }
    // { armA: { goalSuccess: { rate, ci95 }, … }, armB: … } (a study's arms) → one bar chart per metric all arms share.
    if (entries.length >= 3) {
      const metrics = Object.keys(entries[0]![1]).filter((m) => entries.every(([, e]) => isRecord(e[m])));
      const tables = metrics.map((m) => barTable(`${p || 'results'} · ${m}`, entries.map(([k, e]) => [k, e[m] as Record<string, unknown>])));
      if (tables.some((t) => t)) {
        for (const t of tables) if (t) out.push(t);
        return;
      }
    }
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) visit(e, p ? `${p}.${k}` : k, depth + 1);
  };
  visit(data, path, 0);
  return out;
}

/** A study result (`stride.study/1`, experiments/harness/report.ts) as the Results page shows it. */
export interface StudyView {
  title: string;
  /** The floor-guard line. */
  guard: string;
  /** One row per claim: id, the verdict word, the measured value with its interval. */
  claims: { id: string; met: 'met' | 'not met' | 'not decided'; measured: string }[];
  /** One bar chart per metric, over the arms (pooled rate and its 95% Wilson interval). */
  tables: Table[];
  verdict: string;
}

/** The study view of a results JSON, or null when it is not a `stride.study/1` file (then `findTables` applies). */
export function studyView(data: unknown): StudyView | null {
  if (!isRecord(data) || data.schema !== 'stride.study/1' || !isRecord(data.arms) || !Array.isArray(data.claims)) return null;
  const arms = Object.entries(data.arms).filter(([, a]) => isRecord(a) && isRecord(a.metrics)) as [string, { metrics: Record<string, { pooled: { rate: number; ci95: [number, number] } }> }][];
  const metrics = arms.length ? Object.keys(arms[0]![1].metrics).filter((m) => arms.every(([, a]) => isRecord(a.metrics[m]?.pooled))) : [];
  const tables = metrics.map((m) => barTable(`arms · ${m}`, arms.map(([k, a]) => [k, a.metrics[m]!.pooled as unknown as Record<string, unknown>]))).filter((t): t is Table => !!t);
  const g = isRecord(data.floorGuard) ? data.floorGuard : {};
  const pct = (x: unknown) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '?');
  const claims = (data.claims as Record<string, unknown>[]).filter(isRecord).map((c) => {
    const ci = Array.isArray(c.ci95) ? c.ci95 as number[] : [];
    const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : 'n/a');
    return { id: String(c.id), met: c.met === true ? 'met' as const : c.met === false ? 'not met' as const : 'not decided' as const, measured: `${num(c.measured)} [${ci.map(num).join(', ')}]` };
  });
  return {
    title: `${String(data.title ?? data.name)} (${String(data.mode ?? '')})`,
    guard: `floor guard: ${String(g.arm)} ${String(g.metric)} on ${String(g.split)} = ${pct(g.rate)} (min ${pct(g.minRate)}) → ${g.passed ? 'passed' : 'FAILED'}`,
    claims, tables, verdict: String(data.verdict ?? ''),
  };
}
