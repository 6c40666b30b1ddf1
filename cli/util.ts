/**
 * Shared CLI plumbing: one-line errors with a non-zero exit, JSON on stdout only, human output on stderr when --json.
 */
import { InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';

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

/**
 * Progress of a loop over `total` items (episodes, steps, cells). On a terminal (stderr is a TTY): a bar on stderr,
 * shown once the work has run for a second, so short commands stay quiet. Otherwise (piped, CI): no bar, and
 * `tick`'s plain line, when given, is printed with `plain` instead — the per-item lines the command always printed.
 */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly t0: number;
  private done = 0;
  private payload: Record<string, string | number> = {};
  readonly tty: boolean;

  /** `startedAtMs`: when the work began (default now) — the bar shows once it has run for a second. */
  constructor(private readonly label: string, private readonly total: number, private readonly unit: string, private readonly plain: (line: string) => void = (l) => process.stderr.write(`${l}\n`), startedAtMs = Date.now()) {
    this.tty = !!process.stderr.isTTY;
    this.t0 = startedAtMs;
  }

  /** `done` of `total` finished; `payload` fills the bar's `{key}`s (e.g. a running success rate); `line` is for non-terminals. */
  tick(done: number, line?: string, payload: Record<string, string | number> = {}): void {
    this.done = done;
    this.payload = payload;
    if (!this.tty) { if (line !== undefined) this.plain(line); return; }
    if (!this.bar && Date.now() - this.t0 >= 1000) {
      const extra = Object.keys(payload).map((k) => ` | ${k} {${k}}`).join('');
      this.bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: `${this.label} |{bar}| {value}/{total} ${this.unit}${extra} | {eta_formatted} left`, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.total, done, payload);
    } else this.bar?.update(done, payload);
  }

  /** Finish the bar (a no-op when none was shown). */
  stop(): void {
    if (!this.bar) return;
    this.bar.update(this.done, this.payload);
    this.bar.stop();
    this.bar = null;
  }
}

/**
 * An integer flag in [min, max]. The default max is Number.MAX_SAFE_INTEGER: above 2^53 integers (seeds, counts) lose
 * precision. Values are decimal integers (`1e3`, `0x10`, `''` are refused: they are typos more often than not).
 */
/** What a numeric flag's parser accepts; attached to the parser so tests can find every numeric flag. */
export interface NumericFlag { min: number; max: number; int: boolean; exclusiveMin: boolean }

export function parseIntOpt(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): ((v: string) => number) & { numeric: NumericFlag } {
  return Object.assign((v: string) => {
    const t = v.trim();
    const n = /^[+-]?\d+$/.test(t) ? Number(t) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min} (at most ${max})` : `an integer in [${min}, ${max}]`;
      throw new InvalidArgumentError(`--${name} must be ${range}, got '${v.slice(0, 40)}'`);
    }
    return n;
  }, { numeric: { min, max, int: true, exclusiveMin: false } });
}

/** A finite number flag in [min, max] (bounds inclusive unless `exclusiveMin`). */
export function parseNumOpt(name: string, min: number, max: number, exclusiveMin = false): ((v: string) => number) & { numeric: NumericFlag } {
  return Object.assign((v: string) => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n) || (exclusiveMin ? n <= min : n < min) || n > max) {
      throw new InvalidArgumentError(`--${name} must be a number in ${exclusiveMin ? '(' : '['}${min}, ${max}], got '${v.slice(0, 40)}'`);
    }
    return n;
  }, { numeric: { min, max, int: false, exclusiveMin } });
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
