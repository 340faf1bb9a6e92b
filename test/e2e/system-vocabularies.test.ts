import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { demoVoiceOrder } from '../../local/demo-orders';
import { eventually, itemOf, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';

/**
 * Systems that do not speak Switchboard's language, through the local runtime: the number-porting
 * gateway calls back in its own vocabulary (SCHEDULED, PORTED, REJECTED with a reason code), which its
 * interface's callback mapping reads; the legacy telephony platform cannot call back and is polled for
 * its job's status — and, when it does call back as well, the first final answer applies and the other
 * changes nothing; taken Down while it is polled, the item waits On Hold and polls again once it is Up.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const PORT_NUMBER = 'voice-line.port-number.1';
const PROVISION_LINE = 'voice-line.provision-line.1';

interface ItemView {
  id: string;
  key: string;
  state: string;
  error?: string;
  history: { state: string; reason: string }[];
  attributes?: Record<string, unknown>;
  interimAttributes?: Record<string, unknown>;
  awaiting?: { since: string; deadline: string; poll?: { path: string } };
}

interface OrderBody {
  id: string;
  state: string;
  fulfilmentAttributes?: Record<string, unknown>;
}

async function submit(sb: TestSwitchboard, phoneNumber: string): Promise<string> {
  const created = await sb.call('POST', ORDERS, demoVoiceOrder(phoneNumber));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return (created.body as { id: string }).id;
}

const item = (sb: TestSwitchboard, orderId: string, key: string) => itemOf<ItemView>(sb, orderId, key);

const orderState = async (sb: TestSwitchboard, id: string) =>
  ((await sb.call('GET', `${ORDERS}/${id}`)).body as OrderBody).state;

const waitForOrder = (sb: TestSwitchboard, id: string, state: string) =>
  eventually(
    async () => ((await orderState(sb, id)) === state ? true : undefined),
    60_000,
    `order ${id} to be ${state}`,
  );

const waitForItem = (sb: TestSwitchboard, orderId: string, key: string, test: (item: ItemView) => boolean) =>
  eventually(
    async () => {
      const found = await item(sb, orderId, key);
      return test(found) ? found : undefined;
    },
    60_000,
    `item ${key} of order ${orderId}`,
  );

const jobOf = (sb: TestSwitchboard, orderId: string) =>
  sb.systems.telephony.jobs.find((job) => job.orderId === orderId);

async function setTelephony(sb: TestSwitchboard, state: 'Up' | 'Down', reason: string) {
  const answer = await sb.call('PUT', '/admin/systems/telephony/state', { state, reason });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
}

describe('systems in their own vocabulary: mapped callbacks and polled status', () => {
  let sb: TestSwitchboard;
  before(async () => {
    sb = await startTestSwitchboard();
  });
  after(async () => {
    await sb?.stop();
  });

  it('ports a number the gateway reports in its own words, then polls the telephony platform until its job is done', async () => {
    sb.systems.telephony.pollsUntilDone = 3;
    const id = await submit(sb, '+441632960001');
    await waitForOrder(sb, id, 'completed');

    // The gateway's SCHEDULED callback was an interim update that kept the port date; PORTED completed.
    const port = await item(sb, id, PORT_NUMBER);
    assert.equal(port.state, 'Completed');
    const portDate = port.attributes?.portDate;
    assert.match(String(portDate), /^\d{4}-\d{2}-\d{2}$/);
    assert.deepEqual(port.attributes, {
      portDate,
      portedNumber: '+441632960001',
      portRef: port.attributes?.portRef,
    });
    assert.match(String(port.attributes?.portRef), /^PRT-\d{6}$/);
    assert.ok(
      port.history.some((h) => h.reason === `interim update from the system: port scheduled for ${portDate}`),
      port.history.map((h) => h.reason).join(' | '),
    );

    // Provisioning was asked three times: QUEUED, RUNNING (its progress kept), COMPLETE.
    const job = jobOf(sb, id);
    assert.ok(job, 'telephony got the job');
    assert.equal(job.polls, 3);
    const line = await item(sb, id, PROVISION_LINE);
    assert.equal(line.state, 'Completed');
    assert.equal(line.attributes?.circuitId, `CCT-${job.jobId.slice(4)}`);
    assert.ok(typeof line.attributes?.provisioningProgress === 'number', JSON.stringify(line.attributes));
    assert.ok(
      line.history.some((h) => h.reason.includes(`polling /jobs/${job.jobId} for its status`)),
      line.history.map((h) => h.reason).join(' | '),
    );
    assert.equal(line.history.filter((h) => h.state === 'Completed').length, 1);
    assert.equal(
      sb.systems.telephony.requests.filter((r) => r.method === 'POST').length >= 1,
      true,
      'the job was created',
    );

    // The order says what the systems gave it.
    const order = (await sb.call('GET', `${ORDERS}/${id}`)).body as OrderBody;
    assert.equal(order.fulfilmentAttributes?.portedNumber, '+441632960001');
    assert.equal(order.fulfilmentAttributes?.circuitId, line.attributes?.circuitId);
  });

  it('fails the port in fallout with the reason code the gateway gave in its own words', async () => {
    const id = await submit(sb, '+441632960099');
    const port = await waitForItem(sb, id, PORT_NUMBER, (item) => item.state === 'FatallyFailed');
    assert.match(
      port.error ?? '',
      /^the system reported failure: port rejected \(reason code 42\): Acme Telecom does not hold \+441632960099/,
    );
    await waitForOrder(sb, id, 'held');
    assert.equal(jobOf(sb, id), undefined, 'nothing was provisioned');
  });

  it('refuses with 400 a callback its mapping cannot read, naming the body, and changes nothing', async () => {
    sb.systems.telephony.pollsUntilDone = 1000;
    const id = await submit(sb, '+441632960002');
    // Wait for the port's acceptance, then play the gateway with a state its mapping does not know.
    const request = await eventually(
      async () =>
        sb.systems.porting.requests.find(
          (r) => r.method === 'POST' && (r.body as { orderId?: string } | undefined)?.orderId === id,
        ),
      30_000,
      'the port-in request',
    );
    const url = String(request.headers['callback-url']);
    const refused = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ portRef: 'PRT-X', state: 'TELEPORTED' }),
    });
    assert.equal(refused.status, 400);
    const problem = (await refused.json()) as { problems?: { field: string; message: string }[] };
    assert.equal(problem.problems?.[0]?.field, 'body');
    assert.match(
      problem.problems?.[0]?.message ?? '',
      /porting-port-in.*porting-callback.*produced no value/,
    );
    // The gateway's own callbacks still complete the port; the line then waits for its job.
    await waitForItem(sb, id, PORT_NUMBER, (item) => item.state === 'Completed');
    const line = await waitForItem(sb, id, PROVISION_LINE, (item) => item.awaiting?.poll !== undefined);
    assert.equal(line.state, 'Running');
  });

  it('applies a job done once when a poll and the system’s own callback bring it at the same moment', async () => {
    sb.systems.telephony.pollsUntilDone = 2;
    sb.systems.telephony.callBackWhenDone = true;
    try {
      const id = await submit(sb, '+441632960003');
      await waitForOrder(sb, id, 'completed');
      const job = jobOf(sb, id);
      assert.ok(job);
      // The system called back as the poll that found it done was answered: both reached Switchboard.
      await eventually(
        async () => sb.systems.telephony.callbacks.find((c) => c.status !== undefined && c.url.includes(id)),
        30_000,
        'the system’s callback to be answered',
      );
      const line = await item(sb, id, PROVISION_LINE);
      assert.equal(line.history.filter((h) => h.state === 'Completed').length, 1, 'completed once');
      assert.equal(line.attributes?.circuitId, `CCT-${job.jobId.slice(4)}`);
      // Whichever came second found the wait over: 202 at the door and nothing applied, or 409.
      const sent = sb.systems.telephony.callbacks.filter((c) => c.url.includes(id));
      assert.ok(
        sent.every((c) => c.status === 202 || c.status === 409),
        JSON.stringify(sent),
      );
    } finally {
      sb.systems.telephony.callBackWhenDone = false;
    }
  });

  it('holds a polled item while its system is Down, polls nothing meanwhile, and polls again once it is Up', async () => {
    sb.systems.telephony.pollsUntilDone = 4;
    const id = await submit(sb, '+441632960004');
    await eventually(
      async () => ((jobOf(sb, id)?.polls ?? 0) >= 1 ? true : undefined),
      30_000,
      'a first poll',
    );
    await setTelephony(sb, 'Down', 'platform upgrade');
    try {
      const held = await waitForItem(sb, id, PROVISION_LINE, (item) => item.state === 'OnHold');
      assert.ok(held.awaiting?.poll, 'it still knows what it polls');
      await waitForOrder(sb, id, 'held');
      const onHold = (await sb.call('GET', '/admin/systems/telephony/on-hold-items')).body as {
        items: { orderId: string }[];
      };
      assert.ok(
        onHold.items.some((i) => i.orderId === id),
        'on the system’s on-hold list',
      );
      const pollsWhenHeld = jobOf(sb, id)?.polls ?? 0;
      await sleep(3000);
      assert.equal(jobOf(sb, id)?.polls, pollsWhenHeld, 'no poll while the system is Down');
    } finally {
      await setTelephony(sb, 'Up', 'upgrade done');
    }
    await waitForOrder(sb, id, 'completed');
    const job = jobOf(sb, id);
    assert.equal(job?.polls, 4, 'polled on until done, its job created once');
    assert.equal(
      sb.systems.telephony.requests.filter(
        (r) => r.method === 'POST' && (r.body as { orderId?: string } | undefined)?.orderId === id,
      ).length,
      1,
      'the job was not created again on release',
    );
    const line = await item(sb, id, PROVISION_LINE);
    assert.ok(
      line.history.some((h) => h.state === 'Running' && h.reason.startsWith('released')),
      line.history.map((h) => h.reason).join(' | '),
    );
  });
});
