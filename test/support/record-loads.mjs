import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';

// `node --import this-file`: records the URL of every module the process loads, one a line, in the file LOAD_LOG
// names. The same file is the loader hook, so it registers itself only from the main thread.
if (isMainThread) register(import.meta.url, { data: { log: process.env.LOAD_LOG } });

let log;

export function initialize(data) {
  log = data?.log;
}

export async function load(url, context, nextLoad) {
  if (log && url.startsWith('file:')) appendFileSync(log, `${url}\n`);
  return nextLoad(url, context);
}
