import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  mediaTypeOf,
  type SimulatedAnswer,
  type SimulatedSystem,
  type SimulatorOptions,
  startSimulatedSystem,
} from './simulated-system';

/**
 * A legacy billing system that speaks XML only: it starts charging a service's recurring and one-time
 * charges on the order's billing account (one account per order, opened by its first charge request).
 *
 * `POST /billing/accounts/charges`, content-type `application/xml` (or `text/xml`, or a `+xml` type):
 *
 * ```xml
 * <chargeRequest>
 *   <orderId>ORD-1</orderId>                  required, non-empty
 *   <serviceId>SVC-000001</serviceId>         required, non-empty
 *   <charges>                                 required, one <charge> or more
 *     <charge>
 *       <type>recurring</type>                required: recurring | one-time
 *       <period>month</period>                required for recurring (month is all it bills), absent for one-time
 *       <amount currency="EUR">39.90</amount> required: a non-negative decimal, at most 9 integer and
 *                                             2 fraction digits; currency an ISO 4217 code, one per request
 *       <description>DSL 100</description>    optional
 *     </charge>
 *   </charges>
 * </chargeRequest>
 * ```
 *
 * An XML declaration and comments may appear; nothing else may: no other element, attribute, repeated
 * element, stray text or DTD. 200 answers
 * `<chargeResponse><billingAccountId>BA-000001</billingAccountId><status>charging</status>
 * <monthlyTotal currency="EUR">39.90</monthlyTotal><oneTimeTotal currency="EUR">0.00</oneTimeTotal></chargeResponse>`
 * with the totals of this request. A refused request gets 400 (415 for a body that is not XML at all)
 * `<error><code>MISSING_ELEMENT</code><message>…</message></error>`, the codes being those of
 * {@link ChargeRequestErrorCode}.
 *
 * `DELETE /billing/accounts/{billingAccountId}/charges` stops charging the account: 204, or 404
 * `<error><code>UNKNOWN_ACCOUNT</code>…</error>` when nothing is charged on it.
 */
export type ChargeType = 'recurring' | 'one-time';

export interface RequestedCharge {
  type: ChargeType;
  period?: 'month';
  /** The amount as sent, e.g. "39.90". */
  amount: string;
  currency: string;
  description?: string;
}

export interface ChargeRequest {
  orderId: string;
  serviceId: string;
  charges: RequestedCharge[];
}

/** A charge the system accepted, with the request and the account it was billed to. */
export interface BilledCharge extends RequestedCharge {
  billingAccountId: string;
  orderId: string;
  serviceId: string;
}

export type ChargeRequestErrorCode =
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'MALFORMED_XML'
  | 'INVALID_DOCUMENT'
  | 'MISSING_ELEMENT'
  | 'INVALID_CHARGE_TYPE'
  | 'INVALID_PERIOD'
  | 'INVALID_AMOUNT'
  | 'INVALID_CURRENCY'
  | 'MIXED_CURRENCY';

export class ChargeRequestError extends Error {
  override readonly name = 'ChargeRequestError';
  constructor(
    readonly code: ChargeRequestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const ATTRIBUTE = '@_';
const TEXT = '#text';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTRIBUTE,
  textNodeName: TEXT,
  // Ids like "0012" and amounts like "39.90" must arrive as written, not as numbers.
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: ATTRIBUTE,
  textNodeName: TEXT,
});

type XmlValue = string | XmlElement | XmlValue[];
interface XmlElement {
  [name: string]: XmlValue;
}

