/**
 * Action chunking with a receding horizon (Diffusion Policy). With obs horizon To = 2, prediction horizon Tp = 8,
 * executed steps Ta = 4, one inference at control step t predicts actions for t−To+1 … t−To+Tp and executes
 * t … t+Ta−1, then re-plans:
 *
 * ```
 *   step       t-1  t    t+1  t+2  t+3  t+4  t+5  t+6
 *   observed   o    o
 *   predicted  a    a    a    a    a    a    a    a
 *   executed        x    x    x    x
 *   next plan                           ^ (re-plan at t+4)
 * ```
 * The first predicted action aligns with the oldest observation; actions [To−1, To−1+Ta) are executed.
 */
import type { Observation } from '../../sim/core/features.ts';

export interface Horizons {
  /** Number of past observations the policy conditions on (To). */
  obsHorizon: number;
  /** Number of actions predicted per inference (Tp ≥ To − 1 + Ta). */
  predHorizon: number;
  /** Number of predicted actions executed before re-planning (Ta). */
  actionHorizon: number;
}

export function checkHorizons(h: Horizons): void {
  if (h.obsHorizon < 1 || h.actionHorizon < 1 || h.predHorizon < h.obsHorizon - 1 + h.actionHorizon) {
    throw new Error(`bad horizons To=${h.obsHorizon} Tp=${h.predHorizon} Ta=${h.actionHorizon}: need To ≥ 1, Ta ≥ 1, Tp ≥ To − 1 + Ta`);
  }
}

/** Observation history (padded by repeating the first observation after reset) + queue of planned actions. */
export class RecedingHorizon {
  private history: Observation[] = [];
  private queue: Float32Array[] = [];

  constructor(readonly h: Horizons) { checkHorizons(h); }

  reset(): void { this.history = []; this.queue = []; }

  /** Push the newest observation; returns the To-long window, oldest first (edge-padded). */
  observe(obs: Observation): Observation[] {
    const copy: Record<string, Float32Array | Uint8Array | Int32Array> = {};
    for (const [k, v] of Object.entries(obs)) copy[k] = v.slice();
    this.history.push(copy);
    while (this.history.length > this.h.obsHorizon) this.history.shift();
    const out: Observation[] = [];
    for (let i = 0; i < this.h.obsHorizon - this.history.length; i++) out.push(this.history[0]!);
    return [...out, ...this.history];
  }

  /** True when the action queue is empty and the policy must plan. */
  needsPlan(): boolean { return this.queue.length === 0; }

  /** Store a plan of Tp actions (flat Tp × actDim) and queue the executed slice [To−1, To−1+Ta). */
  setPlan(plan: Float32Array, actDim: number): void {
    const start = this.h.obsHorizon - 1;
    for (let k = 0; k < this.h.actionHorizon; k++) this.queue.push(plan.slice((start + k) * actDim, (start + k + 1) * actDim));
  }

  next(): Float32Array {
    const a = this.queue.shift();
    if (!a) throw new Error('RecedingHorizon.next: no planned action (call setPlan first)');
    return a;
  }
}
