/**
 * PPO training loop (CleanRL-style, readable in one sitting) over sim/vec environments.
 * Each iteration restarts every env from a seed derived from (run seed, iteration) and collects `rolloutSteps`
 * steps per env (same-step autoreset; truncation bootstraps with γ·V(final obs)); so an iteration is a pure function
 * of (weights, normaliser, RNG) and a resumed run is bit-identical to an uninterrupted one. A warm start (`cfg.init`)
 * takes the parent checkpoint's inference weights (the observation normaliser starts afresh) and writes checkpoint 0.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { ACTION, featureSize } from '../../sim/core/features.ts';
import { Rng } from '../../sim/math/rng.ts';
import { SyncVecEnv, WorkerVecEnv, sceneFeatures, type VecEnv } from '../../sim/vec/index.ts';
import { backendName } from '../common/backend.ts';
import { Adam } from '../common/params.ts';
import { RunningMeanStd, gae, gaussianLogProbJs } from '../common/rl.ts';
import { Normalizer } from '../common/normalizer.ts';
import type { SafetyEnvelope } from '../common/policy.ts';
import { applyInit, gitCommit, packTrainArrays, resolveCheckpoint, restoreTrainState, saveCheckpoint } from '../train/checkpoint.ts';
import { MetricsLog } from '../train/metrics_log.ts';
import type { TrainCallbacks, TrainConfig } from '../train/run.ts';
import { trainStep } from '../train/step.ts';
import { PPO_BATCH, PpoPolicy, defaultPpoConfig, type PpoConfig } from './index.ts';

export async function trainPpo(runDir: string, cfg: TrainConfig, resume: boolean, cb: TrainCallbacks = {}): Promise<{ policy: PpoPolicy; history: { iter: number; returnMean: number; successRate: number }[] }> {
  // --- env & model ---
  const pc = { ...defaultPpoConfig(), ...cfg.methodConfig } as PpoConfig;
  const f = sceneFeatures(cfg.sceneId, cfg.overrides);
  const policy = new PpoPolicy({ method: 'ppo', config: pc as unknown as Record<string, unknown>, features: { observation: f.observation, action: f.action }, normalizers: {} }, cfg.seed);
  const N = pc.numEnvs, T = pc.rolloutSteps, A = policy.actDim, D = policy.obsDim;
  const opt = new Adam(policy.params, cfg.optim);
  const rms = new RunningMeanStd(D);
  const rng = new Rng(cfg.seed ^ 0x99e0);
  const perIter = N * T;
  const iters = Math.ceil(cfg.steps / perIter);
  const ckptEveryIters = Math.max(1, Math.round(cfg.checkpointEvery / perIter));
  const log = new MetricsLog(path.join(runDir, 'metrics.jsonl'));
  const aspec = f.action[ACTION]!;
  const envelope: SafetyEnvelope = {
    actionLow: Array(featureSize(aspec)).fill(aspec.low ?? -1), actionHigh: Array(featureSize(aspec)).fill(aspec.high ?? 1),
    maxDeltaPerStep: Array(featureSize(aspec)).fill((aspec.high ?? 1) - (aspec.low ?? -1)),
  };
  let start = 0;

  // --- resume, or warm start from another run's inference weights ---
  let warm = false;
  if (resume && existsSync(path.join(runDir, 'latest'))) {
    const ck = resolveCheckpoint(runDir);
    const st = restoreTrainState(ck, policy, opt);
    const tr = st.trainer as { rng: number[]; rms: ReturnType<RunningMeanStd['toJSON']>; iter: number };
    if (!Array.isArray(tr?.rng) || !tr.rms) throw new Error(`corrupt ${ck}/train_state.json: missing RNG/normaliser state`);
    rng.setState(tr.rng);
    const r = RunningMeanStd.fromJSON(tr.rms);
    rms.mean = r.mean; rms.var = r.var; rms.count = r.count;
    start = tr.iter;
    log.truncateAfter(start * perIter);
  } else if (cfg.init) {
    applyInit(cfg.init, policy, [opt, policy]);
    warm = true;
  }
  const syncNorm = () => {
    policy.obsNorm.dispose();
    policy.obsNorm = new Normalizer('meanstd', Array.from(rms.var, (x) => 1 / Math.sqrt(x + 1e-8)), Array.from(rms.mean));
  };
  syncNorm();

  const venv: VecEnv = cfg.workers > 1
    ? await WorkerVecEnv.create({ sceneId: cfg.sceneId, overrides: cfg.overrides, numEnvs: N, numWorkers: cfg.workers, autoresetMode: 'same-step' })
    : new SyncVecEnv({ sceneId: cfg.sceneId, overrides: cfg.overrides, numEnvs: N, autoresetMode: 'same-step' });
  cb.onStart?.(iters * perIter, start * perIter);
  const history: { iter: number; returnMean: number; successRate: number }[] = [];
  const obsBuf = new Float32Array(T * N * D), actBuf = new Float32Array(T * N * A), logpBuf = new Float32Array(T * N);
  const rewBuf = new Float32Array(T * N), valBuf = new Float32Array(T * N), doneBuf = new Uint8Array(T * N);

  // --- checkpoint (every ckptEveryIters iterations, at the end, and at iteration 0 of a warm start) ---
  const checkpoint = async (iter: number, ev?: Record<string, number>): Promise<void> => {
    const envSteps = iter * perIter;
    const st = opt.state(), weights = policy.params.toArrays();
    const arrays = packTrainArrays(policy.params.names, { weights, m: st.m, v: st.v, ema: null });
    const dir = await saveCheckpoint(runDir, envSteps, policy, { safetyEnvelope: envelope, trainingCommand: cfg.command, gitCommit: gitCommit(), backend: backendName(), sceneId: cfg.sceneId, ...(cfg.init ? { init: cfg.init } : {}) },
      { step: envSteps, adamStep: st.step, trainer: { rng: rng.getState(), rms: rms.toJSON(), iter }, arrays });
    cb.onCheckpoint?.(envSteps, dir, ev);
  };

  try {
    if (warm) await checkpoint(0);
    for (let iter = start + 1; iter <= iters; iter++) {
      const t0 = performance.now();
      // --- rollout ---
      let { obs } = await venv.reset(cfg.seed * 100_003 + iter * N);
      const finished: { return: number; success: boolean }[] = [];
      for (let t = 0; t < T; t++) {
        const raw = policy.flattenRaw(obs, N);
        rms.update(raw, N);
        syncNorm();
        const xN = policy.clipObs(policy.obsNorm.normalize(raw));
        const { mean, value, logStd } = policy.forward(xN, N);
        const a = new Float32Array(N * A), aEnv = new Float32Array(N * A);
        for (let i = 0; i < N; i++) {
          for (let j = 0; j < A; j++) {
            const k = i * A + j;
            a[k] = mean[k]! + Math.exp(logStd[j]!) * rng.normal();
            aEnv[k] = Math.min(policy.actionHigh[j]!, Math.max(policy.actionLow[j]!, a[k]!));
          }
          logpBuf[t * N + i] = gaussianLogProbJs(a.subarray(i * A, (i + 1) * A), mean.subarray(i * A, (i + 1) * A), logStd);
        }
        obsBuf.set(xN, t * N * D); actBuf.set(a, t * N * A); valBuf.set(value, t * N);
        const r = await venv.step(aEnv);
        for (let i = 0; i < N; i++) {
          let rew = r.rewards[i]!;
          if (r.truncated[i] && !r.terminated[i] && r.finalObs[i]) {
            const fo = policy.normalizeBatch(r.finalObs[i]!, 1);
            rew += pc.gamma * policy.forward(fo, 1).value[0]!;
          }
          rewBuf[t * N + i] = rew;
          doneBuf[t * N + i] = r.terminated[i] || r.truncated[i] ? 1 : 0;
        }
        for (const e of r.episodes) finished.push({ return: e.return, success: e.success });
        obs = Object.fromEntries(Object.entries(r.obs).map(([k, v]) => [k, v.slice()]));
      }
      const last = policy.forward(policy.normalizeBatch(obs, 1 * N), N).value;
      const { adv, ret } = gae(rewBuf, valBuf, doneBuf, last, T, N, pc.gamma, pc.lambda);

      // --- update ---
      const B = T * N, mb = Math.floor(B / pc.minibatches);
      const idx = Array.from({ length: B }, (_, i) => i);
      let lastMetrics: Record<string, number> = {}, lastLoss = 0;
      for (let ep = 0; ep < pc.epochs; ep++) {
        rng.shuffle(idx);
        for (let m = 0; m < pc.minibatches; m++) {
          const sel = idx.slice(m * mb, (m + 1) * mb);
          const o = new Float32Array(mb * D), ac = new Float32Array(mb * A), lp = new Float32Array(mb), ad = new Float32Array(mb), rt = new Float32Array(mb);
          sel.forEach((k, r) => {
            o.set(obsBuf.subarray(k * D, (k + 1) * D), r * D); ac.set(actBuf.subarray(k * A, (k + 1) * A), r * A);
            lp[r] = logpBuf[k]!; ad[r] = adv[k]!; rt[r] = ret[k]!;
          });
          const out = trainStep(policy, opt, {
            [PPO_BATCH.obs]: { data: o, shape: [mb, D] }, [PPO_BATCH.act]: { data: ac, shape: [mb, A] },
            [PPO_BATCH.logp]: { data: lp, shape: [mb] }, [PPO_BATCH.adv]: { data: ad, shape: [mb] }, [PPO_BATCH.ret]: { data: rt, shape: [mb] },
          }, rng);
          lastMetrics = out.metrics; lastLoss = out.loss;
        }
      }

      // --- log ---
      const envSteps = iter * perIter;
      const sps = perIter / ((performance.now() - t0) / 1000);
      const returnMean = finished.length ? finished.reduce((s, e) => s + e.return, 0) / finished.length : NaN;
      const successRate = finished.length ? finished.filter((e) => e.success).length / finished.length : NaN;
      history.push({ iter, returnMean, successRate });
      log.log(envSteps, { 'losses/loss': lastLoss, ...lastMetrics, 'eval/rollout_return_mean': returnMean, 'eval/rollout_success_rate': successRate, 'eval/rollout_episodes': finished.length, 'perf/env_steps_per_sec': sps, 'perf/backend': backendName() });
      cb.onProgress?.(envSteps, lastLoss, sps);
      await new Promise((r) => setImmediate(r));

      // --- checkpoint ---
      if (iter % ckptEveryIters === 0 || iter === iters) await checkpoint(iter, { 'eval/rollout_return_mean': returnMean, 'eval/success_rate': successRate });
    }
  } finally {
    await venv.close();
    opt.dispose();
  }
  return { policy, history };
}
