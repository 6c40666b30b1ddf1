/**
 * `stride bridge sim-robot --scene ID [--port P] [--host 127.0.0.1] [--token T] [--insecure]` — a rosbridge-v2 server
 *   backed by a scene, to rehearse a deployment (prints `listening ws://…` on stdout, runs until SIGINT/SIGTERM). A
 *   host other than loopback is refused unless `--token` is given (or `--insecure` says so explicitly): rosbridge has
 *   no access control of its own, and anyone who reaches the port commands the robot.
 * `stride bridge run --run RUN --url ws://… [--config robot.json] [--dry-run] [--json]` — connect a trained policy to a
 *   robot: check features and envelope, run the control loop with the watchdog, print
 *   `{ steps, clamped, dropped, watchdogTrips, latencyMs: { p50, p95, p99 } }` and write the latency profile that
 *   `stride eval --latency-profile FILE` replays in simulation.
 */
import type { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseOverrides } from '../sim/core/index.ts';
import { COMMAND_TYPES, TWIST_FIELDS, type CommandType, type TwistField } from '../sim/bridge/protocol.ts';
import { SimRobotServer } from '../sim/bridge/sim_robot.ts';
import { loadRobotConfig } from '../sim/bridge/robot_config.ts';
import { runBridge, type BridgePolicy } from '../sim/bridge/real_env.ts';
import { startBridge } from '../sim/bridge/session.ts';
import { saveLatencyProfile } from '../sim/bridge/latency.ts';
import type { SafetySpec } from '../sim/bridge/safety.ts';
import { CliError, action, collect, info, loadScenes, parseIntOpt, parseNumOpt, printJson } from './util.ts';

interface SimRobotOpts {
  scene: string; port: number; host: string; token?: string; insecure?: boolean; seed: number; set?: string[];
  commandType: string; twistFields?: string; autoreset: boolean; maxMessageBytes: number;
}

interface RunOpts {
  run: string; url: string; config?: string; dryRun?: boolean; json?: boolean; token?: string;
  episodes?: number; seed: number; steps?: number; seconds?: number; ctrlDt?: number; stallPeriods?: number; profileOut?: string; connectTimeout: number;
}

const tokenHelp = 'shared secret for rosbridge auth (or env STRIDE_BRIDGE_TOKEN)';

