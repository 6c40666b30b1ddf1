#!/usr/bin/env node
/**
 * `npm run test:load`: run the whole test suite while a CPU burner keeps every core busy, and pass only if the suite
 * passes. This is the proof that no test depends on a quiet machine (timing assertions, fixed sleeps, watchdogs).
 *
 * Config (environment variables):
 * - STRIDE_LOAD_BURNERS: how many busy-loop processes to start (default: one per core).
 * - extra arguments are passed to `vitest run` (e.g. `npm run test:load -- tests/bridge`).
 *
 * The burners are plain `node -e 'for(;;){}'` processes at the same priority as the suite (run the whole thing under
 * `nice` to be kind to other work on the machine: burners and suite then compete with each other, as under real
 * contention). They are killed by pid when the suite ends, whatever the outcome.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';

const burnersWanted = Number(process.env.STRIDE_LOAD_BURNERS ?? (os.availableParallelism?.() ?? os.cpus().length));
const burners = [];
for (let i = 0; i < burnersWanted; i++) {
  burners.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
}
const stopBurners = () => { for (const b of burners) { try { b.kill('SIGKILL'); } catch { /* already gone */ } } };
process.on('exit', stopBurners);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopBurners(); process.exit(130); });

console.log(`test:load: ${burners.length} CPU burner(s) running (pids ${burners.map((b) => b.pid).join(', ')})`);
const t0 = Date.now();
const vitest = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
vitest.on('exit', (code, signal) => {
  stopBurners();
  console.log(`test:load: suite ${code === 0 ? 'passed' : 'FAILED'} under load in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  process.exit(code ?? (signal ? 1 : 0));
});
