import {
  ExecutionAlreadyExists,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { PlanExecutionInput } from '../../statemachines/compile-plan';
import type { PlanRunner } from '../ports/plan-runner';
import type { PlanTasks } from '../ports/plan-tasks';

/** Starts and stops plan executions on the state machine compiled for each plan. */
export class StepFunctionsPlanRunner implements PlanRunner {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArns: Record<string, string>,
  ) {}

  private machine(planId: string): string {
    const stateMachineArn = this.stateMachineArns[planId];
    if (!stateMachineArn) throw new Error(`no state machine is deployed for plan "${planId}"`);
    return stateMachineArn;
  }

  async start(planId: string, executionName: string, input: PlanExecutionInput): Promise<void> {
    const stateMachineArn = this.machine(planId);
    try {
      await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn, name: executionName, input: JSON.stringify(input) }),
      );
    } catch (error) {
      // The same name with the same input is the same run: someone started it already.
      if (!(error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists'))
        throw error;
    }
  }

  async stop(
    planId: string,
    executionName: string,
    cause: string,
    error = 'Switchboard.OrderFailed',
  ): Promise<void> {
    // An execution's ARN is its state machine's with `execution` for `stateMachine` and its name added.
    const executionArn = `${this.machine(planId).replace(':stateMachine:', ':execution:')}:${executionName}`;
    try {
      // Stopping an execution that has ended already changes nothing and is no error.
      await this.sfn.send(
        new StopExecutionCommand({
          executionArn,
          error,
          cause: cause.slice(0, 32_768),
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'ExecutionDoesNotExist') throw error;
    }
  }
}

const GONE = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

export class StepFunctionsPlanTasks implements PlanTasks {
  constructor(private readonly sfn: SFNClient) {}

  succeed(taskToken: string, output: Record<string, unknown>): Promise<'ok' | 'gone'> {
    return this.answer(() =>
      this.sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })),
    );
  }

  fail(taskToken: string, error: string, cause: string): Promise<'ok' | 'gone'> {
    // Step Functions takes at most 256 characters of error and 32 768 of cause.
    return this.answer(() =>
      this.sfn.send(
        new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) }),
      ),
    );
  }

  /** 'gone' when the execution no longer waits for the token. */
  private async answer(send: () => Promise<unknown>): Promise<'ok' | 'gone'> {
    try {
      await send();
      return 'ok';
    } catch (error) {
      if (GONE.has((error as Error).name)) return 'gone';
      throw error;
    }
  }
}
