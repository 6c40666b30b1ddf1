/**
 * `stride quickstart --no-view` (the `npm start` pipeline) end to end with a tiny budget: demos → BC training →
 * evaluation recorded to MCAP, JSON summary on stdout; the trained policy's loss fell and it beats the zero policy on
 * the same evaluation seeds (success and return).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readRecording } from '../../sim/data/replay.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'stride.js');
const work = mkdtempSync(join(tmpdir(), 'stride-quickstart-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('stride quickstart --no-view', () => {
  it('trains, evaluates and records a default policy, and prints a summary', async () => {
    const out = join(work, 'qs');
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      const c = spawn(process.execPath, [BIN, 'quickstart', '--out', out, '--demos', '8', '--steps', '300', '--episodes', '4', '--no-view', '--json'], { cwd: work });
      let so = '', se = '';
      c.stdout.on('data', (d) => { so += String(d); });
      c.stderr.on('data', (d) => { se += String(d); });
      c.once('exit', (k) => res({ code: k, stdout: so, stderr: se }));
    });
    expect(code, stderr.slice(-800)).toBe(0);
    const summary = JSON.parse(stdout) as { recording: string; run: string; successRate: number; returnMean: number; ci95: [number, number]; episodes: number };
    expect(summary.episodes).toBe(4);
    expect(summary.ci95[0]).toBeLessThanOrEqual(summary.successRate);
    expect(summary.ci95[1]).toBeGreaterThanOrEqual(summary.successRate);
    // Training did something: the loss fell, and the policy beats the zero policy on the same evaluation seeds.
    const rows = readFileSync(join(summary.run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>)
      .filter((r) => typeof r['losses/loss'] === 'number');
    expect(rows.length).toBeGreaterThan(2);
    expect(rows[rows.length - 1]!['losses/loss']!).toBeLessThan(0.5 * rows[0]!['losses/loss']!);
    const zero = await new Promise<string>((res) => {
      const c = spawn(process.execPath, [BIN, 'rollout', '--scene', 'toy/point_reach', '--policy', 'zero', '--episodes', '4', '--seed', '1000', '--json'], { cwd: work });
      let so = '';
      c.stdout.on('data', (d) => { so += String(d); });
      c.once('exit', () => res(so));
    });
    const zeroEps = (JSON.parse(zero) as { episodes: { success: boolean; return: number }[] }).episodes;
    const zeroSuccess = zeroEps.filter((e) => e.success).length / zeroEps.length;
    const zeroReturn = zeroEps.reduce((a, e) => a + e.return, 0) / zeroEps.length;
    expect(summary.successRate).toBeGreaterThan(zeroSuccess);
    expect(summary.returnMean).toBeGreaterThan(zeroReturn);
    expect(stderr).toContain('[3/4] evaluate');
    const rec = await readRecording(summary.recording);
    expect(rec.meta.sceneId).toBe('toy/point_reach');
    expect(rec.meta.policy).toBe(summary.run);
    expect(rec.episodes).toHaveLength(4);
    expect(rec.episodes[0]!.steps.length).toBeGreaterThan(0);
  }, 240_000);
});
