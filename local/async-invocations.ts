import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LocalDeployment } from './cloud-assembly';
import { type LambdaHost, LambdaInvocationError } from './lambda-host';

/** What a function's asynchronous invocations do on failure, as its `AWS::Lambda::EventInvokeConfig` says. */
interface InvokeConfig {
  maximumRetryAttempts: number;
  /** The queue that gets a failed invocation's record, by ARN. */
  onFailure?: string;
}

/** Lambda's own defaults for asynchronous invocations: two retries, after one minute and then two. */
export const LAMBDA_RETRY_DELAYS_MS = [60_000, 120_000];
const DEFAULT_RETRIES = 2;

/**
 * Lambda's asynchronous invocation (InvocationType Event), as EventBridge rules and Scheduler schedules
 * invoke their Lambda targets: the caller does not wait; a function error is retried as the function's
 * event invoke configuration says (Lambda's defaults otherwise), and an invocation whose retries are
 * exhausted goes to its on-failure destination, an SQS queue, in the record Lambda sends there. One that
 * cannot be made at all (no such function) is the caller's to handle: it is reported back at once.
 */
export class LocalAsyncInvocations {
  private readonly configs = new Map<string, InvokeConfig>();
  /** Retries waiting for their time; a stopped runtime drops them (they would hold its process open). */
  private readonly waiting = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private stopped = false;

  constructor(
    private readonly deployment: LocalDeployment,
    private readonly lambdas: LambdaHost,
    private readonly sqs: SQSClient,
    private readonly log: (line: string) => void,
    private readonly retryDelaysMs: readonly number[] = LAMBDA_RETRY_DELAYS_MS,
  ) {
    for (const config of deployment.ofType('AWS::Lambda::EventInvokeConfig')) {
      const p = deployment.resolve(config.properties, config.stackName) as {
        FunctionName: string;
        MaximumRetryAttempts?: number;
        DestinationConfig?: { OnFailure?: { Destination?: string } };
      };
      const destination = p.DestinationConfig?.OnFailure?.Destination;
      this.configs.set(p.FunctionName, {
        maximumRetryAttempts: p.MaximumRetryAttempts ?? DEFAULT_RETRIES,
        ...(destination ? { onFailure: destination } : {}),
      });
    }
  }

  /**
   * Starts an asynchronous invocation. Resolves once it is under way (the caller does not wait for the
   * function); rejects when it cannot be made at all.
   */
  async invoke(functionArn: string, payload: unknown): Promise<void> {
    if (!this.lambdas.hosts(functionArn)) throw new Error(`no local function ${functionArn}`);
    void this.invokeToTheEnd(functionArn, payload);
  }

  /**
   * An asynchronous invocation, followed to its end: `done` once the function ran (or, out of retries,
   * its failure went to its destination), `stopped` when the runtime stopped first, so that a caller
   * who records the invocation as made records it only then. Rejects when it cannot be made at all.
   */
  invokeToTheEnd(functionArn: string, payload: unknown): Promise<'done' | 'stopped'> {
    const name = functionArn.split(':').pop() ?? functionArn;
    if (!this.lambdas.hosts(functionArn))
      return Promise.reject(new Error(`no local function ${functionArn}`));
    const config = this.configs.get(name) ?? { maximumRetryAttempts: DEFAULT_RETRIES };
    return this.run(functionArn, name, payload, config);
  }

  private async run(
    arn: string,
    name: string,
    payload: unknown,
    config: InvokeConfig,
  ): Promise<'done' | 'stopped'> {
    const requestId = randomUUID();
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.lambdas.invoke(arn, payload);
        return 'done';
      } catch (error) {
        const retriesLeft = attempt < config.maximumRetryAttempts;
        this.log(
          `[lambda] ${name} failed asynchronously (attempt ${attempt + 1}): ${(error as Error).message}${retriesLeft ? '; retried' : ''}`,
        );
        if (retriesLeft) {
          await this.pause(this.retryDelaysMs[Math.min(attempt, this.retryDelaysMs.length - 1)] ?? 0);
          continue;
        }
        if (config.onFailure)
          await this.sendFailure(config.onFailure, arn, requestId, payload, error, attempt + 1);
        return 'done';
      }
    }
    return 'stopped';
  }

  private async sendFailure(
    queueArn: string,
    functionArn: string,
    requestId: string,
    payload: unknown,
    error: unknown,
    invokeCount: number,
  ): Promise<void> {
    const record = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId,
        functionArn: `${functionArn}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: invokeCount,
      },
      requestPayload: payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload:
        error instanceof LambdaInvocationError
          ? { errorType: error.errorType, errorMessage: error.message }
          : { errorType: 'Error', errorMessage: String((error as Error).message ?? error) },
    };
    try {
      await this.sqs.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl(queueArn), MessageBody: JSON.stringify(record) }),
      );
    } catch (sendError) {
      this.log(`[lambda] could not send a failed invocation to ${queueArn}: ${(sendError as Error).message}`);
    }
  }

  /** Drops the retries still waiting: the runtime is stopping (a restart does not retry them either). */
  stop(): void {
    this.stopped = true;
    for (const wait of this.waiting) {
      clearTimeout(wait.timer);
      wait.resolve();
    }
    this.waiting.clear();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wait = {
        timer: setTimeout(() => {
          this.waiting.delete(wait);
          resolve();
        }, ms),
        resolve,
      };
      this.waiting.add(wait);
    });
  }

  /**
   * Sends what a rule or a schedule could not deliver to its dead-letter queue, with the message
   * attributes EventBridge and Scheduler add (`ERROR_CODE`, `ERROR_MESSAGE`, the rule's or schedule's
   * ARN, the target's).
   */
  async deadLetter(queueArn: string, body: string, attributes: Record<string, string>): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl(queueArn),
          MessageBody: body,
          MessageAttributes: Object.fromEntries(
            Object.entries(attributes).map(([name, value]) => [
              name,
              { DataType: 'String', StringValue: value },
            ]),
          ),
        }),
      );
    } catch (error) {
      this.log(`[dead-letter] could not send to ${queueArn}: ${(error as Error).message}`);
    }
  }

  /** A queue of the deployment, by ARN. */
  queueUrl(arn: string): string {
    const name = arn.split(':').pop() ?? '';
    const queue = this.deployment.ofType('AWS::SQS::Queue').find((q) => q.physicalName === name);
    if (!queue) throw new Error(`no queue ${arn}`);
    return String(this.deployment.attributes(queue).QueueUrl);
  }
}
