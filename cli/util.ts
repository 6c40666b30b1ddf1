/**
 * Shared CLI plumbing: one-line errors with a non-zero exit, JSON on stdout only, human output on stderr when --json.
 */
import { InvalidArgumentError } from 'commander';

/** A user-facing error: printed as one line, exit code 1 (2 for usage errors). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) { super(message); }
}

/** Wrap a command action: any thrown error becomes `stride: <message>` on stderr and a non-zero exit. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`stride: ${msg.split('\n')[0]}\n`);
      if (process.env.STRIDE_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
      process.exit(e instanceof CliError ? e.exitCode : 1);
    }
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Human-readable progress/info: stderr when JSON goes to stdout, so stdout stays machine-readable. */
export function info(json: boolean, line: string): void {
  (json ? process.stderr : process.stdout).write(`${line}\n`);
}

export function parseIntOpt(name: string, min = 0): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`--${name} must be an integer ≥ ${min}, got '${v}'`);
    return n;
  };
}

/**
 * Load physics and register every scene: `loadScenes()` of scenes/index.ts, imported lazily so that loading the CLI
 * (e.g. `stride --help`) does not load every scene module.
 */
export async function loadScenes(): Promise<void> {
  await (await import('../scenes/index.ts')).loadScenes();
}

export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}
