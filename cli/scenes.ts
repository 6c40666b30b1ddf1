/** `stride scenes [--json]`: list registered scenes with their observation and action features. */
import type { Command } from 'commander';
import { listScenes } from '../sim/core/registry.ts';
import { action, loadScenes, printJson } from './util.ts';

export function register(program: Command): void {
  program
    .command('scenes')
    .description('list the registered scenes')
    .option('--json', 'print JSON on stdout')
    .action(action(async (opts: { json?: boolean }) => {
      await loadScenes();
      const rows = listScenes().map((s) => {
        const cfg = s.defaultConfig();
        const f = s.features(cfg);
        return {
          id: s.id, family: s.family, description: s.description, ctrlDtSec: cfg.ctrlDtSec, simDtSec: cfg.simDtSec, maxSteps: cfg.maxSteps,
          hasExpert: !!s.expert,
          observation: Object.fromEntries(Object.entries(f.observation).map(([k, v]) => [k, v.shape])),
          action: Object.fromEntries(Object.entries(f.action).map(([k, v]) => [k, v.shape])),
        };
      });
      if (opts.json) return printJson({ scenes: rows });
      for (const r of rows) {
        const obs = Object.entries(r.observation).map(([k, s]) => `${k}[${s.join('×')}]`).join(' ');
        process.stdout.write(`${r.id.padEnd(24)} ${r.description}\n${''.padEnd(24)} obs: ${obs}  action: [${Object.values(r.action)[0]?.join('×')}]  ${Math.round(1 / r.ctrlDtSec)} Hz control, ${Math.round(1 / r.simDtSec)} Hz physics${r.hasExpert ? ', scripted expert' : ''}\n`);
      }
    }));
}
