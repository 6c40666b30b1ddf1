import { Command } from 'commander';
import { register } from '/work/main/cli/bench/train.ts';
const p = new Command(); const b = p.command('bench'); register(b);
await p.parseAsync(['node','x','bench','train','--json','--steps','5']);
