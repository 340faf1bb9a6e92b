import { type Stack, Validations } from 'aws-cdk-lib';

/**
 * Every AwsSolutions and Serverless finding Switchboard accepts for the whole stack, each with its reason. Anything not listed here fails
 * `npm test`.
 */
export function applyNagSuppressions(stateless: Stack): void {
  const acknowledge = (id: string, reason: string) => Validations.of(stateless).acknowledge({ id, reason });
  acknowledge(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'The AWS-managed basic execution role grants only CloudWatch Logs writes to the function.',
  );
  // The console's files are copied by CDK's own BucketDeployment function, which CDK defines.
  const bucketDeployment = stateless.node.children.find((child) =>
    child.node.id.startsWith('Custom::CDKBucketDeployment'),
  );
  if (bucketDeployment) {
    const deploymentReason =
      'CDK’s BucketDeployment function, defined by CDK and run by CloudFormation at deploy only (a failure fails the deploy, which reports it); its runtime and settings are CDK’s.';
    Validations.of(bucketDeployment).acknowledge(
      { id: 'Serverless-LambdaDLQ', reason: deploymentReason },
      { id: 'Serverless-LambdaTracing', reason: deploymentReason },
      { id: 'Serverless-LambdaLatestVersion', reason: deploymentReason },
    );
  }
}
