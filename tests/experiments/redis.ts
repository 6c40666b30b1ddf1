/**
 * Test helpers for the queue: a real redis-server on a free loopback port (its own temp dir, no persistence), and
 * real `stride worker` processes. `.ci/run` installs redis-server from Debian when it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ROOT, STRIDE } from '../helpers.ts';

/** A free TCP port on 127.0.0.1 (nothing listens on it when this returns). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
  });
}

export interface TestRedis { port: number; url: (db?: number) => string; stop(): Promise<void> }

/** Start redis-server on a free loopback port; `password` turns on requirepass. */
export async function startRedis(o: { password?: string } = {}): Promise<TestRedis> {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server is not installed (apt-get install -y redis-server; .ci/run does it)');
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'stride-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...(o.password ? ['--requirepass', o.password] : [])], { stdio: 'ignore' });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const auth = o.password ? `:${o.password}@` : '';
  const c = new Redis({ host: '127.0.0.1', port, password: o.password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  c.on('error', () => {});
  for (let i = 0; ; i++) {
    try { await c.connect(); await c.ping(); break; } catch (e) {
      if (i > 200 || proc.exitCode !== null) { proc.kill('SIGKILL'); throw new Error(`redis-server on ${port} did not start: ${(e as Error).message}`); }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  c.disconnect();
  return {
    port,
    url: (db = 0) => `redis://${auth}127.0.0.1:${port}${db ? `/${db}` : ''}`,
    async stop() { proc.kill('SIGTERM'); await exited; rmSync(dir, { recursive: true, force: true }); },
  };
}

/** A real `stride worker` process; `log` is its stderr so far. */
export interface WorkerProc { proc: ChildProcess; log: () => string; waitFor(re: RegExp, timeoutMs?: number): Promise<void>; kill(sig?: NodeJS.Signals): Promise<void> }

export async function startWorker(url: string, o: { artifacts: string; lockSec?: number; root?: string }): Promise<WorkerProc> {
  const root = o.root ?? ROOT;
  const proc = spawn(process.execPath, [path.join(root, path.relative(ROOT, STRIDE)), 'worker', '--queue', url, '--lock-sec', String(o.lockSec ?? 4), '--artifacts', o.artifacts], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const w: WorkerProc = {
    proc, log: () => err,
    async waitFor(re, timeoutMs = 120_000) {
      const t0 = Date.now();
      while (!re.test(err)) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`worker exited before ${re}: ${err}`);
        if (Date.now() - t0 > timeoutMs) throw new Error(`worker: no ${re} after ${timeoutMs / 1000} s: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill(sig = 'SIGTERM') { if (proc.exitCode === null && proc.signalCode === null) { proc.kill(sig); await exited; } },
  };
  await w.waitFor(/^worker \S+ on /m);
  return w;
}
