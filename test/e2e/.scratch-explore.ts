import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Workbench } from './driver';
(async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'bl-scratch-ws-'));
  const t0 = Date.now();
  const wb = await Workbench.start({ vsix: '/tmp/bl-smoke.vsix', folder });
  console.log('started in', Date.now() - t0, 'ms; server pid', (wb as any).server.pid, 'dirs', (wb as any).dirs);
  try {
    await wb.page.keyboard.press('F1');
    const input = wb.page.locator('.quick-input-widget input');
    console.log('inputs in widget:', await input.count());
    await wb.page.locator('.quick-input-widget input[type="text"], .quick-input-box input').first().fill('>BEAM: List');
    await wb.page.waitForTimeout(1500);
    const rows = wb.page.locator('.quick-input-list .monaco-list-row');
    for (let i = 0; i < await rows.count(); i++) console.log('ROW', i, await rows.nth(i).getAttribute('aria-label'), '|', await rows.nth(i).getAttribute('class'), '|', (await rows.nth(i).innerHTML()).slice(0, 1500));
    await wb.page.keyboard.press('Enter');
    await wb.page.waitForTimeout(4000);
    const toasts = wb.page.locator('.notifications-toasts .notification-toast');
    console.log('toasts', await toasts.count());
    for (let i = 0; i < await toasts.count(); i++) console.log('TOAST', (await toasts.nth(i).innerHTML()).slice(0, 1500));
    console.log('qi visible', await wb.page.locator('.quick-input-widget').isVisible());
    await wb.screenshot('scratch');
  } finally {
    await wb.close();
    rmSync(folder, { recursive: true, force: true });
  }
})().catch((e) => { console.error(e); process.exit(1); });
