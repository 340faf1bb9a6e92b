import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:net';

/**
 * Ports this process has handed out. The OS may give a port that was free a moment ago to the next
 * asker too, and a component that listens seconds after it got its port (the API listens last, DynamoDB
 * Local once its JVM is up) would then find it taken: no port is handed out twice.
 */
const handedOut = new Set<number>();

/** A TCP port on loopback that nothing listens on right now, and that this process gave no one before. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = await probe();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port on loopback after 100 tries');
}

/**
 * A free port below the range the OS hands out for port 0 (Linux: 32768 and up): it stays free for a
 * process that binds it again much later (a test whose system must refuse connections for a while, then
 * come back on the same port), where any other test process asking for a port could be given one from
 * that range meanwhile.
 */
export async function portOutsideEphemeralRange(): Promise<number> {
  let low = 32768;
  try {
    low =
      Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // Not Linux: its default range starts higher still.
  }
  for (let tries = 0; tries < 100; tries++) {
    const port = 20_000 + Math.floor(Math.random() * Math.max(1, low - 20_000));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port below the ephemeral range after 100 tries');
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Listens, or rejects with the reason (a port taken meanwhile) instead of leaving it to an uncaught error. */
export function listen(server: Server, port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
