// Saved reports: `.beam-lens/reports/ID.md` next to the sessions, so a face can list and reopen
// them (the MCP server serves them as resources, the editor can open them).
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function reportsDir(cwd: string): string {
  return path.join(cwd, '.beam-lens', 'reports');
}

/** Ids are file names without extension; nothing that could leave the directory. */
export function isSavedId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/.test(id) && !id.includes('..');
}

export function saveReport(id: string, markdown: string, cwd: string): string {
  const file = path.join(reportsDir(cwd), `${id}.md`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, markdown);
  return file;
}

export function loadReport(id: string, cwd: string): string | null {
  if (!isSavedId(id)) return null;
  try {
    return readFileSync(path.join(reportsDir(cwd), `${id}.md`), 'utf8');
  } catch {
    return null;
  }
}

/** Ids of the files with extension `ext` in `dir`, newest first, at most `limit`. */
export function savedIds(dir: string, ext: string, limit = 100): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(ext));
  } catch {
    return [];
  }
  return names
    .map((n) => ({ id: n.slice(0, -ext.length), at: statSync(path.join(dir, n)).mtimeMs }))
    .sort((x, y) => y.at - x.at || (x.id < y.id ? 1 : -1))
    .slice(0, limit)
    .map((x) => x.id);
}
