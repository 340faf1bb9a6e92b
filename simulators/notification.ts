import { type SimulatedSystem, type SimulatorOptions, startSimulatedSystem } from './simulated-system';

export interface SentMessage {
  messageId: string;
  to: string;
  text: string;
}

/**
 * A customer notification gateway: `POST /messages` `{ to, text }` → 202 `{ messageId, status:
 * "queued" }`; a request without a recipient or a text is refused with 400 naming the field.
 */
export async function startNotification(
  options: SimulatorOptions,
): Promise<SimulatedSystem & { messages: SentMessage[] }> {
  const messages: SentMessage[] = [];
  const system = await startSimulatedSystem(
    { name: 'notification', ...options },
    {
      'POST /messages': ({ body }) => {
        const request = (body ?? {}) as { to?: unknown; text?: unknown };
        for (const field of ['to', 'text'] as const) {
          if (typeof request[field] !== 'string' || request[field] === '')
            return { status: 400, body: { error: `${field} is required`, field } };
        }
        const message = {
          messageId: `MSG-${String(messages.length + 1).padStart(6, '0')}`,
          to: request.to as string,
          text: request.text as string,
        };
        messages.push(message);
        return { status: 202, body: { messageId: message.messageId, status: 'queued' } };
      },
    },
  );
  return Object.assign(system, { messages });
}
