/**
 * Clocks for benchmarks on a shared, noisy machine. `threadCpuMs()` is the CPU time of the calling thread alone
 * (Linux: /proc/thread-self/schedstat, ~5 µs per read), so time spent preempted by other processes — or in V8's
 * background GC threads — is not charged to the code being measured. Elsewhere it falls back to wall time
 * (`threadCpuClock` says which).
 *
 * Granularity: the kernel brings a running thread's total up to date only at scheduler ticks and context switches, so
 * a short interval usually reads 0 and a long one is right on average. Sum many intervals, and keep measuring until
 * each sum holds enough ticks (MIN_CHARGED_MS) — on a loaded machine a fixed wall-clock window may hold none.
 */
import { closeSync, openSync, readSync } from 'node:fs';

let fd: number | null = null;
const buf = Buffer.alloc(128);
try { fd = openSync('/proc/thread-self/schedstat', 'r'); } catch { fd = null; }
process.once('exit', () => { if (fd !== null) { try { closeSync(fd); } catch { /* already closed */ } } });

/** 'thread-cpu' when per-thread CPU time is available, else 'wall'. */
export const threadCpuClock: 'thread-cpu' | 'wall' = fd === null ? 'wall' : 'thread-cpu';

/** Least CPU time a benchmark sum must hold before it is divided by (≈ a dozen 4 ms scheduler ticks). */
export const MIN_CHARGED_MS = 50;

export function threadCpuMs(): number {
  if (fd === null) return performance.now();
  const n = readSync(fd, buf, 0, buf.length, 0);
  let ns = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    ns = ns * 10 + (c - 48);
  }
  return ns / 1e6;
}
