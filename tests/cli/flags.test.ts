/**
 * Bad input on the command line: every numeric flag of every subcommand, found by walking the real `stride` program,
 * refuses out-of-range and wrong-typed values with one line on stderr (in process, through commander's real parser);
 * then the real CLI in child processes, for the inputs issue 23 found accepted — an episode count beyond 2^53, a
 * batch larger than the dataset, config fields out of range, NaN in a dataset column, a checkpoint from another
 * scene, a sim-robot on a public interface without a token — each one line, non-zero exit, no stack trace, nothing
 * half-written.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command, Option } from 'commander';
import { buildProgram } from '../../cli/index.ts';
import type { NumericFlag } from '../../cli/util.ts';
import { readNpy, writeNpy } from '../../sim/data/npy.ts';
import { SimRobotServer } from '../../sim/bridge/sim_robot.ts';
import { loadScenes } from '../bridge/helpers.ts';
import { ROOT, STRIDE, strideAsync as stride, type CliResult } from '../helpers.ts';

/** Every (command path, option) whose parser is a numeric flag parser. */
function numericFlags(cmd: Command, prefix: string[] = []): { path: string[]; flag: string; numeric: NumericFlag }[] {
  const out: { path: string[]; flag: string; numeric: NumericFlag }[] = [];
  for (const sub of cmd.commands) {
    const p = [...prefix, sub.name()];
    for (const o of sub.options as Option[]) {
      const numeric = (o.parseArg as unknown as { numeric?: NumericFlag } | undefined)?.numeric;
      if (numeric) out.push({ path: p, flag: o.long!, numeric });
    }
    out.push(...numericFlags(sub, p));
  }
  return out;
}

function badValues(n: NumericFlag): string[] {
  const v = ['abc', '', 'NaN', 'Infinity', '1e400', '99999999999999999999'];
  v.push(String(n.exclusiveMin ? n.min : n.min - 1));
  if (n.max < Number.MAX_SAFE_INTEGER) v.push(String(n.max * 2 + 1));
  if (n.int) v.push('1.5', '0x10');
  return v;
}

function oneLine(r: CliResult, re: RegExp): void {
  expect(r.code, r.stderr).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
}

