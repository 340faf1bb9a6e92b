import { randomBytes } from 'node:crypto';
import { type ActivationOptions, type ActivationSystem, startActivation } from './activation';
import { type BilledCharge, startBilling } from './billing';
import type { CallbackSenderOptions } from './callback-sender';
import { createCertificateAuthority, issueCertificate } from './demo-pki';
import { type Inventory, startInventory } from './inventory';
import { type LineProvisioningSystem, startLineProvisioning } from './line-provisioning';
import { type SentMessage, startNotification } from './notification';
import { type NumberPortingSystem, startNumberPorting } from './number-porting';
import { type StaticIpAssignment, startProvisioning } from './provisioning';
import { type BookedSlot, startScheduling } from './scheduling';
import type { Fault, SimulatedRequest, SimulatedSystem, SimulatedSystemOptions } from './simulated-system';

/**
 * The demo's fulfilment systems, each guarding itself the way its real counterpart would: the inventory
 * with an API key in `x-api-key`, activation with OAuth 2.0 client credentials from its own
 * `/oauth2/token`, the legacy billing system with HTTP basic, number porting with a bearer token, and
 * provisioning (the static IP add-on) with mutual TLS only. Number porting calls back in its own
 * vocabulary; the legacy telephony platform cannot call back and is polled.
 */

/** Shaped exactly like the local runtime's secrets file, so one object can feed both sides of a demo. */
export interface DemoCredentials {
  'inventory-api-key': { apiKey: string };
  'activation-oauth': { clientId: string; clientSecret: string };
  'billing-basic': { username: string; password: string };
  'scheduling-api-key': { apiKey: string };
  /** The secret activation signs its callbacks with (Standard Webhooks), as the catalog's interface wants. */
  'callbacks:activation': { secret: string };
  'porting-bearer': { token: string };
  /** Switchboard's client certificate and key for provisioning, and the CA that signed provisioning's. */
  'provisioning-mtls': { certificate: string; privateKey: string; caBundle: string };
  /**
   * The provisioning simulator's own, read by no Switchboard function: its server certificate and key, and
   * the CA whose client certificates it takes (the one that signed `provisioning-mtls`).
   */
  'simulator:provisioning': { certificate: string; privateKey: string; clientCa: string };
}

export interface DemoSystemPorts {
  inventory: number;
  activation: number;
  billing: number;
  scheduling: number;
  notification: number;
  porting: number;
  telephony: number;
  provisioning: number;
}

/** The ports the demo catalog points its systems at. */
export const DEMO_SYSTEM_PORTS: DemoSystemPorts = {
  inventory: 4101,
  activation: 4102,
  billing: 4103,
  scheduling: 4104,
  notification: 4105,
  porting: 4107,
  telephony: 4106,
  provisioning: 4108,
};

/** Every demo system on any free port. */
export const FREE_DEMO_PORTS: DemoSystemPorts = {
  inventory: 0,
  activation: 0,
  billing: 0,
  scheduling: 0,
  notification: 0,
  porting: 0,
  telephony: 0,
  provisioning: 0,
};

export interface DemoSystemsOptions {
  /** Port 0 takes any free port. */
  ports?: Partial<DemoSystemPorts>;
  latencyMs?: SimulatedSystemOptions['latencyMs'];
  credentials: DemoCredentials;
  /** Whether activation answers at once or accepts with 202 and calls back later. Default 'sync'. */
  activationMode?: ActivationOptions['mode'];
  /** In async mode: from the 202 to the interim callback. */
  activationInterimDelayMs?: number;
  /** In async mode: from the interim callback to the final one. */
  activationFinalDelayMs?: number;
  /** In async mode: how activation re-sends a callback that did not get through. */
  activationCallbacks?: CallbackSenderOptions;
  /** The fault each system answers a request with, if any (the chaos run's misbehaving systems). */
  faults?: (system: keyof DemoSystemPorts, request: SimulatedRequest) => Fault | undefined;
}

export interface DemoSystems {
  inventory: Inventory;
  activation: ActivationSystem;
  billing: SimulatedSystem & { charges: BilledCharge[] };
  scheduling: SimulatedSystem & { slots: BookedSlot[] };
  notification: SimulatedSystem & { messages: SentMessage[] };
  /** Calls back in its own vocabulary (a callback mapping reads it). */
  porting: NumberPortingSystem;
  /** Cannot call back: it is polled. */
  telephony: LineProvisioningSystem;
  provisioning: SimulatedSystem & { assignments: StaticIpAssignment[] };
  /** Each system's base URL by its catalog id (what synth takes as switchboard:systemBaseUrls). */
  urls: Record<keyof DemoSystemPorts, string>;
  stop(): Promise<void>;
}

export function demoCredentials(): DemoCredentials {
  const secret = () => randomBytes(24).toString('base64url');
  const suffix = () => randomBytes(4).toString('hex');
  return {
    'inventory-api-key': { apiKey: secret() },
    'activation-oauth': { clientId: `switchboard-${suffix()}`, clientSecret: secret() },
    'billing-basic': { username: `switchboard-${suffix()}`, password: secret() },
    'scheduling-api-key': { apiKey: secret() },
    'callbacks:activation': { secret: `whsec_${randomBytes(32).toString('base64')}` },
    'porting-bearer': { token: secret() },
    ...demoProvisioningCertificates(suffix()),
  };
}

