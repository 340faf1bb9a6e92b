import type { AvailabilityChange, ChangeCause } from '../domain/availability';
import type { FulfilmentSystem, InterfaceStatus, SystemInterface, SystemState } from '../domain/catalog';
import type { Actor } from '../domain/roles';
import type { ConfigurationChange, ConfigurationRules, Overrides } from '../domain/runtime-configuration';

/** A system as it is now: its catalog definition and its runtime state. */
export interface SystemRecord extends FulfilmentSystem {
  state: SystemState;
  /** The change that brought it to its state (absent while it is as seeded). */
  stateChange?: AvailabilityChange;
  /** Connection failures and timeouts in a row, for the circuit breaker. */
  consecutiveFailures?: number;
  /** Counts the changes of its configuration, by operators and deploys (its ETag); 0 before its first seed. */
  revision: number;
  /** The fields an operator changed at runtime, each with the catalog's value it replaced. */
  overrides: Overrides;
  seededAt: string;
  updatedAt: string;
}

/** A system interface as it is now: its catalog definition and its runtime status. */
export interface InterfaceRecord extends SystemInterface {
  status: InterfaceStatus;
  statusChange?: AvailabilityChange;
  /** As a system's. */
  revision: number;
  overrides: Overrides;
  seededAt: string;
  updatedAt: string;
}

/** An entry of a system's or an interface's history: a change of its state or status, or of its configuration. */
export type HistoryEntry = AvailabilityChange | ConfigurationChange;

/**
 * An operator's change of a record's configuration, decided (domain/runtime-configuration.ts): the new
 * value of each field it changes (null removes it), the overrides after it, and its history entry.
 */
export interface Reconfiguration {
  values: Record<string, unknown>;
  overrides: Overrides;
  change: ConfigurationChange;
}

/** A change to make: who, why, and what made it. */
export interface ChangeRequest {
  by: Actor;
  reason: string;
  cause: ChangeCause;
  windowId?: string;
  at: string;
}

/** Makes a change only while the current state came from this cause (a window ends only its own Down). */
export interface ChangeGuard {
  cause: ChangeCause;
  windowId?: string;
  /**
   * The system is in the state already, from this cause (another window's Down): the change takes it
   * over, keeping the state, so that only the new cause's end may undo it.
   */
  takeOver?: boolean;
}

/** A planned maintenance: the system is Down from `start` to `end`. */
export interface MaintenanceWindow {
  id: string;
  systemId: string;
  start: string;
  end: string;
  reason: string;
  createdBy: Actor;
  createdAt: string;
  /** When it took the system Down and brought it back (or found it already changed by someone else). */
  startedAt?: string;
  endedAt?: string;
}

export interface SeedResult {
  systems: number;
  interfaces: number;
  /** Systems and interfaces no longer in the catalog, removed. */
  removed: string[];
  /** Operators' overrides (`system inventory baseUrl`) the seed kept, and those the catalog's values replaced. */
  overrides: { kept: string[]; dropped: string[] };
}

/**
 * Systems and system interfaces in DynamoDB: seeded from the catalog at deploy, their state and some of
 * their configuration changed at runtime by operators. Seeding replaces definitions but never an
 * operator's state, and keeps an operator's configuration as domain/runtime-configuration.ts (seedMerge)
 * says.
 */
export interface ConfigurationStore {
  /**
   * Writes the catalog's systems and interfaces, merged with what operators changed (seedMerge, under
   * `rules` when given), each in one write conditional on the revision it read; removes the others.
   */
  seed(
    systems: FulfilmentSystem[],
    interfaces: SystemInterface[],
    at: string,
    rules?: ConfigurationRules,
  ): Promise<SeedResult>;
  listSystems(): Promise<SystemRecord[]>;
  getSystem(systemId: string): Promise<SystemRecord | undefined>;
  interfacesOf(systemId: string): Promise<InterfaceRecord[]>;
  getInterface(interfaceId: string): Promise<InterfaceRecord | undefined>;
  /**
   * The interface and its system, read together for a callout; `systemId` (the catalog's system of the
   * interface) lets both be read at once.
   */
  calloutTarget(
    interfaceId: string,
    systemId?: string,
  ): Promise<{ system: SystemRecord; iface: InterfaceRecord } | undefined>;

  /**
   * Sets a system's state, keeping the change in its history. Unchanged (`changed: false`) when it is in
   * that state already or the guard does not hold; undefined when there is no such system.
   */
  setSystemState(
    systemId: string,
    state: SystemState,
    change: ChangeRequest,
    guard?: ChangeGuard,
  ): Promise<{ system: SystemRecord; changed: boolean } | undefined>;
  /** Sets an interface's status, as setSystemState does. */
  setInterfaceStatus(
    interfaceId: string,
    status: InterfaceStatus,
    change: ChangeRequest,
  ): Promise<{ iface: InterfaceRecord; changed: boolean } | undefined>;
  /**
   * Changes a system's configuration in one write, only while its revision is still `expected` (it
   * becomes `change.revision`), and keeps the change in its history. `stale` when the revision moved or
   * the system is gone: nothing was written.
   */
  reconfigureSystem(
    systemId: string,
    expected: number,
    reconfiguration: Reconfiguration,
  ): Promise<SystemRecord | 'stale'>;
  /** Changes an interface's configuration, as reconfigureSystem does. */
  reconfigureInterface(
    interfaceId: string,
    expected: number,
    reconfiguration: Reconfiguration,
  ): Promise<InterfaceRecord | 'stale'>;
  /** Changes of a system's state or an interface's status, and of their configuration, newest first. */
  history(subject: 'system' | 'interface', id: string, limit: number): Promise<HistoryEntry[]>;

  /** Counts one more connection failure or timeout in a row; returns the count. */
  recordConnectionFailure(systemId: string): Promise<number>;
  /** A callout got an answer: the run of failures is over. */
  resetConnectionFailures(systemId: string): Promise<void>;

  /** Adds a window unless it overlaps another of the system's; then that one is returned instead. */
  addMaintenanceWindow(
    window: MaintenanceWindow,
  ): Promise<{ added: true } | { added: false; overlaps: MaintenanceWindow }>;
  maintenanceWindows(systemId: string): Promise<MaintenanceWindow[]>;
  getMaintenanceWindow(systemId: string, windowId: string): Promise<MaintenanceWindow | undefined>;
  removeMaintenanceWindow(systemId: string, windowId: string): Promise<MaintenanceWindow | undefined>;
  /** Records that the window started or ended; false when it is gone or did so already. */
  markMaintenanceWindow(
    systemId: string,
    windowId: string,
    phase: 'startedAt' | 'endedAt',
    at: string,
  ): Promise<boolean>;
}
