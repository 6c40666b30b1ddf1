/**
 * Safety envelope: action bounds, per-step rate limits and workspace limits, combined from the checkpoint manifest,
 * the robot config and the policy's action feature — the tighter bound wins element by element. Every command goes
 * through `apply()`, which clamps and counts.
 *
 * Conventions: bounds are in the policy's action space (what `Policy.act` returns, before the robot config's
 * scale/offset); a number applies to every element, an array gives one value per element, `null` in an array means
 * "no bound" for that element. Workspace limits are on `observation.state` elements: leaving them stops the bridge.
 */

export type Bound = number | readonly (number | null)[];

export interface SafetySpec {
  /** Lowest allowed command per action element. */
  actionLow?: Bound;
  /** Highest allowed command per action element. */
  actionHigh?: Bound;
  /** Largest allowed change of an action element from one control step to the next. */
  maxDeltaPerStep?: Bound;
  /** Lowest allowed value per observation.state element (outside ⇒ hold and stop). */
  workspaceLow?: Bound;
  /** Highest allowed value per observation.state element. */
  workspaceHigh?: Bound;
}

export interface ClampResult {
  cmd: Float32Array;
  /** Elements changed by bounds or rate limits (0 = the command went through untouched). */
  clampedElements: number;
}

function expand(b: Bound | undefined, n: number, fill: number, what: string, source: string): Float64Array {
  const out = new Float64Array(n).fill(fill);
  if (b === undefined) return out;
  if (typeof b === 'number') {
    if (Number.isNaN(b)) throw new Error(`safety envelope (${source}): ${what} is NaN`);
    return out.fill(b);
  }
  if (!Array.isArray(b)) throw new Error(`safety envelope (${source}): ${what} must be a number or an array`);
  if (b.length !== n) throw new Error(`safety envelope (${source}): ${what} has ${b.length} values, expected ${n}`);
  b.forEach((v, i) => {
    if (v === null) return;
    if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`safety envelope (${source}): ${what}[${i}] is not a number`);
    out[i] = v;
  });
  return out;
}

export class SafetyEnvelope {
  private constructor(
    readonly low: Float64Array,
    readonly high: Float64Array,
    readonly maxDelta: Float64Array,
    readonly workspaceLow: Float64Array,
    readonly workspaceHigh: Float64Array,
  ) {}

  /**
   * Tightest combination of several envelopes for an action of `actionSize` and a state of `stateSize` elements.
   * `sources` are labelled for error messages (e.g. { manifest: …, 'robot config': … }).
   */
  static combine(actionSize: number, stateSize: number, sources: Record<string, SafetySpec | undefined>): SafetyEnvelope {
    const low = new Float64Array(actionSize).fill(-Infinity), high = new Float64Array(actionSize).fill(Infinity);
    const delta = new Float64Array(actionSize).fill(Infinity);
    const wLow = new Float64Array(stateSize).fill(-Infinity), wHigh = new Float64Array(stateSize).fill(Infinity);
    for (const [name, s] of Object.entries(sources)) {
      if (!s) continue;
      const l = expand(s.actionLow, actionSize, -Infinity, 'actionLow', name);
      const h = expand(s.actionHigh, actionSize, Infinity, 'actionHigh', name);
      const d = expand(s.maxDeltaPerStep, actionSize, Infinity, 'maxDeltaPerStep', name);
      const wl = expand(s.workspaceLow, stateSize, -Infinity, 'workspaceLow', name);
      const wh = expand(s.workspaceHigh, stateSize, Infinity, 'workspaceHigh', name);
      for (let i = 0; i < actionSize; i++) {
        low[i] = Math.max(low[i]!, l[i]!);
        high[i] = Math.min(high[i]!, h[i]!);
        if (!(d[i]! > 0)) throw new Error(`safety envelope (${name}): maxDeltaPerStep[${i}] must be > 0, got ${d[i]}`);
        delta[i] = Math.min(delta[i]!, d[i]!);
      }
      for (let i = 0; i < stateSize; i++) {
        wLow[i] = Math.max(wLow[i]!, wl[i]!);
        wHigh[i] = Math.min(wHigh[i]!, wh[i]!);
      }
    }
    for (let i = 0; i < actionSize; i++) {
      if (low[i]! > high[i]!) throw new Error(`safety envelope: action element ${i} has an empty range [${low[i]}, ${high[i]}] after combining ${Object.keys(sources).join(' + ')}`);
    }
    for (let i = 0; i < stateSize; i++) {
      if (wLow[i]! > wHigh[i]!) throw new Error(`safety envelope: workspace element ${i} has an empty range [${wLow[i]}, ${wHigh[i]}]`);
    }
    return new SafetyEnvelope(low, high, delta, wLow, wHigh);
  }

  get actionSize(): number { return this.low.length; }

  /**
   * Clamp `a` into the bounds and within maxDeltaPerStep of `prev` (the last command actually sent; null = no rate
   * limit for the first command). Non-finite input is a caller error (the watchdog catches it before this).
   */
  apply(a: Float32Array, prev: Float32Array | null): ClampResult {
    if (a.length !== this.low.length) throw new Error(`safety envelope: action has ${a.length} elements, expected ${this.low.length}`);
    const cmd = new Float32Array(a.length);
    let clamped = 0;
    for (let i = 0; i < a.length; i++) {
      let lo = this.low[i]!, hi = this.high[i]!;
      if (prev) {
        const d = this.maxDelta[i]!;
        lo = Math.max(lo, prev[i]! - d);
        hi = Math.min(hi, prev[i]! + d);
        if (lo > hi) { lo = hi = Math.min(Math.max(prev[i]!, this.low[i]!), this.high[i]!); } // prev was outside the box
      }
      const v = a[i]!;
      const c = v < lo ? lo : v > hi ? hi : v;
      cmd[i] = c;
      if (Math.fround(c) !== Math.fround(v)) clamped++;
    }
    return { cmd, clampedElements: clamped };
  }

  /** Index of the first observation.state element outside the workspace, or -1. */
  outsideWorkspace(state: ArrayLike<number>): number {
    const n = Math.min(state.length, this.workspaceLow.length);
    for (let i = 0; i < n; i++) {
      const v = state[i]!;
      if (v < this.workspaceLow[i]! || v > this.workspaceHigh[i]!) return i;
    }
    return -1;
  }

  /** JSON-friendly description (null = unbounded). */
  describe(): Record<string, (number | null)[]> {
    const j = (a: Float64Array) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
    return { actionLow: j(this.low), actionHigh: j(this.high), maxDeltaPerStep: j(this.maxDelta), workspaceLow: j(this.workspaceLow), workspaceHigh: j(this.workspaceHigh) };
  }
}