/** Reads and strictly validates a charge request; throws a {@link ChargeRequestError} naming the first fault. */
export function parseChargeRequest(xml: string): ChargeRequest {
  // A legacy system has no business expanding entities a caller defines.
  if (/<!DOCTYPE/i.test(xml)) throw new ChargeRequestError('MALFORMED_XML', 'a DTD is not accepted');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new ChargeRequestError('MALFORMED_XML', `${valid.err.msg} (line ${valid.err.line})`);
  }
  const document = parser.parse(xml) as XmlElement;
  const roots = Object.keys(document);
  if (roots.length !== 1 || roots[0] !== 'chargeRequest') {
    throw new ChargeRequestError('INVALID_DOCUMENT', 'the document must be a single <chargeRequest>');
  }
  const request = childrenOf(document.chargeRequest, 'chargeRequest', ['orderId', 'serviceId', 'charges']);
  const orderId = requiredText(request, 'orderId', 'chargeRequest');
  const serviceId = requiredText(request, 'serviceId', 'chargeRequest');
  if (request.charges === undefined) {
    throw new ChargeRequestError('MISSING_ELEMENT', 'chargeRequest/charges is required');
  }
  const list = childrenOf(request.charges, 'charges', ['charge'], ['charge']).charge;
  const chargeElements = list === undefined ? [] : Array.isArray(list) ? list : [list];
  if (chargeElements.length === 0) {
    throw new ChargeRequestError('MISSING_ELEMENT', 'charges must hold at least one <charge>');
  }
  const charges = chargeElements.map((element, i) => chargeOf(element, `charges/charge[${i + 1}]`));
  const currencies = new Set(charges.map((charge) => charge.currency));
  if (currencies.size > 1) {
    throw new ChargeRequestError('MIXED_CURRENCY', `charges mix currencies: ${[...currencies].join(', ')}`);
  }
  return { orderId, serviceId, charges };
}

function chargeOf(element: XmlValue, path: string): RequestedCharge {
  const fields = childrenOf(element, path, ['type', 'period', 'amount', 'description']);
  const type = requiredText(fields, 'type', path);
  if (type !== 'recurring' && type !== 'one-time') {
    throw new ChargeRequestError(
      'INVALID_CHARGE_TYPE',
      `${path}/type must be recurring or one-time, not ${type}`,
    );
  }
  const period = optionalText(fields, 'period', path);
  if (type === 'recurring' && period !== 'month') {
    throw new ChargeRequestError('INVALID_PERIOD', `${path}/period must be month for a recurring charge`);
  }
  if (type === 'one-time' && period !== undefined) {
    throw new ChargeRequestError('INVALID_PERIOD', `${path}/period is not allowed on a one-time charge`);
  }
  if (fields.amount === undefined)
    throw new ChargeRequestError('MISSING_ELEMENT', `${path}/amount is required`);
  const { amount, currency } = amountOf(fields.amount, `${path}/amount`);
  const description = optionalText(fields, 'description', path);
  return {
    type,
    ...(period === 'month' ? { period } : {}),
    amount,
    currency,
    ...(description === undefined ? {} : { description }),
  };
}

function amountOf(value: XmlValue, path: string): { amount: string; currency: string } {
  if (Array.isArray(value))
    throw new ChargeRequestError('INVALID_DOCUMENT', `${path} is given more than once`);
  const element: XmlElement = typeof value === 'string' ? { [TEXT]: value } : value;
  for (const name of Object.keys(element)) {
    if (name !== TEXT && name !== `${ATTRIBUTE}currency`) {
      throw new ChargeRequestError('INVALID_DOCUMENT', `${path} may hold only text and a currency attribute`);
    }
  }
  const amount = element[TEXT] ?? '';
  if (typeof amount !== 'string' || !/^\d{1,9}(\.\d{1,2})?$/.test(amount)) {
    throw new ChargeRequestError(
      'INVALID_AMOUNT',
      `${path} must be a decimal like 39.90, not "${String(amount)}"`,
    );
  }
  const currency = element[`${ATTRIBUTE}currency`];
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    throw new ChargeRequestError('INVALID_CURRENCY', `${path} needs a currency attribute like EUR`);
  }
  return { amount, currency };
}

/** The child elements of a container, refusing anything the schema does not name there. */
function childrenOf(value: XmlValue | undefined, path: string, allowed: string[], repeatable: string[] = []) {
  if (value === undefined || value === '') return {} as XmlElement;
  if (typeof value === 'string') throw new ChargeRequestError('INVALID_DOCUMENT', `${path} holds stray text`);
  if (Array.isArray(value))
    throw new ChargeRequestError('INVALID_DOCUMENT', `${path} is given more than once`);
  for (const [name, child] of Object.entries(value)) {
    if (name === TEXT) throw new ChargeRequestError('INVALID_DOCUMENT', `${path} holds stray text`);
    if (name.startsWith(ATTRIBUTE)) {
      throw new ChargeRequestError('INVALID_DOCUMENT', `${path} has an unknown attribute ${name.slice(2)}`);
    }
    if (!allowed.includes(name)) {
      throw new ChargeRequestError('INVALID_DOCUMENT', `${path} has an unknown element <${name}>`);
    }
    if (Array.isArray(child) && !repeatable.includes(name)) {
      throw new ChargeRequestError('INVALID_DOCUMENT', `${path}/${name} is given more than once`);
    }
  }
  return value;
}

