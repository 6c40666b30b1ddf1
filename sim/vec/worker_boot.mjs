// Worker bootstrap: worker threads start without the parent's TypeScript loader, so register tsx, load the modules
// that register scenes, then run the TypeScript worker.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
for (const m of workerData.setupModules ?? []) await import(m);
await import(new URL(workerData.entry, import.meta.url).href);
