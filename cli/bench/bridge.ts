/**
 * `stride bench bridge [--run RUN | --policy zero] [--seconds 60] [--rate-hz 100] [--json]`
 *
 * The bridge's control loop at `rate-hz` against a sim-robot in a child process (`stride bridge sim-robot`) on
 * loopback, through roslib, with a trained policy (the shipped diffusion checkpoint by default). The robot side
 * measures what matters to a robot: observation published → command received (latencyMs, both socket trips + policy)
 * and missed deadlines (ticks at which the command answering the previous observation had not arrived). The bridge side
 * reports its own observation-received → command-sent time (bridgeLatencyMs). A 2 s warm-up is not counted.
 *
 * JSON: { latencyMs: { p50, p95, p99, max }, missedDeadlines, seconds, rateHz, ticks, commands, lateTicks,
 *         bridgeLatencyMs: { p50, p95, p99 }, steps, dropped, clamped, watchdogTrips, bridgeCpuMsPerStep, policy, scene,
 *         loadAvg } — loadAvg says how busy the machine was (latency on a shared 2-core box is mostly waiting for a core).
 */
import type { Command } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { ACTION, OBS_STATE, featureSize } from '../../sim/core/index.ts';
import { runBridge, type BridgePolicy } from '../../sim/bridge/real_env.ts';
import { startBridge } from '../../sim/bridge/session.ts';
import type { SimRobotStats } from '../../sim/bridge/sim_robot.ts';
import type { SafetySpec } from '../../sim/bridge/safety.ts';
import { loadRunPolicy } from '../bridge.ts';
import { CliError, action, info, loadScenes, parseNumOpt, printJson } from '../util.ts';

interface BenchBridgeOpts { run?: string; policy?: string; scene: string; seconds: number; rateHz: number; json?: boolean }

/** Shipped diffusion checkpoints, first that exists wins (sim/bridge/shipped/README.md says how it was trained). */
export const SHIPPED_DIFFUSION = ['sim/bridge/shipped/diffusion_point_reach'];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function register(bench: Command): void {
  bench
    .command('bridge')
    .description('control loop at 100 Hz against sim-robot over loopback through roslib: latency and missed deadlines')
    .option('--run <dir>', 'policy run/checkpoint (default: the shipped diffusion checkpoint)')
    .option('--policy <name>', "'zero': a constant policy (transport-only baseline) instead of a checkpoint")
    .option('--scene <id>', 'scene for --policy zero (a checkpoint brings its own)', 'toy/point_reach')
    .option('--seconds <s>', 'measured seconds (after a 2 s warm-up)', parseNumOpt('seconds', 0, 86_400, true), 60)
    .option('--rate-hz <hz>', 'control rate', parseNumOpt('rate-hz', 0, 1000, true), 100)
    .option('--json', 'print JSON on stdout')
    .action(action(async (opts: BenchBridgeOpts) => {
      const json = !!opts.json;
      const { seconds, rateHz } = opts;
      await loadScenes();

      // --- policy ---
      let policy: BridgePolicy, safety: SafetySpec | undefined, scene = opts.scene, overrides: Record<string, unknown> = {}, policyName: string;
      if (opts.policy === 'zero') {
        const { makeEnv } = await import('../../sim/core/index.ts');
        const env = makeEnv(scene);
        const n = featureSize(env.actionFeatures[ACTION]!);
        policy = { name: 'zero', inputFeatures: { [OBS_STATE]: env.observationFeatures[OBS_STATE]! }, outputFeatures: env.actionFeatures, reset() {}, act: async () => new Float32Array(n) };
        env.dispose();
        policyName = 'zero';
      } else if (opts.policy !== undefined) {
        throw new CliError(`--policy must be 'zero' (or give --run)`, 2);
      } else {
        const run = opts.run ?? SHIPPED_DIFFUSION.map((p) => `${ROOT}${p}`).find((p) => existsSync(p));
        if (!run) throw new CliError(`no shipped diffusion checkpoint found (looked in ${SHIPPED_DIFFUSION.join(', ')}); pass --run RUN or --policy zero`);
        const loaded = await loadRunPolicy(run);
        policy = loaded.policy;
        safety = loaded.safety;
        scene = loaded.sceneId ?? scene;
        overrides = loaded.overrides ?? {};
        policyName = `${policy.name ?? 'policy'} (${run.replace(ROOT, '')})`;
      }

      // --- sim-robot in a child process ---
      const ctrlDtSec = 1 / rateHz;
      const sets = { ...overrides, ctrlDtSec, maxSteps: 1_000_000_000, terminateOnSuccess: false };
      const args = [`${ROOT}bin/stride.js`, 'bridge', 'sim-robot', '--scene', scene, '--port', '0'];
      for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let session: Awaited<ReturnType<typeof startBridge>> | undefined;
      try {
        const url = await waitForUrl(child);
        info(json, `sim-robot ${scene} at ${url}, ${rateHz} Hz; policy ${policyName}`);
        session = await startBridge({ url, policy, manifestSafety: safety, ctrlDtSec, stallPeriods: 100, log: (l) => info(json, l) });
        // --- warm-up (JIT, first inferences), then measure ---
        await runBridge(session.env, policy, { seconds: 2 });
        await session.robot.callService('/stride/stats', { reset: true });
        const steps0 = session.env.stats.steps, dropped0 = session.env.stats.dropped, clamped0 = session.env.stats.clamped;
        const cpu0 = process.cpuUsage();
        const rep = await runBridge(session.env, policy, { seconds });
        const cpu = process.cpuUsage(cpu0);
        const s = await session.robot.callService<SimRobotStats>('/stride/stats', {});
        const out = {
          latencyMs: { p50: s.latencyMs.p50, p95: s.latencyMs.p95, p99: s.latencyMs.p99, max: s.latencyMs.max },
          missedDeadlines: s.missedDeadlines,
          seconds,
          rateHz,
          ticks: s.ticks,
          commands: s.commands,
          lateTicks: s.lateTicks,
          bridgeLatencyMs: { p50: rep.latencyMs.p50, p95: rep.latencyMs.p95, p99: rep.latencyMs.p99 },
          steps: rep.steps - steps0,
          dropped: rep.dropped - dropped0,
          clamped: rep.clamped - clamped0,
          watchdogTrips: rep.watchdogTrips,
          // CPU time of the bridge process per control step (policy + roslib + JSON): what the loop costs on an idle core.
          bridgeCpuMsPerStep: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(1, rep.steps - steps0)) * 1000) / 1000,
          stopReason: rep.stopReason,
          policy: policyName,
          scene,
          loadAvg: loadavg().map((x) => Math.round(x * 100) / 100),
        };
        if (json) printJson(out);
        else info(false, `bridge @ ${rateHz} Hz for ${seconds} s: latency p50 ${out.latencyMs.p50} ms, p99 ${out.latencyMs.p99} ms; missed deadlines ${out.missedDeadlines}/${out.ticks}; dropped ${out.dropped}; policy ${policyName}`);
      } finally {
        await session?.close();
        policy.dispose?.();
        child.kill('SIGTERM');
        await new Promise((r) => { child.once('exit', r); setTimeout(r, 3000).unref(); });
      }
    }));
}

function waitForUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '', err = '';
    const timer = setTimeout(() => reject(new CliError(`sim-robot did not start within 60 s: ${err.trim().split('\n').pop() ?? ''}`)), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening (ws:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.stderr!.on('data', (d) => { err += d; });
    child.once('exit', (code) => { clearTimeout(timer); reject(new CliError(`sim-robot exited (${code}): ${err.trim().split('\n').pop() ?? ''}`)); });
  });
}
