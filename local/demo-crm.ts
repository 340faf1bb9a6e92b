import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkWebhook, webhookKey } from '../lambdas/domain/webhook-signature';

/** An event as the CRM took it, with what it says in a few words. */
export interface CrmEvent {
  /** Its `webhook-id`: the event's id, the same on every delivery of it. */
  id: string;
  receivedAt: number;
  eventType: string;
  sequence: string;
  orderId: string;
  /** The order's state, the milestone, the jeopardy. */
  summary: string;
  body: {
    eventId: string;
    eventType: string;
    eventTime: string;
    sequence: string;
    correlationId: string;
    event: Record<string, unknown>;
  };
}

/**
 * A small simulated CRM (order capture): a TMF622 listener on loopback that verifies each delivery's
 * Standard Webhooks signature with the secret its registration answered, refuses one it cannot verify
 * (401), answers the rest as `answer` says (204 unless a test makes it fail), and keeps what it took.
 * The demo prints what it takes; the end-to-end tests read it.
 */
export class DemoCrm {
  /** What it took, as it came. */
  readonly events: CrmEvent[] = [];
  /** Why it refused deliveries it could not verify. */
  readonly unverified: string[] = [];
  /** The ids of the deliveries it answered with a failure (`answer`). */
  readonly failed: string[] = [];
  secret = '';
  url = '';
  answer: () => number = () => 204;
  private server?: Server;

  constructor(private readonly print: (line: string) => void = () => {}) {}

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
          this.unverified.push(check.why);
          this.print(`  CRM      refused a delivery: ${check.why}`);
          response.writeHead(401).end();
          return;
        }
        const status = this.answer();
        if (status >= 300) {
          this.failed.push(check.id);
          response.writeHead(status).end();
          return;
        }
        const body = JSON.parse(text) as CrmEvent['body'];
        const taken: CrmEvent = {
          id: check.id,
          receivedAt: Date.now(),
          eventType: body.eventType,
          sequence: body.sequence,
          orderId: body.correlationId,
          summary: summaryOf(body.eventType, (body.event.productOrder ?? {}) as Record<string, unknown>),
          body,
        };
        this.events.push(taken);
        this.print(`  CRM      ← ${taken.eventType} ${taken.summary} (signature verified)`);
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/tmf-events`;
  }

  /** What it took about one order, ordered as the events' sequence says. */
  of(orderId: string): CrmEvent[] {
    return this.events
      .filter((e) => e.orderId === orderId)
      .sort((a, b) => a.sequence.localeCompare(b.sequence));
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
