// The workspace index: every .ex/.exs file's FileIndex, and lookups by module, registered name and
// supervisor name. Files are re-indexed one at a time on edits; a file that fails to read or parse
// is recorded with the error and the rest of the workspace stays indexed.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Parser } from 'web-tree-sitter';
import { indexSource, type FileIndex, type FunctionDef, type ModuleDef, type SupervisorSpec } from './extract';

/** Directories never indexed: build output, dependencies, tool caches. */
export const SKIP_DIRS = new Set(['_build', 'deps', 'node_modules', '.git', '.elixir_ls', '.lexical', '.expert', 'cover', '.beam-lens', 'priv']);

export interface ModuleEntry {
  uri: string;
  module: ModuleDef;
}

export interface IndexedFile extends FileIndex {
  uri: string;
  version: number | null;
  error?: string;
}

export class WorkspaceIndex {
  private readonly files = new Map<string, IndexedFile>();
  private byModule: Map<string, ModuleEntry> | null = null;
  private byRegisteredName: Map<string, ModuleEntry> | null = null;
  private supervisorsByName: Map<string, { uri: string; module: ModuleDef; spec: SupervisorSpec }> | null = null;

  constructor(private readonly parser: Parser) {}

  /** Indexes (or re-indexes) one file's text. Never throws for bad source. */
  indexText(uri: string, text: string, version: number | null = null): IndexedFile {
    let entry: IndexedFile;
    try {
      entry = { uri, version, ...indexSource(this.parser, text) };
    } catch (err) {
      entry = { uri, version, modules: [], hasErrors: true, lines: 0, error: err instanceof Error ? err.message : String(err) };
    }
    this.files.set(uri, entry);
    this.invalidate();
    return entry;
  }

  remove(uri: string): void {
    if (this.files.delete(uri)) this.invalidate();
  }

  file(uri: string): IndexedFile | undefined {
    return this.files.get(uri);
  }

  get fileCount(): number {
    return this.files.size;
  }

  allFiles(): IterableIterator<IndexedFile> {
    return this.files.values();
  }

  stats(): { files: number; modules: number; functions: number; filesWithErrors: number; lines: number } {
    let modules = 0;
    let functions = 0;
    let filesWithErrors = 0;
    let lines = 0;
    for (const f of this.files.values()) {
      modules += f.modules.length;
      for (const m of f.modules) functions += m.functions.length;
      if (f.hasErrors) filesWithErrors++;
      lines += f.lines;
    }
    return { files: this.files.size, modules, functions, filesWithErrors, lines };
  }

  module(name: string): ModuleEntry | undefined {
    return this.moduleMap().get(name);
  }

  /** The module whose processes register under this name (`name: __MODULE__` or an explicit name). */
  moduleRegisteredAs(name: string): ModuleEntry | undefined {
    this.moduleMap();
    return this.byRegisteredName?.get(name);
  }

  /** An inline supervisor (`Supervisor.start_link(children, name: X)`) by its registered name. */
  supervisorNamed(name: string): { uri: string; module: ModuleDef; spec: SupervisorSpec } | undefined {
    this.moduleMap();
    return this.supervisorsByName?.get(name);
  }

  functionDef(module: string, name: string, arity: number): { uri: string; fn: FunctionDef } | undefined {
    const entry = this.module(module);
    if (!entry) return undefined;
    const fn = entry.module.functions.find((f) => f.name === name && arity <= f.arity && arity >= f.minArity);
    return fn ? { uri: entry.uri, fn } : undefined;
  }

  private invalidate(): void {
    this.byModule = null;
    this.byRegisteredName = null;
    this.supervisorsByName = null;
  }

  private moduleMap(): Map<string, ModuleEntry> {
    if (this.byModule !== null) return this.byModule;
    const byModule = new Map<string, ModuleEntry>();
    const byName = new Map<string, ModuleEntry>();
    const sups = new Map<string, { uri: string; module: ModuleDef; spec: SupervisorSpec }>();
    // Sorted by uri so that duplicates (a module defined twice) resolve the same way every time.
    const uris = [...this.files.keys()].sort();
    for (const uri of uris) {
      const f = this.files.get(uri) as IndexedFile;
      for (const m of f.modules) {
        if (!byModule.has(m.name)) byModule.set(m.name, { uri, module: m });
        for (const n of m.registeredNames) if (!byName.has(n)) byName.set(n, { uri, module: m });
        for (const s of m.supervisors) if (s.name !== undefined && !sups.has(s.name)) sups.set(s.name, { uri, module: m, spec: s });
      }
    }
    this.byRegisteredName = byName;
    this.supervisorsByName = sups;
    this.byModule = byModule;
    return byModule;
  }
}

/** Every .ex/.exs file under `root`, skipping SKIP_DIRS and hidden directories. */
export async function elixirFiles(root: string, limit = 50_000): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.length >= limit) return;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) await walk(full);
      } else if (e.isFile() && (e.name.endsWith('.ex') || e.name.endsWith('.exs'))) {
        out.push(full);
      }
    }
  };
  await walk(root);
  return out;
}

/** Indexes every Elixir file under the roots; returns how long it took. Open documents win over disk. */
export async function indexFolders(index: WorkspaceIndex, roots: string[], skip: (uri: string) => boolean = () => false): Promise<{ files: number; ms: number }> {
  const started = performance.now();
  let files = 0;
  for (const root of roots) {
    const paths = await elixirFiles(root);
    // Read a batch of files concurrently, parse them one by one (parsing is synchronous).
    const BATCH = 64;
    for (let i = 0; i < paths.length; i += BATCH) {
      const batch = paths.slice(i, i + BATCH);
      const texts = await Promise.all(batch.map((p) => readFile(p, 'utf8').catch(() => null)));
      batch.forEach((p, j) => {
        const uri = pathToFileURL(p).toString();
        const text = texts[j];
        if (text === null || text === undefined || skip(uri)) return;
        index.indexText(uri, text);
        files++;
      });
    }
  }
  return { files, ms: performance.now() - started };
}
