/**
 * `npm run screenshot`: the picture of the console in the README. Starts the demo on free ports,
 * submits the demo DSL order, waits for it to complete and photographs its page in the console (the plan
 * graph, with activation's panel open) at 1280 × 900 into docs/images/console-order.png.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startDemoEnvironment } from '../local/demo-environment';
import { demoDslOrder } from '../local/demo-orders';

const root = join(import.meta.dirname, '..');
const dataDir = join(root, '.local', 'screenshot');
const out = join(root, 'docs', 'images', 'console-order.png');
rmSync(dataDir, { recursive: true, force: true });
const demo = await startDemoEnvironment({
  dataDir,
  assemblyDir: join(dataDir, 'cdk.out'),
  port: 0,
  systemPorts: 'free',
  latencyMs: 25,
  dynamoDb: 'auto',
  log: () => {},
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--disable-gpu', '--disable-quic'],
});
try {
  const { apiUrl, identities } = demo.runtime;
  const token = (role: string) => identities.find((i) => i.role === role)?.token ?? '';
  const created = await fetch(`${apiUrl}/tmf-api/productOrderingManagement/v5/productOrder`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token('submitter')}`, 'content-type': 'application/json' },
    body: JSON.stringify(demoDslOrder('CRM-10042')),
  });
  const { id } = (await created.json()) as { id: string };
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${apiUrl}/console/#token=${token('operator')}`);
  // Signed in once the navigation shows: only then may the address change.
  await page.getByRole('link', { name: 'Orders' }).waitFor();
  await page.goto(`${apiUrl}/console/#/orders/${id}?item=dsl-broadband.activate-line.1`);
  await page.locator('.panel-head [data-state="completed"]').waitFor({ timeout: 60_000 });
  mkdirSync(join(root, 'docs', 'images'), { recursive: true });
  await page.screenshot({ path: out });
  console.log(`written: ${out}`);
} finally {
  await browser.close();
  await demo.stop();
}
