// Drives the real VS Code workbench (code-server) in headless Debian chromium through
// playwright-core: temp user-data and extensions dirs, the .vsix installed like a user would,
// palette commands, quick picks, sidebar items, webviews (two nested iframes), screenshots.
// Every wait has a deadline and names what it waited for; code-server is stopped by its PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';

const HERE = __dirname;
const CODE_SERVER = path.join(HERE, 'node_modules/.bin/code-server');
export const ARTIFACTS = path.join(HERE, 'artifacts');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface WorkbenchOptions {
  vsix: string;
  /** More .vsix files to install next to it (e.g. a test-only extension). */
  extraVsix?: string[];
  folder: string;
  settings?: Record<string, unknown>;
}

export class Workbench {
  private constructor(
    readonly page: Page,
    private readonly browser: Browser,
    private readonly server: ChildProcess,
    private readonly dirs: string[],
    readonly url: string,
  ) {}

  static async start(options: WorkbenchOptions): Promise<Workbench> {
    const base = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-'));
    const userData = path.join(base, 'user');
    const extensions = path.join(base, 'extensions');
    mkdirSync(path.join(userData, 'User'), { recursive: true });
    mkdirSync(extensions, { recursive: true });
    const settingsFile = path.join(userData, 'User', 'settings.json');
    const settings = {
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'workbench.tips.enabled': false,
      'extensions.ignoreRecommendations': true,
      ...options.settings,
    };
    writeFileSync(settingsFile, JSON.stringify(settings));
    // Its own config file, so nothing is written under ~/.config.
    const config = path.join(base, 'config.yaml');
    writeFileSync(config, 'auth: none\n');
    for (const file of [options.vsix, ...(options.extraVsix ?? [])]) {
      const install = spawnSync(CODE_SERVER, ['--config', config, '--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', file], { encoding: 'utf8', timeout: 120_000 });
      if (install.status !== 0) throw new Error(`installing ${file} failed: ${install.stderr || install.stdout}`);
    }
    const port = await freePort();
    const server = spawn(
      CODE_SERVER,
      ['--config', config, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--user-data-dir', userData, '--extensions-dir', extensions, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', options.folder],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let output = '';
    server.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.folder)}`;
    try {
      await until('code-server to answer HTTP', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true, 60_000, 250);
    } catch (err) {
      stopProcessGroup(server);
      throw new Error(`${err instanceof Error ? err.message : String(err)}; code-server output: ${output.slice(-2000)}`);
    }
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    return new Workbench(page, browser, server, [base], url);
  }

  /** Runs a command from the palette by its full title ("BEAM: Attach to Node…"). */
  async runCommand(title: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const input = this.page.locator('.quick-input-widget input');
    const item = this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    // A quick input that is still closing (or a webview taking focus back) can swallow F1 or
    // hide the palette right after it opened: open it again until the command is listed.
    for (;;) {
      await this.page.keyboard.press('Escape');
      await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 2000 }).catch(() => undefined);
      await this.page.keyboard.press('F1');
      const step = Math.max(500, Math.min(3000, deadline - Date.now()));
      try {
        await input.waitFor({ timeout: step });
        await input.fill(`>${title}`, { timeout: step });
        await item.waitFor({ timeout: Math.max(step, 5000) });
        await input.press('Enter');
        return;
      } catch (err) {
        if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms running "${title}" from the command palette: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    }
  }

  /** Picks the item of the open quick pick whose label contains `label`. */
  async quickPick(label: string, timeoutMs = 20_000): Promise<void> {
    const row = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: label }).first();
    await row.waitFor({ timeout: timeoutMs });
    await row.click();
  }

  /**
   * Answers the input box whose title or prompt shows `title`: waits for that step (a multi-step
   * input reuses one widget, so typing too early lands in the previous step), types, presses
   * Enter and waits until the step is gone.
   */
  async answer(title: string | RegExp, text: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget', { hasText: title });
    await widget.waitFor({ timeout: 30_000 });
    const input = widget.locator('input').first();
    await input.fill(text);
    await until(`the input "${String(title)}" to hold the text`, async () => (await input.inputValue()) === text, 5000, 50);
    await input.press('Enter');
    await until(`the input "${String(title)}" to close`, async () => (await widget.count()) === 0 || !(await widget.isVisible()), 30_000, 50);
  }

  /** Types into the open input box and presses Enter. */
  async typeInQuickInput(text: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(text);
    await input.press('Enter');
  }

  /** Shows a view container (clicking its activity bar item again would hide it). */
  async openViewContainer(title: string): Promise<void> {
    const item = this.page.locator(`.activitybar .action-item:has([aria-label*="${title}"])`).first();
    const checked = await item.getAttribute('aria-selected').catch(() => null) ?? await item.locator('[aria-label]').first().getAttribute('aria-checked').catch(() => null);
    const open = (await item.getAttribute('class'))?.includes('checked') || checked === 'true';
    if (!open) await this.page.locator(`.activitybar [aria-label*="${title}"]`).first().click();
  }

  /** Opens a workspace file through quick open (typed into the palette without '>'). */
  async openFile(name: string): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(name);
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 30_000 });
    await input.press('Enter');
    await this.page.locator('.tabs-container .tab', { hasText: name }).first().waitFor({ timeout: 30_000 });
  }

  /** Expands a sidebar tree item by its twistie (clicking the label runs the item's command). */
  async expand(label: string): Promise<void> {
    const row = this.treeItem(label);
    await row.waitFor({ timeout: 30_000 });
    if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.monaco-tl-twistie').click();
  }

  /**
   * "BEAM: Attach to Node…" as a user does it with a cookie file: picks `listed` from the EPMD list,
   * the env tag, "Cookie file…", types the path, and waits for the node (`node`, as it calls itself)
   * in the sidebar.
   */
  async attachWithCookieFile(listed: string, cookieFile: string, node = listed, timeoutMs = 60_000): Promise<void> {
    await this.runCommand('BEAM: Attach to Node…');
    await this.quickPick(listed);
    await this.quickPick('local');
    await this.quickPick('Cookie file…');
    await this.answer('Path of the file holding the cookie', cookieFile);
    await this.treeItem(node).waitFor({ timeout: timeoutMs });
  }

  treeItem(label: string): Locator {
    return this.page.locator('.sidebar .monaco-list-row', { hasText: label }).first();
  }

  /** The visible webview's own document (outer iframe, then the active frame inside it). */
  webview(): FrameLocator {
    return this.page.locator('iframe.webview.ready:visible').last().contentFrame().locator('iframe#active-frame').contentFrame();
  }

  /**
   * The visible webview whose document has an element matching `selector`, pinned to that
   * webview's own iframe: with two editor groups (a detail opened beside a tree) the view wanted
   * is not always the last frame, and the frames' order changes as views are revealed.
   */
  async webviewWith(selector: string, timeoutMs = 60_000): Promise<{ view: FrameLocator; frame: Locator }> {
    const inner = (frame: Locator): FrameLocator => frame.contentFrame().locator('iframe#active-frame').contentFrame();
    return until(
      `a visible webview showing ${selector}`,
      async () => {
        const frames = this.page.locator('iframe.webview.ready:visible');
        for (let i = (await frames.count()) - 1; i >= 0; i--) {
          const candidate = frames.nth(i);
          if ((await inner(candidate).locator(selector).count()) === 0) continue;
          // Pin it by its own attributes so later lookups do not follow the list's order.
          const name = await candidate.getAttribute('name');
          const frame = name ? this.page.locator(`iframe.webview[name="${name}"]`) : candidate;
          return { view: inner(frame), frame };
        }
        return undefined;
      },
      timeoutMs,
      250,
    );
  }

  /** The text of the notification that matches (a toast, or in the notification center: see clickNotification). */
  async notification(text: RegExp, timeoutMs = 60_000): Promise<string> {
    const found = await this.findNotification(text, timeoutMs);
    const content = (await found.item.textContent()) ?? '';
    await found.done();
    return content;
  }

  /**
   * Clicks `button` on the notification whose text matches; returns its text. Looks at the toasts
   * first, then in the notification center: VS Code shows at most 3 new toasts per 800 ms and files
   * the others in the center only (its spam protection), which a test answering dialogs at machine
   * speed meets — an attach's progress notification and its error are two. On failure the error
   * carries the extension's log, which says whether the extension showed anything.
   */
  async clickNotification(text: RegExp, button: string, timeoutMs = 60_000): Promise<string> {
    const found = await this.findNotification(text, timeoutMs);
    const content = (await found.item.textContent()) ?? '';
    await found.item.locator('.monaco-button', { hasText: button }).first().click();
    await found.done();
    return content;
  }

  private async findNotification(text: RegExp, timeoutMs: number, toastMs = 15_000): Promise<{ item: Locator; done: () => Promise<void> }> {
    const toast = this.page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
    const inCenter = this.page.locator('.notifications-center .notification-list-item', { hasText: text }).first();
    const centerHeader = this.page.locator('.notifications-center .notifications-center-header');
    // The status bar's bell toggles the center: a mouse click, which leaves an open input box alone.
    const bell = this.page.locator('[id="status.notifications"]').first();
    const start = Date.now();
    let centerOpened = false;
    let centerLooked = false;
    for (;;) {
      for (const item of [toast, inCenter]) {
        if (await item.isVisible().catch(() => false)) {
          if (item === inCenter) console.log(`      (the notification ${String(text)} was in the notification center, not a toast)`);
          // An open center keeps later notifications from showing as toasts: close it again.
          return { item, done: async () => (centerOpened ? bell.click().catch(() => undefined) : undefined) };
        }
      }
      if (Date.now() - start > timeoutMs) {
        if (centerOpened) await bell.click().catch(() => undefined);
        throw new Error(`no notification matching ${String(text)} within ${timeoutMs} ms; the extension's log ends:\n${this.extensionLog(25)}`);
      }
      if (!centerLooked && Date.now() - start > Math.min(toastMs, timeoutMs / 2)) {
        centerLooked = true;
        centerOpened = !(await centerHeader.isVisible().catch(() => false));
        if (centerOpened) await bell.click().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The last lines of the extension's own log ("BEAM Lens" output channel), for a failed step's report. */
  extensionLog(lines = 40): string {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name === 'BEAM Lens.log' || e.name.endsWith('-BEAM Lens.log')) found.push(p);
      }
    };
    for (const d of this.dirs) {
      try {
        walk(path.join(d, 'user', 'logs'));
      } catch {
        // no logs yet
      }
    }
    return found.map((f) => readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n')).join('\n');
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    stopProcessGroup(this.server);
    await until('code-server to exit', () => this.server.exitCode !== null || this.server.signalCode !== null, 15_000, 100).catch(() => {
      if (this.server.pid) process.kill(-this.server.pid, 'SIGKILL');
    });
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** code-server runs its own children (extension host, language server): stop its process group. */
function stopProcessGroup(p: ChildProcess): void {
  if (p.pid === undefined || p.exitCode !== null) return;
  try {
    process.kill(-p.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
