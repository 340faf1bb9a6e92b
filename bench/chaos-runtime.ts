/**
 * The local runtime as a process of its own, for the chaos run (bench/chaos.ts) to kill with SIGKILL and
 * start again: the assembly, data folder and port come from the environment; it says `ready <apiUrl>` on
 * stdout once it serves, and logs to CHAOS_LOG.
 */
import { appendFileSync } from 'node:fs';
import { startLocalRuntime } from '../local/runtime';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const logFile = env('CHAOS_LOG');
const runtime = await startLocalRuntime({
  assemblyDir: env('CHAOS_ASSEMBLY'),
  dataDir: env('CHAOS_DATA'),
  port: Number(env('CHAOS_PORT')),
  log: (line) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`),
});
process.stdout.write(`ready ${runtime.apiUrl}\n`);
const stop = async () => {
  await runtime.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
