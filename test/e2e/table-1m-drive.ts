// Drives the process table's real bundle (dist/webview/process-table.js) in headless chromium
// against a fake host that answers every block query like the extension does, with 1,000,000
// processes: steady scrolling, random jumps, then the bottom. Shared by the e2e test (which
// asserts the bounded DOM and the number of block queries) and bench/table-1m.ts (frame times).
import path from 'node:path';
import { chromium } from 'playwright-core';

export const TOTAL = 1_000_000;

export interface ScrollResult {
  /** Frame times in ms, sorted. */
  frames: number[];
  p50: number;
  p95: number;
  /** Row elements in the DOM at the end. */
  rows: number;
  /** Highest row index shown at the bottom. */
  lastIndex: number;
  /** Block queries the view sent. */
  queries: number;
  /** The toolbar text after the first page. */
  toolbar: string;
}

export async function scrollMillionRows(root: string): Promise<ScrollResult> {
  const browser = await chromium.launch({ executablePath: process.env.BEAM_LENS_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.setContent('<!DOCTYPE html><html><head></head><body><div id="root"></div></body></html>');
    // Plain JavaScript (not compiled by tsx, whose helpers do not exist in the page).
    await page.addScriptTag({
      content: `
        window.queries = 0;
        window.acquireVsCodeApi = () => ({
          getState: () => undefined,
          setState: () => undefined,
          postMessage: (m) => {
            if (m.type !== 'query' && m.type !== 'ready') return;
            window.queries++;
            const q = m.query || { sort: 'mailbox', filter: '', offset: 0, limit: 200 };
            const rows = [];
            for (let i = q.offset; i < Math.min(${TOTAL}, q.offset + q.limit); i++) {
              rows.push({ pid: '<0.' + i + '.0>', name: i % 7 === 0 ? 'Elixir.Worker' + i : null, memory: 2000 + (i % 5000), reductions: ${TOTAL} - i, messageQueueLen: ${TOTAL} - i, currentFunction: 'gen_server:loop/7', initialCall: 'Elixir.Demo.Session:init/1' });
            }
            setTimeout(() => window.postMessage({ type: 'page', node: 'n@h', page: { query: q, total: ${TOTAL}, matched: ${TOTAL}, rows, via: 'probe', refreshedAt: Date.now() } }, '*'), 5);
          },
        });`,
    });
    await page.addStyleTag({ path: path.join(root, 'dist/webview/process-table.css') });
    await page.addScriptTag({ path: path.join(root, 'dist/webview/process-table.js') });
    await page.locator('.row[data-index="0"]').waitFor({ timeout: 10_000 });
    const toolbar = (await page.locator('.toolbar .muted').textContent()) ?? '';
    // Steady scrolling: 240 frames of 150 px, then 60 jumps to random places, then the bottom.
    const timed = (await page.evaluate(`(async () => {
      const grid = document.querySelector('.grid');
      const frames = [];
      let last = performance.now();
      const step = (f) => new Promise((resolve) => requestAnimationFrame(() => {
        const now = performance.now();
        frames.push(now - last);
        last = now;
        f();
        resolve();
      }));
      for (let i = 0; i < 240; i++) await step(() => { grid.scrollTop += 150; });
      for (let i = 0; i < 60; i++) await step(() => { grid.scrollTop = Math.random() * (grid.scrollHeight - grid.clientHeight); });
      await step(() => { grid.scrollTop = grid.scrollHeight; });
      frames.sort((a, b) => a - b);
      return frames;
    })()`)) as number[];
    // The last block arrives after the last scroll: wait for the last row to be shown.
    await page.locator(`.row[data-index="${TOTAL - 1}"]`).waitFor({ timeout: 10_000 }).catch(() => undefined);
    const end = (await page.evaluate(`({
      rows: document.querySelectorAll('.row').length,
      lastIndex: Math.max(...Array.from(document.querySelectorAll('.row[data-index]')).map((r) => Number(r.dataset.index))),
      queries: window.queries,
    })`)) as { rows: number; lastIndex: number; queries: number };
    await page.close();
    return { frames: timed, p50: timed[Math.floor(timed.length / 2)] ?? 0, p95: timed[Math.floor(timed.length * 0.95)] ?? 0, toolbar, ...end };
  } finally {
    await browser.close();
  }
}