describe('every numeric flag of every subcommand', () => {
  it('refuses out-of-range and wrong-typed values with one line naming the flag', async () => {
    const flags = numericFlags(await buildProgram());
    // The commands that take numbers: a new numeric flag joins this test by using parseIntOpt/parseNumOpt.
    expect(new Set(flags.map((f) => f.path.join(' ')))).toEqual(new Set([
      'rollout', 'demos', 'motions', 'train', 'eval', 'view', 'bridge sim-robot', 'bridge run', 'quickstart', 'worker',
      'bench sim', 'bench bridge', 'bench rfs', 'bench infer', 'bench train', 'bench view', 'bench record',
    ]));
    expect(flags.length).toBeGreaterThan(40);
    let checked = 0;
    for (const { path: p, flag, numeric } of flags) {
      for (const bad of badValues(numeric)) {
        let err = '';
        const program = await buildProgram([p[0]!], (q) => { q.exitOverride(); q.configureOutput({ writeErr: (s) => { err += s; }, writeOut: () => {} }); });
        await expect(program.parseAsync(['node', 'stride', ...p, `${flag}=${bad}`]), `${p.join(' ')} ${flag}=${bad}`).rejects.toMatchObject({ code: 'commander.invalidArgument' });
        expect(err.trim().split('\n'), `${p.join(' ')} ${flag}=${bad}`).toHaveLength(1);
        expect(err, `${p.join(' ')} ${flag}=${bad}`).toContain(flag);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });
});

describe('the real CLI refuses what issue 23 found accepted', { timeout: 400_000 }, () => {
  let dir: string;
  let data: string;
  let run: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'stride-flags-'));
    data = path.join(dir, 'demos');
    run = path.join(dir, 'run');
    const d = await stride(['demos', '--scene', 'toy/point_reach', '--episodes', '3', '--out', data]);
    expect(d.code, d.stderr).toBe(0);
    const t = await stride(['train', '--method', 'bc', '--scene', 'toy/point_reach', '--data', data, '--steps', '2', '--batch', '16', '--config', 'hidden=[8]', '--out', run]);
    expect(t.code, t.stderr).toBe(0);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('one line for each bad value, nothing half-written', async () => {
    const out = (n: string) => path.join(dir, n);
    const train = (name: string, ...extra: string[]) => stride(['train', '--method', 'bc', '--scene', 'toy/point_reach', '--data', data, '--steps', '2', '--out', out(name), ...extra]);
    const [episodes, batch, hidden, distractorsLow, distractorsHigh, inferSteps, proto] = await Promise.all([
      stride(['rollout', '--scene', 'toy/point_reach', '--policy', 'zero', '--episodes', '99999999999999999999']),
      train('batch', '--batch', '100000'),
      train('hidden', '--config', 'hidden=[0]'),
      stride(['rollout', '--scene', 'manip/push_block', '--policy', 'zero', '--set', 'shift.distractors=-3']),
      stride(['rollout', '--scene', 'manip/push_block', '--policy', 'zero', '--set', 'shift.distractors=1000000']),
      stride(['train', '--method', 'diffusion', '--scene', 'toy/point_reach', '--data', data, '--steps', '2', '--out', out('infer'), '--config', 'inferSteps=100000']),
      stride(['rollout', '--scene', 'toy/point_reach', '--policy', 'zero', '--set', 'toString=1']),
    ]);
    oneLine(episodes, /--episodes must be an integer ≥ 1 \(at most 9007199254740991\)/);
    oneLine(batch, /batch size 100000 is out of range \[1, 256\]: the dataset has \d+ frames/);
    oneLine(hidden, /hidden\[0\] = 0 is out of range \[1, 4096\]/);
    oneLine(distractorsLow, /shift\.distractors = -3 is out of range \[0, 32\]/);
    oneLine(distractorsHigh, /shift\.distractors = 1000000 is out of range \[0, 32\]/);
    oneLine(inferSteps, /inferSteps = 100000 is out of range \[1, 1000\]/);
    oneLine(proto, /unknown option 'toString'/);
    for (const n of ['batch', 'hidden', 'infer']) expect(existsSync(out(n)), n).toBe(false);
  });

  it('NaN/Inf in a dataset column: the loader names the column, the count and the first frames', async () => {
    const bad = path.join(dir, 'nan-demos');
    const d = await stride(['demos', '--scene', 'toy/point_reach', '--episodes', '2', '--out', bad]);
    expect(d.code, d.stderr).toBe(0);
    const file = path.join(bad, 'data', 'observation.state.npy');
    const a = readNpy(file);
    const f32 = a.data as Float32Array;
    const per = a.shape[1]!;
    f32[3 * per + 1] = Number.NaN; f32[7 * per] = Number.POSITIVE_INFINITY; f32[7 * per + 2] = Number.NaN;
    writeNpy(file, f32, a.shape);
    const r = await stride(['train', '--method', 'bc', '--scene', 'toy/point_reach', '--data', bad, '--steps', '2', '--out', path.join(dir, 'nan-run')]);
    oneLine(r, /column 'observation\.state' has 3 non-finite values \(NaN\/Inf\), first at frames 3, 7/);
    expect(existsSync(path.join(dir, 'nan-run'))).toBe(false);
  });

  it('a checkpoint trained on one scene is refused on another before any episode (eval, eval --envs 1, rollout, bridge run)', async () => {
    const rec = path.join(dir, 'mismatch.mcap');
    const [e, e1, r] = await Promise.all([
      stride(['eval', '--run', run, '--scene', 'toy/zone_play', '--episodes', '2']),
      stride(['eval', '--run', run, '--scene', 'toy/zone_play', '--episodes', '2', '--envs', '1']),
      stride(['rollout', '--scene', 'toy/zone_play', '--policy', run, '--record', rec]),
    ]);
    const re = /policy bc \(trained on toy\/point_reach\) does not fit scene toy\/zone_play: 'observation\.state' shape \[\d+\] in the scene, \[6\] in the policy/;
    oneLine(e, re);
    oneLine(e1, re);
    oneLine(r, re);
    expect(e.stdout + e1.stdout).not.toMatch(/episode 0/);
    expect(existsSync(rec)).toBe(false);
    // bridge run: the robot (a sim-robot of toy/zone_play) does not publish the joints the policy reads.
    await loadScenes();
    const robot = new SimRobotServer({ sceneId: 'toy/zone_play' });
    await robot.start();
    try {
      let commands = 0;
      robot.onCommand = () => { commands++; };
      const b = await stride(['bridge', 'run', '--run', run, '--url', robot.url, '--episodes', '1', '--connect-timeout', '60']);
      oneLine(b, /(joint-name|feature) mismatch.*the policy (needs|reads)( joints)? \[x, z, vx, vz, dx_goal, dz_goal\].*missing/);
      expect(commands).toBe(0); // refused before any command was sent
    } finally {
      await robot.close();
    }
  });

  it('bridge sim-robot on a non-loopback interface needs --token or an explicit --insecure', async () => {
    oneLine(await stride(['bridge', 'sim-robot', '--scene', 'toy/point_reach', '--host', '0.0.0.0', '--port', '0']), /refusing to serve on 0\.0\.0\.0 without authentication: give --token/);
    // --insecure: it listens (warning on stderr); stopped by SIGTERM once it says where.
    const child = spawn(process.execPath, [STRIDE, 'bridge', 'sim-robot', '--scene', 'toy/point_reach', '--host', '0.0.0.0', '--port', '0', '--insecure'], { cwd: ROOT });
    let stdout = '', stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => { stdout += d; if (stdout.includes('listening ')) resolve(); });
      child.once('exit', (c) => reject(new Error(`exited ${c}: ${stderr}`)));
    });
    expect(stdout).toMatch(/listening ws:\/\/0\.0\.0\.0:\d+/);
    expect(stderr).toMatch(/WARNING --insecure/);
    const code = await new Promise<number | null>((resolve) => { child.removeAllListeners('exit'); child.once('exit', (c) => resolve(c)); child.kill('SIGTERM'); });
    expect(code).toBe(0);
  });
});
