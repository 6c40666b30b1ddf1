/**
 * Exact, portable encoding of plain scene state (JSON with typed arrays). Numbers round-trip exactly through JSON's
 * shortest representation; typed arrays are tagged. Keys starting with `$` (runtime-only objects) are skipped.
 */
type Tagged = { __t: 'f32' | 'f64' | 'i32' | 'u8' | 'u32'; v: number[] };

export function encodeState(value: unknown): string {
  return JSON.stringify(value, function (key, v) {
    if (key.startsWith('$')) return undefined;
    if (v instanceof Float32Array) return { __t: 'f32', v: Array.from(v) } satisfies Tagged;
    if (v instanceof Float64Array) return { __t: 'f64', v: Array.from(v) } satisfies Tagged;
    if (v instanceof Int32Array) return { __t: 'i32', v: Array.from(v) } satisfies Tagged;
    if (v instanceof Uint8Array) return { __t: 'u8', v: Array.from(v) } satisfies Tagged;
    if (v instanceof Uint32Array) return { __t: 'u32', v: Array.from(v) } satisfies Tagged;
    if (typeof v === 'number' && !Number.isFinite(v)) return { __nf: String(v) };
    return v;
  });
}

export function decodeState<T>(text: string): T {
  return JSON.parse(text, (_key, v) => {
    if (v && typeof v === 'object' && '__t' in v && Array.isArray(v.v)) {
      const t = v as Tagged;
      switch (t.__t) {
        case 'f32': return Float32Array.from(t.v);
        case 'f64': return Float64Array.from(t.v);
        case 'i32': return Int32Array.from(t.v);
        case 'u8': return Uint8Array.from(t.v);
        case 'u32': return Uint32Array.from(t.v);
      }
    }
    if (v && typeof v === 'object' && '__nf' in v) return Number(v.__nf);
    return v;
  }) as T;
}
