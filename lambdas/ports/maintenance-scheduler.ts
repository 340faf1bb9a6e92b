/** What a maintenance window's schedule asks the maintenance function to do when it comes due. */
export interface MaintenanceWindowEvent {
  systemId: string;
  windowId: string;
  phase: 'start' | 'end';
}

/** One-time schedules that start and end maintenance windows (EventBridge Scheduler on AWS). */
export interface MaintenanceScheduler {
  /** Schedules the event for `at`; scheduling the same window phase again changes nothing. */
  schedule(event: MaintenanceWindowEvent, at: Date): Promise<void>;
  /** Removes the schedule, if it is still there. */
  unschedule(event: MaintenanceWindowEvent): Promise<void>;
}
