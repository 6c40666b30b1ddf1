// Bootstrap for worker_threads: register tsx so the worker can import TypeScript, then load the worker module
// named in workerData.entry (an absolute file URL).
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
