import { type Stack, Validations } from 'aws-cdk-lib';

/**
 * Every AwsSolutions finding Switchboard accepts, each with its reason. Anything not listed here fails
 * `npm test`.
 */
export function applyNagSuppressions(stateless: Stack): void {
  const acknowledge = (id: string, reason: string) => Validations.of(stateless).acknowledge({ id, reason });
  acknowledge(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'The AWS-managed basic execution role grants only CloudWatch Logs writes to the function.',
  );
}
