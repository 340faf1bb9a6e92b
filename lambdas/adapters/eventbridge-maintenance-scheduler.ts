import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import type { MaintenanceScheduler, MaintenanceWindowEvent } from '../ports/maintenance-scheduler';

/**
 * Maintenance windows' start and end as one-time EventBridge Scheduler schedules that invoke the
 * maintenance function and delete themselves once done.
 */
export class EventBridgeMaintenanceScheduler implements MaintenanceScheduler {
  constructor(
    private readonly client: SchedulerClient,
    private readonly target: {
      functionArn: string;
      roleArn: string;
      groupName: string;
      /** Where a start or end that could not be invoked is kept, for an operator (with an alarm). */
      deadLetterQueueArn: string;
    },
  ) {}

  async schedule(event: MaintenanceWindowEvent, at: Date): Promise<void> {
    // at() counts whole seconds: rounded up, so a window never starts (or ends) before its time.
    const due = new Date(Math.ceil(at.getTime() / 1000) * 1000);
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: scheduleName(event),
          GroupName: this.target.groupName,
          // at() takes a local time without zone; with UTC as the zone it is the instant given.
          ScheduleExpression: `at(${due.toISOString().slice(0, 19)})`,
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Target: {
            Arn: this.target.functionArn,
            RoleArn: this.target.roleArn,
            Input: JSON.stringify(event),
            RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
            DeadLetterConfig: { Arn: this.target.deadLetterQueueArn },
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error; // scheduled already: a retried request
    }
  }

  async unschedule(event: MaintenanceWindowEvent): Promise<void> {
    try {
      await this.client.send(
        new DeleteScheduleCommand({ Name: scheduleName(event), GroupName: this.target.groupName }),
      );
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error; // done and deleted, or never made
    }
  }
}

/** At most 64 characters: window ids are short. */
const scheduleName = (event: MaintenanceWindowEvent) =>
  `switchboard-${event.systemId.slice(0, 24)}-${event.windowId}-${event.phase}`;
