import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type HttpOutcome,
  type HttpStep,
  type Procedure,
  procedureSchema,
  runProcedure,
  startProgress,
} from '../../lambdas/domain/procedure';

/** Book an installation slot, stop when there is none, then confirm it to the customer. */
const booking: Procedure = procedureSchema.parse({
  id: 'book-installation',
  inputs: ['serviceAddress', 'email'],
  outputs: ['slotId', 'confirmationId'],
  steps: [
    {
      id: 'find-slot',
      type: 'http',
      interface: 'scheduling-book-slot',
      body: '{ "address": input.serviceAddress }',
    },
    {
      id: 'no-slot',
      type: 'fail',
      condition: '$not($exists(steps.`find-slot`.slotId))',
      error: 'NoSlotAvailable',
      message: '"no installation slot near " & input.serviceAddress',
    },
    {
      id: 'letter',
      type: 'transform',
      expression: '{ "to": input.email, "slot": steps.`find-slot`.slotId }',
    },
    {
      id: 'send',
      type: 'http',
      system: 'notification',
      method: 'POST',
      path: '/messages',
      body: 'steps.letter',
      condition: '$exists(input.email)',
    },
    {
      id: 'result',
      type: 'set',
      values: { slotId: 'steps.`find-slot`.slotId', confirmationId: 'steps.send.messageId' },
    },
  ],
});

const input = { serviceAddress: '1 Main Street', email: 'ada@example.com' };

/** An HTTP machinery that answers from a script by step id, and records what it was asked. */
function scriptedHttp(answers: Record<string, unknown | 'suspend'>) {
  const calls: { step: string; body: unknown }[] = [];
  const perform = async (step: HttpStep, body: unknown): Promise<HttpOutcome> => {
    calls.push({ step: step.id, body });
    const answer = answers[step.id];
    if (answer === 'suspend') return { kind: 'suspended' };
    return { kind: 'answered', body: answer, request: { body } };
  };
  return { calls, perform };
}

