import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { freePort, listen } from '../../local/free-port';

describe('freePort', () => {
  it('never hands out the same port twice in one process, even when the first was never used', async () => {
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    assert.equal(new Set(ports).size, ports.length);
  });
});

describe('listen', () => {
  it('rejects with the address when the port is taken, instead of throwing an uncaught error', async (t) => {
    const first = createServer();
    const port = await freePort();
    await listen(first, port);
    t.after(() => first.close());
    const second = createServer();

    await assert.rejects(
      listen(second, port),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
    );
    assert.equal(second.listening, false);
  });
});
