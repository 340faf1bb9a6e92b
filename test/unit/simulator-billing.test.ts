import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { ChargeRequestError, parseChargeRequest, startBilling } from '../../simulators/billing';

const XML = { 'content-type': 'application/xml' };
const reader = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });

interface ChargeXml {
  type?: string;
  period?: string;
  amount?: string;
  currency?: string;
  description?: string;
}

const DSL_CHARGES: ChargeXml[] = [
  { type: 'recurring', period: 'month', amount: '39.90', description: 'DSL 100' },
  { type: 'one-time', amount: '49.00', description: 'Activation fee' },
  { type: 'recurring', period: 'month', amount: '5.05', description: 'Router rental' },
];

function chargeXml({ currency = 'EUR', ...charge }: ChargeXml): string {
  const element = (name: string, value: string | undefined) =>
    value === undefined ? '' : `<${name}>${value}</${name}>`;
  const amount =
    charge.amount === undefined ? '' : `<amount currency="${currency}">${charge.amount}</amount>`;
  return `<charge>${element('type', charge.type)}${element('period', charge.period)}${amount}${element('description', charge.description)}</charge>`;
}

function chargeRequestXml(
  options: { orderId?: string; serviceId?: string; charges?: ChargeXml[] | null; extra?: string } = {},
): string {
  const { orderId = 'o-1', serviceId = 'SVC-000001', charges = DSL_CHARGES, extra = '' } = options;
  const charged = charges === null ? '' : `<charges>${charges.map(chargeXml).join('')}</charges>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<chargeRequest><orderId>${orderId}</orderId><serviceId>${serviceId}</serviceId>${charged}${extra}</chargeRequest>`;
}