function optionalText(fields: XmlElement, name: string, path: string): string | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new ChargeRequestError('INVALID_DOCUMENT', `${path}/${name} must hold text only`);
  }
  return value;
}

function requiredText(fields: XmlElement, name: string, path: string): string {
  const value = optionalText(fields, name, path);
  if (!value) throw new ChargeRequestError('MISSING_ELEMENT', `${path}/${name} is required`);
  return value;
}

/** Sums decimal amounts in cents, so 0.10 + 0.20 is 0.30 and not 0.30000000000000004. */
function total(amounts: string[]): string {
  const cents = amounts.reduce((sum, amount) => {
    const [whole = '0', fraction = ''] = amount.split('.');
    return sum + Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  }, 0);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function xmlAnswer(status: number, document: XmlElement): SimulatedAnswer {
  return { status, contentType: 'application/xml', text: XML_DECLARATION + builder.build(document) };
}

function isXml(contentType: string | undefined): boolean {
  const mediaType = mediaTypeOf(contentType);
  return mediaType === 'application/xml' || mediaType === 'text/xml' || !!mediaType?.endsWith('+xml');
}

export async function startBilling(
  options: SimulatorOptions,
): Promise<SimulatedSystem & { charges: BilledCharge[]; stopped: string[] }> {
  const charges: BilledCharge[] = [];
  const accountByOrder = new Map<string, string>();
  /** Accounts whose charges a DELETE stopped, in that order. */
  const stopped: string[] = [];

  const charge = (text: string, contentType: string | undefined): SimulatedAnswer => {
    let request: ChargeRequest;
    try {
      if (!isXml(contentType)) {
        throw new ChargeRequestError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/xml');
      }
      request = parseChargeRequest(text);
    } catch (error) {
      if (!(error instanceof ChargeRequestError)) throw error;
      const status = error.code === 'UNSUPPORTED_MEDIA_TYPE' ? 415 : 400;
      return xmlAnswer(status, { error: { code: error.code, message: error.message } });
    }
    const { orderId, serviceId } = request;
    const billingAccountId =
      accountByOrder.get(orderId) ?? `BA-${String(accountByOrder.size + 1).padStart(6, '0')}`;
    accountByOrder.set(orderId, billingAccountId);
    for (const requested of request.charges)
      charges.push({ ...requested, billingAccountId, orderId, serviceId });

    // Validation guarantees at least one charge and a single currency.
    const currency = request.charges[0]?.currency ?? '';
    const amountsOf = (type: ChargeType) =>
      request.charges.filter((c) => c.type === type).map((c) => c.amount);
    return xmlAnswer(200, {
      chargeResponse: {
        billingAccountId,
        status: 'charging',
        monthlyTotal: { [TEXT]: total(amountsOf('recurring')), [`${ATTRIBUTE}currency`]: currency },
        oneTimeTotal: { [TEXT]: total(amountsOf('one-time')), [`${ATTRIBUTE}currency`]: currency },
      },
    });
  };

  const system = await startSimulatedSystem(
    { name: 'billing', ...options },
    {
      'POST /billing/accounts/charges': ({ text, contentType }) => charge(text, contentType),
      // Stops charging the account: 204, or 404 (in XML, as its errors are) when nothing is charged on it.
      'DELETE /billing/accounts/{billingAccountId}/charges': ({ params }) => {
        const account = params.billingAccountId ?? '';
        const charged = charges.filter((c) => c.billingAccountId === account);
        if (charged.length === 0)
          return xmlAnswer(404, {
            error: { code: 'UNKNOWN_ACCOUNT', message: `nothing is charged on ${account}` },
          });
        charges.splice(0, charges.length, ...charges.filter((c) => c.billingAccountId !== account));
        stopped.push(account);
        return { status: 204 };
      },
    },
  );
  return Object.assign(system, { charges, stopped });
}