export function register(program: Command): void {
  const bridge = program.command('bridge').description('deploy a policy to a robot over rosbridge v2; rehearse against a simulated robot');

  bridge
    .command('sim-robot')
    .description('serve a scene as a rosbridge-v2 robot (joint states out, commands in) until interrupted')
    .requiredOption('--scene <id>', 'scene id (see `stride scenes`)')
    .option('--port <p>', 'TCP port (0 = any free port)', parseIntOpt('port', 0), 9090)
    .option('--host <addr>', 'interface to bind', '127.0.0.1')
    .option('--token <t>', tokenHelp)
    .option('--insecure', 'allow a non-loopback --host without --token (anyone who reaches the port can command the robot)')
    .option('--seed <s>', 'seed of the first episode (autoreset continues with seed+1, …)', parseIntOpt('seed', 0), 0)
    .option('--set <key=value>', 'scene config override (repeatable), e.g. --set ctrlDtSec=0.01', collect)
    .option('--command-type <type>', `command message type: ${COMMAND_TYPES.join(' | ')}`, 'std_msgs/Float64MultiArray')
    .option('--twist-fields <list>', `for Twist commands: comma-separated fields per action element (${TWIST_FIELDS.join(', ')})`)
    .option('--no-autoreset', 'wait for /stride/reset after an episode ends instead of starting the next one')
    .option('--max-message-bytes <n>', 'frames above this size get a status error and are dropped', parseIntOpt('max-message-bytes', 256), 65536)
    .action(action(async (opts: SimRobotOpts) => {
      if (!(COMMAND_TYPES as readonly string[]).includes(opts.commandType)) throw new CliError(`--command-type must be one of ${COMMAND_TYPES.join(', ')}`, 2);
      const twistFields = opts.twistFields?.split(',').map((s) => s.trim());
      if (twistFields && !twistFields.every((f) => (TWIST_FIELDS as readonly string[]).includes(f))) throw new CliError(`--twist-fields: each must be one of ${TWIST_FIELDS.join(', ')}`, 2);
      const token = opts.token ?? process.env.STRIDE_BRIDGE_TOKEN;
      if (!isLoopback(opts.host) && !token && !opts.insecure) {
        throw new CliError(`refusing to serve on ${opts.host} without authentication: give --token (or STRIDE_BRIDGE_TOKEN), or --insecure to accept that anyone who reaches the port commands the robot`, 2);
      }
      if (!isLoopback(opts.host) && !token) process.stderr.write(`sim-robot: WARNING --insecure: listening on ${opts.host} with no authentication\n`);
      await loadScenes();
      const server = new SimRobotServer({
        sceneId: opts.scene, overrides: parseOverrides(opts.set), host: opts.host, port: opts.port,
        token, seed: opts.seed, autoreset: opts.autoreset,
        commandType: opts.commandType as CommandType, twistFields: twistFields as TwistField[] | undefined,
        maxMessageBytes: opts.maxMessageBytes, log: (l) => process.stderr.write(`${l}\n`),
      });
      try {
        await server.start();
      } catch (e) {
        await server.close().catch(() => {});
        throw new CliError(`cannot listen on ${opts.host}:${opts.port}: ${(e as Error).message}`);
      }
      // Handlers first, then `listening`: a supervisor (or a test) may send SIGTERM the moment it reads that line, and
      // a signal that arrives before the handler exists kills the process uncleanly (seen under load).
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.stdout.write(`listening ${server.url}\n`);
      process.stderr.write(`sim-robot ${opts.scene}: joint states on ${server.topics.jointStates} (${server.stateNames.join(', ')}), `
        + `${server.commandType} commands on ${server.topics.command} (${server.actionNames.join(', ')}), ${(1 / server.env.ctrlDtSec).toFixed(1)} Hz`
        + `${opts.token ?? process.env.STRIDE_BRIDGE_TOKEN ? ', auth required' : ''}\n`);
      await stopped;
      const stats = server.getStats();
      await server.close();
      process.stderr.write(`sim-robot stopped: ${stats.ticks} ticks, ${stats.commands} commands, ${stats.missedDeadlines} missed deadlines, ${stats.rejected} rejected messages\n`);
    }));

  bridge
    .command('run')
    .description('run a trained policy on a robot over rosbridge (safety envelope, watchdog, latency profile)')
    .requiredOption('--run <dir>', 'training run (or checkpoint) directory')
    .requiredOption('--url <ws://…>', 'rosbridge server, e.g. ws://127.0.0.1:9090')
    .option('--config <robot.json>', 'robot mapping config (default: the sim-robot mapping derived from the policy features)')
    .option('--token <t>', tokenHelp)
    .option('--dry-run', 'compute and log actions, publish nothing')
    .option('--episodes <n>', 'run N robot episodes (needs the config\'s episode support, e.g. the sim-robot)', parseIntOpt('episodes', 1))
    .option('--seed <s>', 'seed of the first episode', parseIntOpt('seed', 0), 0)
    .option('--steps <n>', 'stop after N control steps', parseIntOpt('steps', 1))
    .option('--seconds <s>', 'stop after S seconds', parseNumOpt('seconds', 0, 366 * 86_400, true))
    .option('--ctrl-dt <sec>', 'control period (default: config, else measured from the observation stream)', parseNumOpt('ctrl-dt', 0, 10, true))
    .option('--stall-periods <n>', 'watchdog: observation stall limit in control periods (default: config, else 2)', parseNumOpt('stall-periods', 0, 10_000, true))
    .option('--connect-timeout <sec>', 'how long to wait for the socket, auth and the first observation', parseNumOpt('connect-timeout', 0, 3600, true), 10)
    .option('--profile-out <file>', 'where to write the latency profile (default: <run>/latency_profile.json for a run folder, else runs/bridge/latency_profile.json)')
    .option('--json', 'print JSON on stdout')
    .action(action(async (opts: RunOpts) => {
      const json = !!opts.json;
      const config = opts.config ? loadRobotConfig(opts.config) : undefined;
      const { policy, safety } = await loadRunPolicy(opts.run);
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      let session;
      try {
        session = await startBridge({
          url: opts.url, token: opts.token ?? process.env.STRIDE_BRIDGE_TOKEN, policy, manifestSafety: safety, config,
          ctrlDtSec: opts.ctrlDt, stallPeriods: opts.stallPeriods, dryRun: opts.dryRun,
          connectTimeoutSec: opts.connectTimeout,
          log: (l) => info(json, l),
        });
        info(json, `connected to ${opts.url} (${session.config.name}); control period ${(session.ctrlDtSec * 1000).toFixed(1)} ms; envelope ${JSON.stringify(session.envelope.describe())}${opts.dryRun ? '; DRY RUN' : ''}`);
        const rep = await runBridge(session.env, policy, {
          episodes: opts.episodes, seed: opts.seed, maxSteps: opts.steps, seconds: opts.seconds, signal: ac.signal,
        });
        // A training run keeps its own profile; a bare checkpoint folder (e.g. a shipped one) is left untouched.
        const profileFile = opts.profileOut ?? (existsSync(join(opts.run, 'config.json')) ? join(opts.run, 'latency_profile.json') : join('runs', 'bridge', 'latency_profile.json'));
        mkdirSync(dirname(profileFile), { recursive: true });
        if (rep.profile.obsDelayMs.length && rep.profile.actionDelayMs.length) saveLatencyProfile(profileFile, rep.profile);
        const out = {
          steps: rep.steps, clamped: rep.clamped, dropped: rep.dropped, watchdogTrips: rep.watchdogTrips,
          latencyMs: { p50: rep.latencyMs.p50, p95: rep.latencyMs.p95, p99: rep.latencyMs.p99 },
          stopReason: rep.stopReason, ...(rep.stopDetail ? { stopDetail: rep.stopDetail } : {}),
          clampedElements: rep.clampedElements, dryRun: rep.dryRun,
          ...(rep.episodes.length ? { episodes: rep.episodes.length, successRate: rep.episodes.filter((e) => e.success).length / rep.episodes.length } : {}),
          latencyProfile: rep.profile.obsDelayMs.length ? profileFile : null,
        };
        if (json) printJson(out);
        else info(false, `${out.steps} steps, ${out.clamped} clamped, ${out.dropped} dropped, ${out.watchdogTrips} watchdog trips (${out.stopReason}); latency p50 ${out.latencyMs.p50} ms p99 ${out.latencyMs.p99} ms${out.latencyProfile ? `; profile → ${out.latencyProfile}` : ''}`);
        if (rep.stopReason !== 'done' && rep.stopReason !== 'aborted') process.exitCode = 3;
      } finally {
        process.off('SIGINT', onSig);
        await session?.close();
        policy.dispose?.();
      }
    }));
}