/**
 * A demo CA of its own for provisioning's mutual TLS, signing the system's server certificate (for
 * 127.0.0.1 and localhost) and Switchboard's client certificate. The CA's key is dropped once they are
 * signed: nothing can issue another certificate the system would take.
 */
function demoProvisioningCertificates(
  suffix: string,
): Pick<DemoCredentials, 'provisioning-mtls' | 'simulator:provisioning'> {
  const ca = createCertificateAuthority(`Switchboard demo CA ${suffix}`);
  const server = issueCertificate(ca, {
    commonName: 'provisioning.demo',
    usage: 'server',
    hosts: ['127.0.0.1', 'localhost'],
  });
  const client = issueCertificate(ca, { commonName: `switchboard-${suffix}`, usage: 'client' });
  return {
    'provisioning-mtls': { ...client, caBundle: ca.certificate },
    'simulator:provisioning': { ...server, clientCa: ca.certificate },
  };
}

export async function startDemoSystems(options: DemoSystemsOptions): Promise<DemoSystems> {
  const ports = { ...DEMO_SYSTEM_PORTS, ...options.ports };
  const { latencyMs } = options;
  const { apiKey } = options.credentials['inventory-api-key'];
  const { clientId, clientSecret } = options.credentials['activation-oauth'];
  const { username, password } = options.credentials['billing-basic'];
  const scheduling = options.credentials['scheduling-api-key'];
  const faultsOf = (system: keyof DemoSystemPorts) => {
    const { faults } = options;
    return faults ? { faults: (request: SimulatedRequest) => faults(system, request) } : {};
  };
  const started = await Promise.allSettled([
    startInventory({
      port: ports.inventory,
      latencyMs,
      ...faultsOf('inventory'),
      auth: { type: 'api-key', header: 'x-api-key', apiKey },
    }),
    startActivation({
      port: ports.activation,
      latencyMs,
      ...faultsOf('activation'),
      ...(options.activationCallbacks ? { callbacks: options.activationCallbacks } : {}),
      callbackSecret: options.credentials['callbacks:activation'].secret,
      // The scope the catalog's activation-oauth profile asks for: a token for anything else is refused.
      auth: { type: 'oauth2', clientId, clientSecret, scope: 'activations' },
      mode: options.activationMode ?? 'sync',
      interimDelayMs: options.activationInterimDelayMs,
      finalDelayMs: options.activationFinalDelayMs,
    }),
    startBilling({
      port: ports.billing,
      latencyMs,
      ...faultsOf('billing'),
      auth: { type: 'basic', username, password },
    }),
    startScheduling({
      port: ports.scheduling,
      latencyMs,
      ...faultsOf('scheduling'),
      auth: { type: 'api-key', header: 'x-api-key', apiKey: scheduling.apiKey },
    }),
    startNotification({ port: ports.notification, latencyMs, ...faultsOf('notification') }),
    startNumberPorting({
      port: ports.porting,
      latencyMs,
      ...faultsOf('porting'),
      auth: { type: 'bearer', token: options.credentials['porting-bearer'].token },
    }),
    startLineProvisioning({ port: ports.telephony, latencyMs, ...faultsOf('telephony') }),
    startProvisioning({
      port: ports.provisioning,
      latencyMs,
      ...faultsOf('provisioning'),
      tls: options.credentials['simulator:provisioning'],
    }),
  ] as const);
  const [inventory, activation, billing, schedulingSystem, notification, porting, telephony, provisioning] =
    started;
  if (
    inventory.status === 'rejected' ||
    activation.status === 'rejected' ||
    billing.status === 'rejected' ||
    schedulingSystem.status === 'rejected' ||
    notification.status === 'rejected' ||
    porting.status === 'rejected' ||
    telephony.status === 'rejected' ||
    provisioning.status === 'rejected'
  ) {
    // One system failing to start (a port in use, say) must not leave the others holding the process open.
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    const failure = started.find((s) => s.status === 'rejected');
    throw failure?.reason;
  }
  const systems = [
    inventory.value,
    activation.value,
    billing.value,
    schedulingSystem.value,
    notification.value,
    porting.value,
    telephony.value,
    provisioning.value,
  ];
  return {
    inventory: inventory.value,
    activation: activation.value,
    billing: billing.value,
    scheduling: schedulingSystem.value,
    notification: notification.value,
    porting: porting.value,
    telephony: telephony.value,
    provisioning: provisioning.value,
    urls: {
      inventory: inventory.value.url,
      activation: activation.value.url,
      billing: billing.value.url,
      scheduling: schedulingSystem.value.url,
      notification: notification.value.url,
      porting: porting.value.url,
      telephony: telephony.value.url,
      provisioning: provisioning.value.url,
    },
    stop: async () => {
      await Promise.all(systems.map((system) => system.stop()));
    },
  };
}
