/**
 * `stride quickstart --no-view` (the `npm start` pipeline) end to end with a tiny budget: demos → BC training →
 * evaluation recorded to MCAP, JSON summary on stdout.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
      const c = spawn(process.execPath, [BIN, 'quickstart', '--out', out, '--demos', '4', '--steps', '30', '--episodes', '2', '--no-view', '--json'], { cwd: work });
      let so = '', se = '';
      c.stdout.on('data', (d) => { so += String(d); });
      c.stderr.on('data', (d) => { se += String(d); });
      c.once('exit', (k) => res({ code: k, stdout: so, stderr: se }));
    });
    expect(code, stderr.slice(-800)).toBe(0);
    const summary = JSON.parse(stdout) as { recording: string; run: string; successRate: number; ci95: [number, number]; episodes: number };
    expect(summary.episodes).toBe(2);
    expect(summary.successRate).toBeGreaterThanOrEqual(0);
    expect(summary.successRate).toBeLessThanOrEqual(1);
    expect(summary.ci95[0]).toBeLessThanOrEqual(summary.successRate);
    expect(existsSync(join(summary.run, 'metrics.jsonl'))).toBe(true);
    expect(stderr).toContain('[3/4] evaluate');
    const rec = await readRecording(summary.recording);
    expect(rec.meta.sceneId).toBe('toy/point_reach');
    expect(rec.meta.policy).toBe(summary.run);
    expect(rec.episodes).toHaveLength(2);
    expect(rec.episodes[0]!.steps.length).toBeGreaterThan(0);
  }, 240_000);
});
