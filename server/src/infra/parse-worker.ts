/**
 * Entry of a parsing thread (node:worker_threads), started by parse-pool.ts: one task at a time,
 * answered by id. Built to server/dist/parse-worker.js beside main.js; from source it runs as .ts.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './parse-task.ts';

const port = parentPort;
if (!port) throw new Error('parse-worker.ts runs as a worker thread (see parse-pool.ts)');

// Parsing is background work: when the CPU is short, the server's event loop goes first. On Linux
// the nice value is per thread, so this lowers this thread only (elsewhere it may be refused).
// Set before the parsers load, which is itself a second of CPU on a small machine.
try {
  setPriority(10);
} catch {
  // Left at the process's priority.
}
const { runParseTask } = await import('./parse-task.ts');

port.on('message', ({ id, task }: ToWorker) => {
  // The pool sends the upload in shared memory; parsers get a plain copy of their own.
  runParseTask({ ...task, data: new Uint8Array(task.data) }).then(
    (outcome) => port.postMessage({ id, outcome } satisfies FromWorker),
    (error: unknown) =>
      port.postMessage({
        id,
        crash: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies FromWorker),
  );
});
// The pool's clock starts once this is sent.
port.postMessage({ ready: true } satisfies FromWorker);
