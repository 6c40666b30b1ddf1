/**
 * `stride replay FILE.mcap [--verify] [--json]`
 * Without --verify: a summary of the recording (scene, policy, episodes with seed/length/return/success).
 * With --verify: re-simulates every episode and compares the state hash after every step →
 * `{ "verified": true|false, "steps": n, "episodes": k, "firstMismatch": null | { episode, step, expected, actual }, "engineVersion": {…} }`;
 * exit code 1 when not verified (`step` −1 = the state right after reset).
 * A recording whose writer was killed (no footer) is read up to its last complete record: one line on stderr says it
 * was cut and where, and the JSON carries `cut: { atByte, fileBytes, episode, steps }`.
 */
import type { Command } from 'commander';
import { readRecording, verifyRecording, type Recording } from '../sim/data/replay.ts';
import { action, info, loadScenes, printJson, Progress } from './util.ts';

interface ReplayOpts { verify?: boolean; json?: boolean }

export function register(program: Command): void {
  program
    .command('replay')
    .description('inspect an MCAP recording, or re-simulate it and check every step\'s state hash (--verify)')
    .argument('<file>', 'recording written by `stride rollout --record`')
    .option('--verify', 're-simulate and compare state hashes step by step')
    .option('--json', 'print JSON on stdout')
    .action(action(async (file: string, opts: ReplayOpts) => {
      if (opts.verify) {
        await loadScenes();
        let bar: Progress | null = null, lastEp = -1;
        const r = await verifyRecording(file, {
          allowCut: true,
          onProgress: (done, total, ep) => {
            bar ??= new Progress('verify', total, 'steps');
            // Plain lines (no terminal): one per episode reached.
            bar.tick(done, ep !== lastEp ? `verifying episode ${ep} (${done}/${total} steps)` : undefined);
            lastEp = ep;
          },
        }).finally(() => bar?.stop());
        if (r.cut) sayCut(file, r.cut);
        if (opts.json) printJson(r);
        else if (r.verified) info(false, `verified: ${r.steps} steps over ${r.episodes} episodes reproduce their state hashes`);
        else {
          const m = r.firstMismatch!;
          info(false, `NOT verified: episode ${m.episode} ${m.step < 0 ? 'initial state' : `step ${m.step}`} hash ${m.actual.slice(0, 12)}… ≠ recorded ${m.expected.slice(0, 12)}… (after ${r.steps} steps; engine recorded ${r.engineVersion.recorded}, replayed ${r.engineVersion.replayed})`);
        }
        if (!r.verified) process.exitCode = 1;
        return;
      }
      const rec = await readRecording(file, { allowCut: true });
      if (rec.cut) sayCut(file, rec.cut);
      const out = {
        file, sceneId: rec.meta.sceneId, policy: rec.meta.policy, overrides: rec.meta.overrides, engineVersion: rec.meta.engineVersion,
        command: rec.meta.command, parent: rec.meta.parent,
        ...(rec.cut ? { cut: rec.cut } : {}),
        episodes: rec.episodes.map((e) => ({
          seed: e.seed, steps: e.steps.length, return: e.summary?.return ?? null, success: e.summary?.success ?? null, reason: e.summary?.reason ?? null,
        })),
      };
      if (opts.json) return printJson(out);
      info(false, `${file}: ${out.sceneId}, policy ${out.policy}, ${out.episodes.length} episodes (${rec.meta.engineVersion})`);
      out.episodes.forEach((e, i) => info(false, `  episode ${i} seed ${e.seed}: ${e.steps} steps, return ${e.return?.toFixed(3) ?? '?'}, success ${e.success ?? '?'} (${e.reason ?? 'incomplete'})`));
    }));
}

/** One line on stderr: the recording ends without its footer (a killed writer), and where its readable part ends. */
function sayCut(file: string, c: NonNullable<Recording['cut']>): void {
  process.stderr.write(`stride replay: ${file} was cut at byte ${c.atByte} of ${c.fileBytes} (the writer stopped before finishing it): readable up to episode ${c.episode} step ${c.steps}\n`);
}