describe('runProcedure', () => {
  it('runs http, transform and set steps in order, each seeing what came before, and hands back its outputs', async () => {
    const http = scriptedHttp({ 'find-slot': { slotId: 'SLOT-7' }, send: { messageId: 'MSG-1' } });

    const result = await runProcedure(booking, input, startProgress(), http.perform);

    assert.equal(result.kind, 'completed');
    assert.deepEqual(result.kind === 'completed' && result.outputs, {
      slotId: 'SLOT-7',
      confirmationId: 'MSG-1',
    });
    assert.deepEqual(http.calls, [
      { step: 'find-slot', body: { address: '1 Main Street' } },
      { step: 'send', body: { to: 'ada@example.com', slot: 'SLOT-7' } },
    ]);
    assert.deepEqual(
      result.progress.trace.map((t) => [t.step, t.skipped ?? false]),
      [
        ['find-slot', false],
        ['no-slot', true],
        ['letter', false],
        ['send', false],
        ['result', false],
      ],
    );
    assert.deepEqual(result.progress.steps.letter, { to: 'ada@example.com', slot: 'SLOT-7' });
  });

  it('skips a step whose condition is false or yields nothing', async () => {
    const http = scriptedHttp({ 'find-slot': { slotId: 'SLOT-7' }, send: { messageId: 'MSG-1' } });
    const quiet = procedureSchema.parse({
      ...booking,
      inputs: ['serviceAddress'],
      outputs: ['slotId'],
      steps: booking.steps.map((s) =>
        s.id === 'result' ? { ...s, values: { slotId: 'steps.`find-slot`.slotId' } } : s,
      ),
    });

    const result = await runProcedure(quiet, { serviceAddress: 'x' }, startProgress(), http.perform);

    assert.equal(result.kind, 'completed');
    assert.deepEqual(
      http.calls.map((c) => c.step),
      ['find-slot'],
      'no email: the notification is skipped (its condition yields nothing)',
    );
    assert.equal(result.progress.trace.find((t) => t.step === 'send')?.skipped, true);
  });

  it('stops at a fail step with its named error and message, after the steps before it', async () => {
    const http = scriptedHttp({ 'find-slot': { reason: 'fully booked' } });

    const result = await runProcedure(booking, input, startProgress(), http.perform);

    assert.equal(result.kind, 'failed');
    assert.ok(result.kind === 'failed');
    assert.equal(result.error, 'NoSlotAvailable');
    assert.equal(result.message, 'no installation slot near 1 Main Street');
    assert.equal(result.step, 'no-slot');
    assert.deepEqual(
      http.calls.map((c) => c.step),
      ['find-slot'],
    );
  });

  it('suspends at an HTTP step that is not done now, and resumes there without repeating earlier steps', async () => {
    const held = scriptedHttp({ 'find-slot': { slotId: 'SLOT-7' }, send: 'suspend' });
    const saved: number[] = [];

    const first = await runProcedure(booking, input, startProgress(), held.perform, {
      onStep: async (p) => {
        saved.push(p.next);
      },
    });

    assert.equal(first.kind, 'suspended');
    assert.ok(first.kind === 'suspended');
    assert.equal(first.step.id, 'send');
    assert.equal(first.progress.next, 3, 'the next step to run is send');
    assert.deepEqual(saved, [1, 2, 3], 'progress was handed over after every step');

    const released = scriptedHttp({ send: { messageId: 'MSG-9' } });
    const second = await runProcedure(booking, input, first.progress, released.perform);

    assert.equal(second.kind, 'completed');
    assert.deepEqual(
      released.calls.map((c) => c.step),
      ['send'],
      'find-slot did not run again',
    );
    assert.deepEqual(second.kind === 'completed' && second.outputs, {
      slotId: 'SLOT-7',
      confirmationId: 'MSG-9',
    });
  });

  it('fails with the expression name when an expression throws, never by throwing', async () => {
    const broken = procedureSchema.parse({
      id: 'broken',
      steps: [{ id: 'boom', type: 'transform', expression: '$number("not a number")' }],
    });

    const result = await runProcedure(broken, {}, startProgress(), scriptedHttp({}).perform);

    assert.equal(result.kind, 'failed');
    assert.ok(result.kind === 'failed');
    assert.equal(result.error, 'MappingError');
    assert.match(result.message, /broken\.boom\.expression/);
  });

  it('fails when an input is missing, naming it, and when an output was never set', async () => {
    const missingInput = await runProcedure(
      booking,
      { email: 'x' },
      startProgress(),
      scriptedHttp({}).perform,
    );
    assert.equal(missingInput.kind === 'failed' && missingInput.error, 'MissingInput');
    assert.match(missingInput.kind === 'failed' ? missingInput.message : '', /serviceAddress/);

    const unset = procedureSchema.parse({
      id: 'unset',
      outputs: ['answer'],
      steps: [{ id: 'noop', type: 'set', values: { other: '1' } }],
    });
    const missingOutput = await runProcedure(unset, {}, startProgress(), scriptedHttp({}).perform);
    assert.equal(missingOutput.kind === 'failed' && missingOutput.error, 'MissingOutput');
  });
});

describe('procedureSchema', () => {
  it('names the field of a step that is not what it should be', () => {
    const result = procedureSchema.safeParse({
      id: 'bad',
      steps: [
        { id: 'a', type: 'teleport' },
        { id: 'b', type: 'http', interface: 'x', system: 'y' },
        { id: 'c', type: 'http', system: 'y' },
        { id: 'd', type: 'fail', error: 'lower', message: '"m"' },
        { id: 'e', type: 'set', values: {} },
      ],
    });
    assert.equal(result.success, false);
    const issues = result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.ok(
      issues.some((i) => i.startsWith('steps.0.type: the step type must be one of http')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('steps.1.interface: names either an interface')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('steps.2.method')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('steps.2.path')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('steps.3.error')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('steps.4.values: sets at least one variable')),
      issues.join('\n'),
    );
  });
});
