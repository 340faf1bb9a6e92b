/**
 * A custom integration adapter for the legacy billing system, which speaks XML only. The request mapping
 * (start-charging-request) still produces plain JSON; this module puts it in the system's document form
 * and reads the system's answer back into JSON for the response mapping.
 *
 *   request JSON  { orderId, serviceId, charges: [{ type: "recurring" | "one-time", period?, amount, currency, description? }] }
 *   wire          <chargeRequest><orderId/><serviceId/><charges><charge>…</charge></charges></chargeRequest>
 *   answer        <chargeResponse><billingAccountId/><status/><monthlyTotal currency=""/><oneTimeTotal currency=""/></chargeResponse>
 *   answer JSON   { billingAccountId, status, monthlyTotal: { amount, currency }, oneTimeTotal: { amount, currency } }
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import type { CustomAdapter } from '../../lambdas/domain/integration-adapters';

const chargeSchema = z.object({
  type: z.enum(['recurring', 'one-time']),
  period: z.literal('month').optional(),
  amount: z.number().finite().min(0),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code'),
  description: z.string().optional(),
});

const chargeRequestSchema = z.object({
  orderId: z.string().min(1),
  serviceId: z.string().min(1),
  charges: z.array(chargeSchema).min(1),
});

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  suppressEmptyNode: true,
});
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });

const money = z.object({ '#text': z.string(), '@currency': z.string() });
const chargeResponseSchema = z.object({
  chargeResponse: z.object({
    billingAccountId: z.string().min(1),
    status: z.string().min(1),
    monthlyTotal: money,
    oneTimeTotal: money,
  }),
});

const describeIssues = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');

const legacyBillingXml: CustomAdapter = {
  encodeRequest(request) {
    const parsed = chargeRequestSchema.safeParse(request);
    if (!parsed.success)
      throw new Error(`the mapped request is not a charge request: ${describeIssues(parsed.error)}`);
    const { orderId, serviceId, charges } = parsed.data;
    const document = {
      chargeRequest: {
        orderId,
        serviceId,
        charges: {
          charge: charges.map((charge) => ({
            type: charge.type,
            ...(charge.period ? { period: charge.period } : {}),
            // The system reads fixed two-decimal amounts, never exponents or long fractions.
            amount: { '#text': charge.amount.toFixed(2), '@currency': charge.currency },
            ...(charge.description ? { description: charge.description } : {}),
          })),
        },
      },
    };
    return {
      headers: { 'content-type': 'application/xml', accept: 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>${builder.build(document)}`,
    };
  },

  decodeResponse(response) {
    let document: unknown;
    try {
      document = parser.parse(response.body, true);
    } catch (error) {
      throw new Error(`the answer is not XML: ${(error as Error).message}`);
    }
    const parsed = chargeResponseSchema.safeParse(document);
    if (!parsed.success)
      throw new Error(`the answer is not a charge response: ${describeIssues(parsed.error)}`);
    const { billingAccountId, status, monthlyTotal, oneTimeTotal } = parsed.data.chargeResponse;
    return {
      billingAccountId,
      status,
      monthlyTotal: { amount: Number(monthlyTotal['#text']), currency: monthlyTotal['@currency'] },
      oneTimeTotal: { amount: Number(oneTimeTotal['#text']), currency: oneTimeTotal['@currency'] },
    };
  },
};

export default legacyBillingXml;
