import { randomUUID } from 'node:crypto';
import { FetchHttpClient } from '../lambdas/adapters/fetch-http-client';
import { Authenticator, scrubJson, scrubSecrets, withCredentials } from '../lambdas/domain/authenticator';
import { BUILT_IN_ADAPTERS, type Catalog, isAsynchronousInterface } from '../lambdas/domain/catalog';
import {
  type HttpOutcome,
  type HttpStep,
  type ProcedureResult,
  runProcedure,
  startProgress,
} from '../lambdas/domain/procedure';
import { pathInterface, stepRequest } from '../lambdas/domain/procedure-request';
import type { HttpClient } from '../lambdas/ports/http-client';
import type { SecretStore } from '../lambdas/ports/secret-store';
import { readSecretValues } from './secrets-manager';

/**
 * Runs a procedure once, straight against its systems, for an integrator writing it: every step's
 * input, output and duration, with the systems' auth from the local secrets file. Unlike an auto task it
 * does not go through holds, limits or retries; a step's error answer ends the preview. It stops before a
 * step whose system answers on a callback (nothing here could take it) or through a custom adapter (whose
 * code the preview does not load).
 */
export async function previewProcedure(
  catalog: Catalog,
  procedureId: string,
  input: Record<string, unknown>,
  options: { secretsFile: string; http?: HttpClient },
): Promise<ProcedureResult> {
  const procedure = catalog.procedures[procedureId];
  if (!procedure) {
    const known = Object.keys(catalog.procedures);
    throw new Error(
      `no procedure "${procedureId}" in the catalog${known.length ? ` (it has ${known.join(', ')})` : ''}`,
    );
  }
  const http = options.http ?? new FetchHttpClient();
  const now = () => new Date();
  const secrets: SecretStore = {
    async credentials(profileId) {
      const values = readSecretValues(options.secretsFile)[profileId];
      if (!values)
        throw new Error(`${options.secretsFile} has no credentials for auth profile "${profileId}"`);
      return values;
    },
  };
  const auth = new Authenticator(secrets, http, now);
  const run = randomUUID();
  const perform = async (step: HttpStep, body: unknown): Promise<HttpOutcome> => {
    const iface =
      step.interface !== undefined ? catalog.interfaces[step.interface] : pathInterface(procedure, step);
    const system = catalog.systems[iface?.system ?? ''];
    if (!iface || !system) throw new Error(`step "${step.id}": its system is not in the catalog`);
    if (
      isAsynchronousInterface(catalog, iface) ||
      !(BUILT_IN_ADAPTERS as readonly string[]).includes(iface.adapter)
    )
      return { kind: 'suspended' };
    const request = stepRequest(system.baseUrl, iface, body, `preview-${run}.${step.id}`);
    const { method, url, headers } = request;
    const profile = system.authProfile ? catalog.authProfiles[system.authProfile] : undefined;
    const credentialed = await auth.headers(profile, system.baseUrl);
    const answer = await http.send(withCredentials(request, credentialed));
    const text = scrubSecrets(answer.body, credentialed.secrets);
    let parsed: unknown = text;
    try {
      parsed = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON: the step's output is the text itself.
    }
    if (answer.status < 200 || answer.status >= 300)
      throw new Error(`step "${step.id}": ${method} ${url} answered ${answer.status}: ${text.slice(0, 500)}`);
    return {
      kind: 'answered',
      body: parsed,
      request: scrubJson({ method, url, headers, body }, credentialed.secrets),
    };
  };
  return runProcedure(procedure, input, startProgress(), perform, { now });
}

/** The preview as text: one block a step, then how it ended. */
export function describePreview(result: ProcedureResult): string {
  const lines: string[] = [];
  for (const step of result.progress.trace) {
    lines.push(
      `▸ ${step.step} (${step.type})${step.skipped ? ' — skipped: its condition is not true' : ` — ${step.ms} ms`}`,
    );
    if (step.input !== undefined) lines.push(`  input:  ${JSON.stringify(step.input)}`);
    if (step.output !== undefined && !step.skipped) lines.push(`  output: ${JSON.stringify(step.output)}`);
  }
  if (result.kind === 'completed') lines.push(`completed; outputs: ${JSON.stringify(result.outputs)}`);
  else if (result.kind === 'failed')
    lines.push(`failed at step "${result.step}": ${result.error}: ${result.message}`);
  else
    lines.push(
      `stopped at step "${result.step.id}": its interface answers on a callback or through a custom adapter, which the preview does not send`,
    );
  return lines.join('\n');
}
