import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { hasJava, stopStaleJvm } from '../../local/dynamodb';

const ROOT = resolve(import.meta.dirname, '../..');
const javaHere = hasJava();

describe('DynamoDB Local as a child of the runtime', () => {
  // Without Java the runtime uses dynalite, in its own process: there is no child to leave behind.
  it('goes when its process exits without stopping it', {
    skip: !javaHere && 'no Java on this machine',
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-orphan-'));
    try {
      // A process that starts DynamoDB Local, says its pid and exits without stopping it.
      const script = [
        `const { startDynamoDb } = await import(${JSON.stringify(join(ROOT, 'local/dynamodb.ts'))});`,
        `const db = await startDynamoDb(${JSON.stringify(dir)}, 'us-east-1', 'memory');`,
        "console.log('pid ' + db.pid);",
        'process.exit(0);',
      ].join('\n');
      const output = await new Promise<string>((done, fail) => {
        const child = spawn(
          process.execPath,
          [
            '--no-concurrent-sparkplug',
            '--no-concurrent-recompilation',
            '--import',
            'tsx',
            '--input-type=module',
            '-e',
            script,
          ],
          { cwd: ROOT },
        );
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        child.stderr.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        child.on('error', fail);
        child.on('close', () => done(text));
      });
      const pid = Number(/pid (\d+)/.exec(output)?.[1]);
      assert.ok(pid > 0, `the child said its JVM's pid: ${output}`);

      let alive = true;
      for (let waited = 0; alive && waited < 10_000; waited += 100) {
        alive =
          existsSync(`/proc/${pid}`) &&
          !/State:\s+Z/.test(String(execFileSync('cat', [`/proc/${pid}/status`])));
        if (alive) await new Promise((r) => setTimeout(r, 100));
      }
      if (alive) process.kill(pid, 'SIGKILL');
      assert.equal(alive, false, `DynamoDB Local (pid ${pid}) outlived its process`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is stopped at the next start when it outlived a runtime killed with SIGKILL, and only if it holds the folder', async () => {
    // Prepare: two long-running processes, one whose command line names the data folder (as a JVM
    // started with -dbPath does) and one that does not; the pid file names each in turn.
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-stale-'));
    const keepAlive = 'setTimeout(() => {}, 60000)';
    const holder = spawn(process.execPath, ['-e', keepAlive, dir], { stdio: 'ignore' });
    const stranger = spawn(process.execPath, ['-e', keepAlive], { stdio: 'ignore' });
    const exited = (child: typeof holder) => new Promise((done) => child.once('exit', done));
    try {
      // Act
      writeFileSync(join(dir, 'jvm.pid'), `${stranger.pid}\n`);
      const spared = await stopStaleJvm(dir);
      writeFileSync(join(dir, 'jvm.pid'), `${holder.pid}\n`);
      const holderExit = exited(holder);
      const stopped = await stopStaleJvm(dir);

      // Assess
      assert.equal(spared, undefined, 'a process that does not hold the folder is left alone');
      assert.equal(stranger.exitCode, null);
      assert.equal(stopped, holder.pid);
      assert.equal(await holderExit, null, 'killed by a signal');
      assert.equal(existsSync(join(dir, 'jvm.pid')), false);
    } finally {
      stranger.kill('SIGKILL');
      holder.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