describe('the billing simulator', () => {
  let billing: Awaited<ReturnType<typeof startBilling>>;
  before(async () => {
    billing = await startBilling({ port: 0 });
  });
  after(() => billing.stop());

  const charge = (body: string, headers: Record<string, string> = XML) =>
    fetch(`${billing.url}/billing/accounts/charges`, { method: 'POST', headers, body });

  async function errorCodeOf(response: Response): Promise<string> {
    assert.equal(response.headers.get('content-type'), 'application/xml');
    const { error } = reader.parse(await response.text()) as { error: { code: string; message: string } };
    assert.ok(error.message, 'the error carries a message');
    return error.code;
  }

  it('starts charging and answers the totals of the request in XML', async () => {
    const response = await charge(chargeRequestXml());

    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/xml');
    const { chargeResponse } = reader.parse(await response.text());
    assert.deepEqual(chargeResponse, {
      billingAccountId: 'BA-000001',
      status: 'charging',
      monthlyTotal: { '#text': '44.95', '@currency': 'EUR' },
      oneTimeTotal: { '#text': '49.00', '@currency': 'EUR' },
    });
  });

  it('keeps the charges it received, with their order, service and account', () => {
    const received = billing.charges.filter((c) => c.orderId === 'o-1');

    assert.deepEqual(received[0], {
      billingAccountId: 'BA-000001',
      orderId: 'o-1',
      serviceId: 'SVC-000001',
      type: 'recurring',
      period: 'month',
      amount: '39.90',
      currency: 'EUR',
      description: 'DSL 100',
    });
    assert.deepEqual(
      received.map((c) => [c.type, c.amount]),
      [
        ['recurring', '39.90'],
        ['one-time', '49.00'],
        ['recurring', '5.05'],
      ],
    );
  });

  it('bills an order on one account, and another order on its own', async () => {
    const sameOrder = await charge(chargeRequestXml({ charges: [{ type: 'one-time', amount: '0.10' }] }));
    const otherOrder = await charge(
      chargeRequestXml({ orderId: 'o-2', charges: [{ type: 'one-time', amount: '0.20' }] }),
    );

    const accountOf = async (r: Response) => reader.parse(await r.text()).chargeResponse.billingAccountId;
    assert.equal(await accountOf(sameOrder), 'BA-000001');
    assert.equal(await accountOf(otherOrder), 'BA-000002');
  });

  it('answers zero monthly total, in the request currency, when every charge is one-time', async () => {
    const response = await charge(
      chargeRequestXml({
        orderId: 'o-3',
        charges: [
          { type: 'one-time', amount: '0.10', currency: 'CHF' },
          { type: 'one-time', amount: '0.2', currency: 'CHF' },
        ],
      }),
    );

    const { chargeResponse } = reader.parse(await response.text());
    assert.deepEqual(chargeResponse.monthlyTotal, { '#text': '0.00', '@currency': 'CHF' });
    assert.deepEqual(chargeResponse.oneTimeTotal, { '#text': '0.30', '@currency': 'CHF' });
  });

  it('answers 400 MISSING_ELEMENT for a missing orderId, serviceId or charges, or no charge at all', async () => {
    for (const body of [
      chargeRequestXml({ orderId: '' }),
      chargeRequestXml().replace('<orderId>o-1</orderId>', ''),
      chargeRequestXml({ serviceId: '' }),
      chargeRequestXml({ charges: null }),
      chargeRequestXml({ charges: [] }),
      chargeRequestXml({ charges: [{ type: 'one-time' }] }),
      chargeRequestXml({ charges: [{ amount: '1.00' }] }),
    ]) {
      const response = await charge(body);

      assert.equal(response.status, 400, body);
      assert.equal(await errorCodeOf(response), 'MISSING_ELEMENT', body);
    }
  });

  it('answers 400 INVALID_AMOUNT for a malformed amount', async () => {
    for (const amount of ['39,90', '-1.00', '1.999', 'abc', '', '1e3', '1234567890.00', ' . ']) {
      const response = await charge(chargeRequestXml({ charges: [{ type: 'one-time', amount }] }));

      assert.equal(response.status, 400, amount);
      assert.equal(await errorCodeOf(response), 'INVALID_AMOUNT', amount);
    }
  });

  it('answers 400 naming what is wrong with a charge', async () => {
    const cases: [ChargeXml[], string][] = [
      [[{ type: 'monthly', period: 'month', amount: '1.00' }], 'INVALID_CHARGE_TYPE'],
      [[{ type: 'recurring', amount: '1.00' }], 'INVALID_PERIOD'],
      [[{ type: 'recurring', period: 'year', amount: '1.00' }], 'INVALID_PERIOD'],
      [[{ type: 'one-time', period: 'month', amount: '1.00' }], 'INVALID_PERIOD'],
      [[{ type: 'one-time', amount: '1.00', currency: 'euro' }], 'INVALID_CURRENCY'],
      [
        [
          { type: 'one-time', amount: '1.00', currency: 'EUR' },
          { type: 'one-time', amount: '1.00', currency: 'USD' },
        ],
        'MIXED_CURRENCY',
      ],
    ];
    for (const [charges, code] of cases) {
      const response = await charge(chargeRequestXml({ charges }));

      assert.equal(response.status, 400, code);
      assert.equal(await errorCodeOf(response), code);
    }
  });

  it('answers 400 for anything the schema does not name, or XML that is not well-formed', async () => {
    const cases: [string, string][] = [
      [chargeRequestXml({ extra: '<discount>5</discount>' }), 'INVALID_DOCUMENT'],
      [chargeRequestXml({ extra: '<orderId>o-9</orderId>' }), 'INVALID_DOCUMENT'],
      [chargeRequestXml().replace('<chargeRequest>', '<chargeRequest version="2">'), 'INVALID_DOCUMENT'],
      [
        chargeRequestXml().replace('<amount currency="EUR">39.90', '<amount currency="EUR" tax="0">39.90'),
        'INVALID_DOCUMENT',
      ],
      [chargeRequestXml().replace('<charges>', '<charges>stray'), 'INVALID_DOCUMENT'],
      [
        chargeRequestXml().replace('<orderId>o-1</orderId>', '<orderId><id>o-1</id></orderId>'),
        'INVALID_DOCUMENT',
      ],
      ['<chargeResponse/>', 'INVALID_DOCUMENT'],
      ['<chargeRequest/><chargeRequest/>', 'INVALID_DOCUMENT'],
      [chargeRequestXml().replace('</chargeRequest>', ''), 'MALFORMED_XML'],
      ['', 'MALFORMED_XML'],
      [
        `<!DOCTYPE chargeRequest [<!ENTITY x "o-1">]>${chargeRequestXml({ orderId: '&x;' })}`,
        'MALFORMED_XML',
      ],
    ];
    for (const [body, code] of cases) {
      const response = await charge(body);

      assert.equal(response.status, 400, body);
      assert.equal(await errorCodeOf(response), code, body);
    }
  });

  it('answers 415 with an XML error for a body that is not XML', async () => {
    const response = await charge(chargeRequestXml(), { 'content-type': 'text/plain' });

    assert.equal(response.status, 415);
    assert.equal(await errorCodeOf(response), 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts text/xml too, and escapes what it echoes in an error', async () => {
    const accepted = await charge(chargeRequestXml({ orderId: 'o-&amp;-4' }), { 'content-type': 'text/xml' });
    const refused = await charge(chargeRequestXml({ charges: [{ type: '&lt;bad&gt;', amount: '1.00' }] }));

    assert.equal(accepted.status, 200);
    assert.ok(billing.charges.some((c) => c.orderId === 'o-&-4'));
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /not &lt;bad&gt;<\/message>/);
  });

  it('records no charge for a request it refused', async () => {
    const count = billing.charges.length;

    await charge(chargeRequestXml({ orderId: 'o-refused', charges: [{ type: 'one-time', amount: 'x' }] }));

    assert.equal(billing.charges.length, count);
  });
});

