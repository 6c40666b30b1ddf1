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
      const next = node[keys[i]!];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) throw new Error(`config: unknown option '${path}'`);
      node = next as Record<string, unknown>;
    }
    const last = keys[keys.length - 1]!;
    if (!(last in node)) throw new Error(`config: unknown option '${path}'`);
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
