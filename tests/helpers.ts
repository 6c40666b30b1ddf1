/** Test helpers: run the real CLI in a child process. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STRIDE = fileURLToPath(new URL('../bin/stride.js', import.meta.url));

export function stride(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [STRIDE, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