/** Loopback interfaces (only this machine can connect). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * A trained policy and its manifest's safety envelope, through the policy core's checkpoint loader
 * (`policies/train/load.ts`: `loadPolicy(runOrCheckpointDir)`; the manifest carries `safetyEnvelope` and `sceneId`).
 */
export async function loadRunPolicy(run: string): Promise<{ policy: BridgePolicy; safety?: SafetySpec; sceneId?: string; overrides?: Record<string, unknown> }> {
  const modPath = '../policies/train/load.ts';
  let mod: { loadPolicy?: (dir: string) => unknown };
  try {
    mod = await import(modPath);
    const backend = await import('../policies/common/backend.ts');
    await backend.initBackend();
  } catch (e) {
    throw new CliError(`cannot load the policy core (${(e as Error).message.split('\n')[0]})`);
  }
  if (!mod.loadPolicy) throw new CliError('the policy core has no loadPolicy()');
  const p = (await mod.loadPolicy(run)) as BridgePolicy & { manifest?: Record<string, unknown> };
  const m = (p.manifest ?? {}) as { safetyEnvelope?: SafetySpec; safety?: SafetySpec; sceneId?: string; overrides?: Record<string, unknown> };
  return { policy: p, safety: m.safetyEnvelope ?? m.safety, sceneId: m.sceneId, overrides: m.overrides };
}
