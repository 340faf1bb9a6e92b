import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkWebhook, webhookKey } from '../lambdas/domain/webhook-signature';

/** One event as the CRM took it. */
export interface CrmEvent {
  receivedAt: number;
  eventType: string;
  sequence: string;
  orderId: string;
  /** What it says, in a few words: the order's state, the milestone, the jeopardy. */
  summary: string;
}

/**
 * A small simulated CRM (order capture) for the demo: a TMF622 listener on loopback that verifies each
 * delivery's Standard Webhooks signature with the secret its registration answered, refuses one it
 * cannot verify (401), prints what it takes, and keeps it for the timeline.
 */
export class DemoCrm {
  readonly events: CrmEvent[] = [];
  readonly refused: string[] = [];
  secret = '';
  url = '';
  private server?: Server;

  constructor(private readonly print: (line: string) => void) {}

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const header = (name: string) => request.headers[name] as string | undefined;
        const check = checkWebhook(
          [webhookKey(this.secret)],
          {
            id: header('webhook-id'),
            timestamp: header('webhook-timestamp'),
            signature: header('webhook-signature'),
          },
          text,
          new Date(),
        );
        if (!check.valid) {
          this.refused.push(check.why);
          this.print(`  CRM      refused a delivery: ${check.why}`);
          response.writeHead(401).end();
          return;
        }
        const event = JSON.parse(text) as {
          eventType: string;
          sequence: string;
          correlationId: string;
          event: { productOrder?: Record<string, unknown> };
        };
        const taken: CrmEvent = {
          receivedAt: Date.now(),
          eventType: event.eventType,
          sequence: event.sequence,
          orderId: event.correlationId,
          summary: summaryOf(event.eventType, event.event.productOrder ?? {}),
        };
        this.events.push(taken);
        this.print(`  CRM      ← ${taken.eventType} ${taken.summary} (signature verified)`);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/tmf-events`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function summaryOf(type: string, order: Record<string, unknown>): string {
  const first = (field: string) => (order[field] as Record<string, unknown>[] | undefined)?.[0] ?? {};
  switch (type) {
    case 'ProductOrderMilestoneEvent':
      return `milestone ${String(first('productOrderMilestone').name)}`;
    case 'ProductOrderJeopardyAlertEvent': {
      const alert = first('productOrderJeopardyAlert');
      return alert.jeopardyType === 'Normal' ? 'jeopardy cleared' : `in jeopardy: ${String(alert.message)}`;
    }
    case 'ProductOrderInformationRequiredEvent':
      return 'a person is needed';
    default:
      return `order ${String(order.state ?? '')}`;
  }
}
