#!/usr/bin/env node
// Entry point of the `stride` command: registers tsx so the TypeScript sources run directly, then hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
try {
  const { main } = await import('../cli/index.ts');
  await main(process.argv);
} catch (e) {
  process.stderr.write(`stride: ${String(e instanceof Error ? e.message : e).split('\n')[0]}\n`);
  if (process.env.STRIDE_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}
