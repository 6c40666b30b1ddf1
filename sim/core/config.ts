/**
 * Scene configs are plain JSON-like objects; users override fields by dotted path (`--set shift.distractors=3`).
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Deep copy of a JSON-like config. */
export function cloneConfig<T>(cfg: T): T {
  return structuredClone(cfg);
}

/**
 * Apply `{ 'a.b.c': value }` overrides to a copy of cfg. Unknown paths are an error (a typo must not be silently
 * ignored); a value's type must match the default's type (number stays number…).
 */
export function applyOverrides<T extends object>(cfg: T, overrides: Record<string, unknown> = {}): T {
  const out = cloneConfig(cfg) as Record<string, unknown>;
  for (const [path, value] of Object.entries(overrides)) {
    const keys = path.split('.');
    let node: Record<string, unknown> = out;
    for (let i = 0; i < keys.length - 1; i++) {
      const next = Object.prototype.hasOwnProperty.call(node, keys[i]!) ? node[keys[i]!] : undefined;
      if (next === null || typeof next !== 'object' || Array.isArray(next)) throw new Error(`config: unknown option '${path}'`);
      node = next as Record<string, unknown>;
    }
    const last = keys[keys.length - 1]!;
    // Own keys only: `toString`, `constructor`, `__proto__` are not options (`in` would walk the prototype chain).
    if (!Object.prototype.hasOwnProperty.call(node, last)) throw new Error(`config: unknown option '${path}'`);
    const old = node[last];
    const v = coerce(value, old, path);
    node[last] = v;
  }
  return out as T;
}

function coerce(value: unknown, old: unknown, path: string): unknown {
  if (typeof value === 'string' && typeof old !== 'string') {
    try { value = JSON.parse(value); } catch { throw new Error(`config: option '${path}' expects ${typeOf(old)}, got '${value}'`); }
  }
  if (old !== null && old !== undefined && typeOf(value) !== typeOf(old)) {
    throw new Error(`config: option '${path}' expects ${typeOf(old)}, got ${typeOf(value)}`);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`config: option '${path}' must be finite`);
  return value;
}

function typeOf(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
}

/** Parse CLI `key=value` pairs into an overrides table. */
export function parseOverrides(pairs: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new Error(`config: expected key=value, got '${p}'`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

// --- ranges ---------------------------------------------------------------------------------------------------------

/** The allowed values of one numeric config field (bounds inclusive). */
export interface Range { min: number; max: number; int?: boolean }

/**
 * Ranges by dotted path; array elements share their array's path with `[]` appended per level (`hidden[]`,
 * `zonesXZ[][]`). A path may also name an array itself with `len` bounds: `{ 'hidden': { min: 1, max: 16 } }` under
 * the key `hidden#len`.
 */
export type Ranges = Readonly<Record<string, Range>>;

/** Largest magnitude a field without a declared range may take, as a multiple of its default's (at least this much). */
export const DERIVED_RANGE_FACTOR = 1000;

/**
 * The range of a numeric field nobody declared one for, from its default: the default's sign (a field that defaults to
 * ≥ 0 stays ≥ 0), and a magnitude at most DERIVED_RANGE_FACTOR × max(1, |default|). This is what stops `-3` distractors
 * or a million of anything; fields where that is too loose or too tight declare their own range.
 */
export function derivedRange(defaults: readonly number[]): Range {
  const mag = Math.max(1, ...defaults.map((d) => Math.abs(d))) * DERIVED_RANGE_FACTOR;
  return { min: defaults.some((d) => d < 0) ? -mag : 0, max: mag };
}

function fmtRange(r: Range): string {
  return `[${r.min}, ${r.max}]${r.int ? ' (integer)' : ''}`;
}

/**
 * Check every numeric field of `cfg` (and every array length named `path#len`) against `ranges`, falling back to
 * `derivedRange` of the same field in `defaults`. Throws one line naming the field, the value and the range:
 * `<where>: shift.distractors = -3 is out of range [0, 64] (integer)`.
 */
export function checkRanges(cfg: unknown, defaults: unknown, ranges: Ranges, where: string): void {
  const defaultsAt = new Map<string, number[]>();
  const collect = (v: unknown, p: string): void => {
    if (typeof v === 'number') { const a = defaultsAt.get(p) ?? []; a.push(v); defaultsAt.set(p, a); return; }
    if (Array.isArray(v)) { for (const x of v) collect(x, `${p}[]`); return; }
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) collect(x, p ? `${p}.${k}` : k);
  };
  collect(defaults, '');
  const walk = (v: unknown, p: string, shown: string): void => {
    if (typeof v === 'number') {
      const r = ranges[p] ?? (defaultsAt.has(p) ? derivedRange(defaultsAt.get(p)!) : undefined);
      if (!r) return; // a field whose default is not a number (e.g. an empty array): its type check is applyOverrides'
      if (!Number.isFinite(v) || v < r.min || v > r.max || (r.int && !Number.isInteger(v))) {
        throw new Error(`${where}: ${shown} = ${v} is out of range ${fmtRange(r)}`);
      }
      return;
    }
    if (Array.isArray(v)) {
      const lr = ranges[`${p}#len`];
      if (lr && (v.length < lr.min || v.length > lr.max)) throw new Error(`${where}: ${shown} has ${v.length} elements, allowed ${lr.min}..${lr.max}`);
      v.forEach((x, i) => walk(x, `${p}[]`, `${shown}[${i}]`));
      return;
    }
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k, shown ? `${shown}.${k}` : k);
  };
  walk(cfg, '', '');
}
