import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { PowertoolsTelemetry } from '../adapters/powertools-telemetry';
import { METRICS_NAMESPACE } from '../domain/metrics';

/**
 * One Metrics and one Tracer for the life of the execution environment, as Powertools intends. The
 * namespace and the service come from the stack (POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME):
 * two stages in one account write under their own service, so their metrics never mix.
 */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'switchboard';
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName,
});
/** Active on Lambda only (Powertools turns it off elsewhere, the local runtime included). */
export const tracer = new Tracer({ serviceName });

export const telemetry = new PowertoolsTelemetry(metrics, tracer);
