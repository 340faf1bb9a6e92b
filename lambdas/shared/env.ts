import { z } from 'zod';

/** A setting the stack must give the function; its absence is a deployment bug, so fail loudly. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A setting the stack gives as a JSON object of strings (ARNs or URLs by name). */
export function jsonRecordEnv(name: string): Record<string, string> {
  const parsed = z.record(z.string(), z.string()).safeParse(JSON.parse(requiredEnv(name)));
  if (!parsed.success) throw new Error(`environment variable ${name} is not a JSON object of strings`);
  return parsed.data;
}
