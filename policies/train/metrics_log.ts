/** RUN/metrics.jsonl: one JSON object per line, keys namespaced 'losses/…', 'eval/…', 'perf/…'. */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class MetricsLog {
  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  log(step: number, values: Record<string, number | string>): void {
    appendFileSync(this.file, `${JSON.stringify({ step, ...values })}\n`);
  }

  /** On resume: drop lines logged after `step` (they belong to the run that was killed). */
  truncateAfter(step: number): void {
    if (!existsSync(this.file)) return;
    const keep = readFileSync(this.file, 'utf8').split('\n').filter((l) => {
      if (!l.trim()) return false;
      try { return (JSON.parse(l) as { step: number }).step <= step; } catch { return false; }
    });
    writeFileSync(this.file, keep.length ? `${keep.join('\n')}\n` : '');
  }
}
