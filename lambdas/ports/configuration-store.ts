import type { FulfilmentSystem, InterfaceStatus, SystemInterface, SystemState } from '../domain/catalog';

/** A system as it is now: its catalog definition and its runtime state. */
export interface SystemRecord extends FulfilmentSystem {
  state: SystemState;
  seededAt: string;
  updatedAt: string;
}

/** A system interface as it is now: its catalog definition and its runtime status. */
export interface InterfaceRecord extends SystemInterface {
  status: InterfaceStatus;
  seededAt: string;
  updatedAt: string;
}

export interface SeedResult {
  systems: number;
  interfaces: number;
  /** Systems and interfaces no longer in the catalog, removed. */
  removed: string[];
}

/**
 * Systems and system interfaces in DynamoDB: seeded from the catalog at deploy, their state changed at
 * runtime by operators. Seeding replaces definitions but never an operator's state.
 */
export interface ConfigurationStore {
  seed(systems: FulfilmentSystem[], interfaces: SystemInterface[], at: string): Promise<SeedResult>;
  listSystems(): Promise<SystemRecord[]>;
  getSystem(systemId: string): Promise<SystemRecord | undefined>;
  interfacesOf(systemId: string): Promise<InterfaceRecord[]>;
  getInterface(interfaceId: string): Promise<InterfaceRecord | undefined>;
  /** The interface and its system, read together for a callout. */
  calloutTarget(interfaceId: string): Promise<{ system: SystemRecord; iface: InterfaceRecord } | undefined>;
}