describe('parseChargeRequest', () => {
  it('reads a request with a single charge and keeps ids as written', () => {
    const request = parseChargeRequest(
      chargeRequestXml({ orderId: '0012', charges: [{ type: 'one-time', amount: '7' }] }),
    );

    assert.deepEqual(request, {
      orderId: '0012',
      serviceId: 'SVC-000001',
      charges: [{ type: 'one-time', amount: '7', currency: 'EUR' }],
    });
  });

  it('throws a ChargeRequestError with its code', () => {
    assert.throws(
      () => parseChargeRequest('<chargeRequest><serviceId>S</serviceId></chargeRequest>'),
      (error: unknown) => error instanceof ChargeRequestError && error.code === 'MISSING_ELEMENT',
    );
  });
});

describe('the billing simulator, stopping charges', () => {
  it('stops charging an account on a DELETE (204), and says 404 in XML when nothing is charged on it', async () => {
    const billing = await startBilling({ port: 0 });
    try {
      const started = await fetch(`${billing.url}/billing/accounts/charges`, {
        method: 'POST',
        headers: XML,
        body: chargeRequestXml({ orderId: 'o-stop' }),
      });
      const { chargeResponse } = reader.parse(await started.text()) as {
        chargeResponse: { billingAccountId: string };
      };
      const account = chargeResponse.billingAccountId;
      const stop = () => fetch(`${billing.url}/billing/accounts/${account}/charges`, { method: 'DELETE' });

      assert.equal((await stop()).status, 204);
      assert.equal(
        billing.charges.some((c) => c.billingAccountId === account),
        false,
        'the account is charged nothing',
      );
      assert.ok(billing.stopped.includes(account));
      const again = await stop();
      assert.equal(again.status, 404);
      const { error } = reader.parse(await again.text()) as { error: { code: string } };
      assert.equal(error.code, 'UNKNOWN_ACCOUNT');
    } finally {
      await billing.stop();
    }
  });
});
