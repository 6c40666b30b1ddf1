/**
 * `stride experiment beso --quick` end to end with an even smaller budget: the results file is well formed (claims,
 * arms, Wilson intervals, seeds, episode counts, provenance), the markdown exists, and a second run resumes from the
 * cached cells with identical numbers. Never checks the claims themselves.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { STRIDE, ROOT } from '../helpers.ts';

/** The real CLI in a child process, asynchronously (a long spawnSync would starve vitest's worker RPC). */
function stride(argv: string[], opts: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [STRIDE, ...argv], { cwd: ROOT });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    c.on('close', (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr }); });
  });
}

const tmp = mkdtempSync(path.join(tmpdir(), 'beso-exp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = ['dataEpisodes=6', 'trainSteps=8', 'batchSize=16', 'width=16', 'depth=1', 'seeds=1', 'evalEpisodes=3', 'modeRollouts=3', 'evalMaxSteps=12', 'dpLongSteps=12', 'workers=2'];
const args = ['experiment', 'beso', '--quick', '--json', '--out', path.join(tmp, 'results'), '--cache', path.join(tmp, 'cache'), ...TINY.flatMap((b) => ['--budget', b])];

describe('stride experiment beso --quick', () => {
  it('writes a well-formed results file and resumes from cached cells', async () => {
    const r = await stride(args, { timeoutMs: 400_000 });
    expect(r.stderr).not.toMatch(/stride: /);
    expect(r.code).toBe(0);
    const file = path.join(tmp, 'results', 'beso.json');
    expect(existsSync(file)).toBe(true);
    expect(existsSync(path.join(tmp, 'results', 'beso.md'))).toBe(true);
    const res = JSON.parse(readFileSync(file, 'utf8'));
    expect(JSON.parse(r.stdout)).toEqual(res);
    expect(res.mode).toBe('quick');
    expect(res.command).toContain('experiment beso --quick');
    expect(typeof res.commit).toBe('string');
    expect(['wasm', 'cpu', 'tensorflow']).toContain(res.backend);
    expect(res.wallSec).toBeGreaterThan(0);
    expect(res.budget.trainSteps).toBe(8);
    expect(res.protocol.evaluation.seeds[0]).toBeGreaterThanOrEqual(res.protocol.data.seeds[1] + 1); // held out

    const claims = res.claims as { id: string; statement: string; paperValue: string; measured: number; ci95: number[]; target: string; met: boolean }[];
    expect(claims.map((c) => c.id)).toEqual(['three-steps-vs-thirty', 'three-steps-vs-ddpm', 'beso-both-modes', 'bc-averages-or-collapses', 'guidance-raises-goal-success', 'play-policy-completes-tasks']);
    for (const c of claims) {
      expect(c.statement.length).toBeGreaterThan(10);
      expect(typeof c.paperValue).toBe('string');
      expect(Number.isFinite(c.measured)).toBe(true);
      expect(c.ci95).toHaveLength(2);
      expect(c.ci95[0]).toBeLessThanOrEqual(c.ci95[1]!);
      expect(typeof c.target).toBe('string');
      expect(typeof c.met).toBe('boolean');
    }
    const want = ['beso/ddim-1', 'beso/ddim-2', 'beso/ddim-3', 'beso/ddim-5', 'beso/ddim-10', 'beso/ddim-30', 'beso/euler-3', 'beso/heun-3',
      'beso/lambda-0', 'beso/lambda-0.5', 'beso/lambda-1', 'beso/lambda-1.5', 'beso/lambda-2', 'beso/lambda-3', 'dp/ddim-10', 'dp/ddim-12', 'bc'];
    for (const arm of want) {
      const a = res.arms[arm];
      expect(a, arm).toBeDefined();
      for (const k of ['goalSuccess', 'anyTask']) {
        expect(a[k].n).toBe(3);
        expect(a[k].k).toBeGreaterThanOrEqual(0);
        expect(a[k].k).toBeLessThanOrEqual(3);
        expect(a[k].ci95[0]).toBeGreaterThanOrEqual(0);
        expect(a[k].ci95[1]).toBeLessThanOrEqual(1);
        expect(a[k].ci95[0]).toBeLessThanOrEqual(a[k].rate);
        expect(a[k].ci95[1]).toBeGreaterThanOrEqual(a[k].rate);
      }
      // success implies a zone was reached
      expect(a.goalSuccess.k).toBeLessThanOrEqual(a.anyTask.k);
      expect(a.goalSuccessPerSeed).toHaveLength(1);
    }
    for (const probe of ['beso/probe', 'dp/probe', 'bc/probe']) {
      const m = res.arms[probe].modes;
      expect(m.left.n).toBe(3);
      expect(m.left.k + m.right.k + m.none.k).toBe(3);
      expect(m.entropyNats).toBeGreaterThanOrEqual(0);
      expect(m.entropyNats).toBeLessThanOrEqual(Math.log(2) + 1e-9);
    }
    expect(res.dataModes.middleZoneFirst.episodes).toBeGreaterThanOrEqual(0);
    expect(res.cells).toHaveLength(3);
    // the floor flag is computed from the arms' goal success, and the verdict says so when it is set
    const best = Math.max(...want.map((arm) => res.arms[arm].goalSuccess.rate));
    expect(res.goalFloor.bestRate).toBe(best);
    expect(res.goalFloor.atFloor).toBe(best < res.goalFloor.thresholdRate);
    expect(readFileSync(file.replace(/\.json$/, '.md'), 'utf8').includes('are not decided by this run')).toBe(res.goalFloor.atFloor);

    // --- resume: every cell is cached, same numbers ---
    const r2 = await stride(args, { timeoutMs: 200_000 });
    expect(r2.code).toBe(0);
    expect(r2.stderr).toMatch(/3 cells \(3 cached\)/);
    const res2 = JSON.parse(readFileSync(file, 'utf8'));
    expect(res2.arms).toEqual(res.arms);
    expect(res2.claims).toEqual(res.claims);
  }, 600_000);

  const ARM_SCENES = [
    { id: 'manip/play', name: 'beso-manip-play', actionDim: 5 },
    { id: 'manip/push_play', name: 'beso-push-play', actionDim: 4 },
  ];
  for (const sc of ARM_SCENES) {
    it(`--scene ${sc.id}: the same pipeline on the arm (state + object inputs, 4-D goals, reduced arm set) → ${sc.name}.*`, async () => {
      const out = path.join(tmp, `results-${sc.name}`);
      const m = ['experiment', 'beso', '--scene', sc.id, '--quick', '--json', '--out', out, '--cache', path.join(tmp, 'cache'),
        ...[...TINY.filter((b) => !b.startsWith('dpLongSteps')), 'reducedArms=1'].flatMap((b) => ['--budget', b])];
      const r = await stride(m, { timeoutMs: 400_000 });
      expect(r.stderr).not.toMatch(/stride: /);
      expect(r.code).toBe(0);
      const res = JSON.parse(readFileSync(path.join(out, `${sc.name}.json`), 'utf8'));
      expect(existsSync(path.join(out, `${sc.name}.md`))).toBe(true);
      expect(existsSync(path.join(out, 'beso.json'))).toBe(false);
      expect(res.scene).toBe(sc.id);
      expect(res.protocol.inputs).toEqual(['observation.state', 'observation.object']);
      expect(res.protocol.evaluation.seeds[0]).toBeGreaterThanOrEqual(res.protocol.data.seeds[1] + 1);
      // The study's env overrides (e.g. push_play's cartesian actions) reach the data: its action width says which space.
      const info = JSON.parse(readFileSync(path.join(res.cacheDir, '..', `data-${res.budget.dataEpisodes}`, 'meta', 'info.json'), 'utf8'));
      expect(info.features.action.shape).toEqual([sc.actionDim]);
      expect(Object.keys(res.arms).sort()).toEqual(['bc', 'bc/probe', 'beso/ddim-3', 'beso/ddim-30', 'beso/lambda-0', 'beso/lambda-1', 'beso/lambda-2', 'beso/probe', 'dp/ddim-10', 'dp/probe']);
      for (const a of Object.values(res.arms) as { goalSuccess: { k: number; n: number }; anyTask: { k: number }; partialGoal: { k: number; n: number } }[]) {
        expect(a.goalSuccess.n).toBe(3);
        expect(a.goalSuccess.k).toBeLessThanOrEqual(a.anyTask.k); // goal success needs both blocks placed
        // half the goal (one block in its own zone) lies between the two: full success ⊂ partial ⊂ any block placed
        expect(a.partialGoal.n).toBe(3);
        expect(a.goalSuccess.k).toBeLessThanOrEqual(a.partialGoal.k);
        expect(a.partialGoal.k).toBeLessThanOrEqual(a.anyTask.k);
      }
      // the split by goal kind (straight / crossed assignment) partitions every evaluation arm's episodes
      for (const [name, a] of Object.entries(res.arms) as [string, { goalSuccess: { k: number; n: number }; byGoalVariant?: { goalSuccess: { k: number; n: number }; anyTask: { k: number } }[] }][]) {
        if (name.endsWith('/probe')) { expect(a.byGoalVariant).toBeUndefined(); continue; }
        expect(a.byGoalVariant).toHaveLength(2);
        expect(a.byGoalVariant!.reduce((s, v) => s + v.goalSuccess.n, 0)).toBe(a.goalSuccess.n);
        expect(a.byGoalVariant!.reduce((s, v) => s + v.goalSuccess.k, 0)).toBe(a.goalSuccess.k);
      }
      for (const probe of ['beso/probe', 'dp/probe', 'bc/probe']) {
        const md = res.arms[probe].modes;
        expect(md.left.k + md.right.k + md.none.k).toBe(3);
      }
      expect(res.protocol.probe.seeds[0]).toBe(res.protocol.probe.seeds[1]); // fixed start: one seed for every rollout
      expect(res.claims).toHaveLength(6);
      for (const c of res.claims) expect(Number.isFinite(c.measured)).toBe(true);
    }, 600_000);
  }

  it('rejects an unsupported --scene with a one-line error', async () => {
    const bad = await stride(['experiment', 'beso', '--scene', 'bogus/x', '--quick', '--out', path.join(tmp, 'z'), '--cache', path.join(tmp, 'z')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^stride: experiment beso: unsupported --scene 'bogus\/x'/);
  });

  it('rejects an unknown experiment and a bad budget key with one-line errors', async () => {
    const a = await stride(['experiment', 'nope']);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/^stride: unknown experiment 'nope'/);
    const b = await stride(['experiment', 'beso', '--quick', '--budget', 'bogus=3', '--out', path.join(tmp, 'x'), '--cache', path.join(tmp, 'y')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/^stride: --budget bogus=3/);
  });
});
