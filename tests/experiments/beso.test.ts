/**
 * `stride experiment beso --quick` (the Block-Push study) end to end with an even smaller budget: the results file
 * is the study schema; the floor guard names its three validation arms; every arm of a model seed ran on that seed's
 * own starts (paired), different seeds on disjoint starts; the splits are disjoint; every claim is true|false|null.
 * Never checks the claims themselves.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { STRIDE, ROOT } from '../helpers.ts';

function stride(argv: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [STRIDE, ...argv], { cwd: ROOT });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr }); });
  });
}

const tmp = mkdtempSync(path.join(tmpdir(), 'beso-bp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = ['dataEpisodes=6', 'trainSteps=8', 'batchSize=16', 'width=16', 'depth=1', 'seeds=2', 'evalEpisodes=3', 'guardEpisodes=3', 'modeRollouts=3', 'capFactor=1', 'dpLongSteps=12', 'workers=2'];

describe('stride experiment beso --quick (Block-Push)', () => {
  it('writes a study-schema results file with the guard, paired starts and disjoint splits', async () => {
    const r = await stride(['experiment', 'beso', '--quick', '--out', path.join(tmp, 'results'), '--cache', path.join(tmp, 'cache'), ...TINY.flatMap((b) => ['--budget', b])], 500_000);
    expect(r.stderr).not.toMatch(/stride: /);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(tmp, 'results', 'beso.md'))).toBe(true);
    const res = JSON.parse(readFileSync(path.join(tmp, 'results', 'beso.json'), 'utf8'));
    expect(res.schema).toBe('stride.study/1');
    expect(res.mode).toBe('quick');
    expect(res.protocol.title).toMatch(/block_push/);
    // disjoint splits
    const sp = res.protocol.splits, ranges = [sp.train, sp.validation, sp.heldOut] as { start: number; count: number }[];
    for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) expect(ranges[i]!.start + ranges[i]!.count <= ranges[j]!.start || ranges[j]!.start + ranges[j]!.count <= ranges[i]!.start).toBe(true);
    // floor guard: three validation arms, the best decides
    expect(Object.keys(res.floorGuard.perArm).sort()).toEqual(['bc/guard', 'beso/guard', 'dp/guard']);
    expect(res.floorGuard.metric).toBe('result');
    expect(res.floorGuard.minRate).toBe(0.5);
    expect(res.floorGuard.split).toBe('validation');
    expect(typeof res.floorGuard.passed).toBe('boolean');
    // claims: ids fixed, met in {true, false, null}; null for all when the guard failed
    expect(res.claims.map((c: { id: string }) => c.id)).toEqual(['three-vs-thirty', 'beso-vs-ddpm', 'both-modes', 'guidance', 'play-policy', 'absolute-level']);
    for (const c of res.claims) {
      expect([true, false, null]).toContain(c.met);
      if (!res.floorGuard.passed) expect(c.met).toBeNull();
    }
    // paired starts: within a seed every arm of a split ran on the same starts; seeds never share one
    const runs = res.runs as { arm: string; seedIndex: number; episodes: { start: number; result: number; reward: number }[] }[];
    const armSplit = Object.fromEntries(res.protocol.arms.map((a: { id: string; split?: string; episodesPerSeed?: number }) => [a.id, `${a.split ?? 'heldOut'}/${a.episodesPerSeed ?? res.protocol.episodesPerSeed}`]));
    const startsBy = new Map<string, string>();
    for (const run of runs) {
      const key = `${armSplit[run.arm]}#${run.seedIndex}`, s = JSON.stringify(run.episodes.map((e) => e.start));
      if (startsBy.has(key)) expect(s).toBe(startsBy.get(key));
      else startsBy.set(key, s);
      for (const e of run.episodes) { expect([0, 0.5, 1]).toContain(e.result); expect([0, 0.5, 1]).toContain(e.reward); }
    }
    const held = runs.filter((x) => x.arm === 'beso/ddim-3');
    expect(held).toHaveLength(2);
    const s0 = new Set(held[0]!.episodes.map((e) => e.start));
    expect(held[1]!.episodes.some((e) => s0.has(e.start))).toBe(false);
    expect(held[0]!.episodes[0]!.start).toBe(sp.heldOut.start);
    expect(res.prepared.evalMaxSteps).toBe(res.prepared.maxDemoLength);
  }, 600_000);
});
