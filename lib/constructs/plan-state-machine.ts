import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { compilePlan, WORK_QUEUE_URL } from '../../statemachines/compile-plan';
import type { PlanDefinition } from '../../statemachines/plan-definition';

export interface PlanStateMachineProps {
  plan: PlanDefinition;
  workQueue: IQueue;
}

/** One Standard state machine for one plan definition, compiled from the catalog. */
export class PlanStateMachine extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: PlanStateMachineProps) {
    super(scope, id);
    const logs = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: props.plan.description ?? `Switchboard plan ${props.plan.id}`,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(JSON.stringify(compilePlan(props.plan))),
      definitionSubstitutions: { [WORK_QUEUE_URL]: props.workQueue.queueUrl },
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // fromString cannot see what the definition touches, so the grant is explicit.
    props.workQueue.grantSendMessages(this.stateMachine);
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only X-Ray and CloudWatch Logs delivery grants use "*": those actions have no resource-level permissions.',
    });
  }
}

/**
 * Lets `grantee` stop the plan's runs. A run is named after its order at runtime, so the grant covers the
 * executions of this one state machine (`execution:<machine>:*`), acknowledged as such.
 */
/**
 * Lets a function answer the plan's waits: `succeed` (an item finished) and, where an operator fails an
 * order, `fail`. Never a heartbeat: no wait has a heartbeat timeout.
 */
export function grantTaskAnswers(
  machine: StateMachine,
  grantee: IGrantable,
  answers: readonly ('succeed' | 'fail')[],
): void {
  const actions = { succeed: 'states:SendTaskSuccess', fail: 'states:SendTaskFailure' };
  machine.grant(grantee, ...answers.map((answer) => actions[answer]));
}

export function grantStopExecution(machine: StateMachine, grantee: IGrantable & Construct): void {
  machine.grantExecution(grantee, 'states:StopExecution');
  const logicalId = Stack.of(machine).getLogicalId(machine.node.defaultChild as CfnStateMachine);
  const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId}"}]}]}:*`;
  Validations.of(grantee).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${executions}]`,
    reason:
      "Plan runs are named after their orders at runtime; the grant covers the executions of Switchboard's own plan state machine only.",
  });
}
