/**
 * `stride bench rfs [--scenarios N] [--trajectories M] [--seconds S] [--json]`
 * Throughput of the driving scenes' rater-preference score (GRPO's reward): scenarios come from real
 * `driving/intersection` resets (their rated references), candidate trajectories are the references perturbed by
 * seeded noise plus random arcs. Reports single-call `rfs()` scores/s (references prepared once per scenario, as GRPO
 * does), `rfsBatch()` scores/s, and the cost of preparing a scenario.
 *
 * JSON: { scene, scenarios, trajectories, scoresPerSec, batchScoresPerSec, prepareUsPerScenario, meanScore, minScore, maxScore }
 */
import type { Command } from 'commander';
import { makeEnv } from '../../sim/core/index.ts';
import { Rng } from '../../sim/math/rng.ts';
import { initPhysics } from '../../sim/physics/index.ts';
import { rfsScenarioOf } from '../../scenes/driving/intersection.ts';
import { prepareRfs, rfs, rfsBatch, RFS_T, type PreparedRfs, type RfsScenario } from '../../scenes/driving/rfs.ts';
import { action, info, loadScenes, parseIntOpt, parseNumOpt, printJson } from '../util.ts';

interface RfsBenchOpts { scenarios: number; trajectories: number; seconds: number; json?: boolean }

export function register(bench: Command): void {
  bench
    .command('rfs')
    .description('rater-preference score throughput (driving scenes)')
    .option('--scenarios <n>', 'scenarios (env resets) to score against', parseIntOpt('scenarios', 1), 16)
    .option('--trajectories <n>', 'candidate trajectories per scenario', parseIntOpt('trajectories', 1), 256)
    .option('--seconds <s>', 'timed seconds per measurement', parseNumOpt('seconds', 0, 3600, true), 2)
    .option('--json', 'print JSON on stdout')
    .action(action(async (o: RfsBenchOpts) => {
      const seconds = o.seconds;
      await initPhysics();
      await loadScenes();
      info(!!o.json, `building ${o.scenarios} scenarios…`);
      const env = makeEnv('driving/intersection');
      const scenarios: RfsScenario[] = [];
      try {
        for (let s = 0; s < o.scenarios; s++) { env.reset({ seed: s }); scenarios.push(structuredClone(rfsScenarioOf(env))); }
      } finally { env.dispose(); }
      // Candidates: references + noise, and random arcs.
      const rng = new Rng(1234);
      const M = o.trajectories, D = RFS_T * 2;
      const cands = scenarios.map((sc) => {
        const out = new Float32Array(M * D);
        for (let j = 0; j < M; j++) {
          if (j % 2 === 0) {
            const r = rng.int(sc.ratings.length), sigma = rng.uniform(0, 3);
            for (let k = 0; k < D; k++) out[j * D + k] = sc.refs[r * D + k]! + rng.normal(0, sigma) * ((k >> 1) + 1) / RFS_T;
          } else {
            const v = rng.uniform(0, 14), w = rng.uniform(-0.6, 0.6);
            for (let k = 0; k < RFS_T; k++) {
              const t = (k + 1) * 0.25;
              out[j * D + 2 * k] = Math.abs(w) < 1e-6 ? v * t : (v / w) * Math.sin(w * t);
              out[j * D + 2 * k + 1] = Math.abs(w) < 1e-6 ? 0 : (v / w) * (1 - Math.cos(w * t));
            }
          }
        }
        return out;
      });
      // Prepare cost.
      let prepN = 0;
      const tp = performance.now();
      let prepared: PreparedRfs[] = [];
      while (performance.now() - tp < 200) { prepared = scenarios.map((sc) => prepareRfs(sc)); prepN += scenarios.length; }
      const prepareUsPerScenario = ((performance.now() - tp) * 1000) / prepN;
      // Single-call throughput.
      let sum = 0, n = 0, mn = Infinity, mx = -Infinity;
      for (let w = 0; w < 3; w++) for (let s = 0; s < scenarios.length; s++) for (let j = 0; j < M; j++) rfs(cands[s]!, prepared[s]!, j * D);
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000) {
        for (let s = 0; s < scenarios.length; s++) {
          const c = cands[s]!, P = prepared[s]!;
          for (let j = 0; j < M; j++) { const v = rfs(c, P, j * D); sum += v; if (v < mn) mn = v; if (v > mx) mx = v; }
          n += M;
        }
      }
      const scoresPerSec = (n / (performance.now() - t0)) * 1000;
      // Batch throughput.
      const outBuf = new Float32Array(M);
      let nb = 0;
      const t1 = performance.now();
      while (performance.now() - t1 < seconds * 1000) {
        for (let s = 0; s < scenarios.length; s++) { rfsBatch(cands[s]!, prepared[s]!, outBuf); nb += M; }
      }
      const batchScoresPerSec = (nb / (performance.now() - t1)) * 1000;
      const result = {
        scene: 'driving/intersection', scenarios: scenarios.length, trajectories: M,
        scoresPerSec: Math.round(scoresPerSec), batchScoresPerSec: Math.round(batchScoresPerSec),
        prepareUsPerScenario: Number(prepareUsPerScenario.toFixed(2)),
        meanScore: Number((sum / n).toFixed(3)), minScore: mn, maxScore: mx,
      };
      if (o.json) printJson(result);
      else {
        console.log(`rfs: ${result.scoresPerSec.toLocaleString()} scores/s single, ${result.batchScoresPerSec.toLocaleString()} scores/s batch`);
        console.log(`prepare: ${result.prepareUsPerScenario} µs/scenario; mean score ${result.meanScore} (min ${mn}, max ${mx})`);
      }
    }));
}
