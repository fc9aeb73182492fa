// The workspace index: every .ex/.exs file's FileIndex, and lookups by module, registered name and
// supervisor name. Files are re-indexed one at a time on edits; a file that fails to read or parse
// is recorded with the error and the rest of the workspace stays indexed.
import { BeamLensError } from '../../errors';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Parser } from 'web-tree-sitter';
import type { WorkerReply } from './worker';
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

  /** Stores an index computed elsewhere (the cold-index worker). */
  put(uri: string, index: FileIndex | null, error?: string): void {
    this.files.set(uri, index ? { uri, version: null, ...index } : { uri, version: null, modules: [], hasErrors: true, lines: 0, ...(error ? { error } : {}) });
    this.invalidate();
  }

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

/**
 * Indexes every Elixir file under the roots; returns how long it took. Open documents win over
 * disk. With a worker script available (the bundle), a second thread parses half of the files.
 */
export async function indexFolders(
  index: WorkspaceIndex,
  roots: string[],
  skip: (uri: string) => boolean = () => false,
  options: { workerScript?: string | null } = {},
): Promise<{ files: number; ms: number; workers: number }> {
  const started = performance.now();
  const paths: string[] = [];
  for (const root of roots) paths.push(...(await elixirFiles(root)));
  const script = options.workerScript === undefined ? defaultWorkerScript() : options.workerScript;
  const useWorker = script !== null && paths.length >= 200 && availableParallelism() > 1;
  let files = 0;
  const local = async (share: string[]): Promise<void> => {
    // Read a batch of files concurrently, parse them one by one (parsing is synchronous).
    const BATCH = 64;
    for (let i = 0; i < share.length; i += BATCH) {
      const batch = share.slice(i, i + BATCH);
      const texts = await Promise.all(batch.map((p) => readFile(p, 'utf8').catch(() => null)));
      batch.forEach((p, j) => {
        const uri = pathToFileURL(p).toString();
        const text = texts[j];
        if (text === null || text === undefined || skip(uri)) return;
        index.indexText(uri, text);
        files++;
      });
    }
  };
  if (!useWorker) {
    await local(paths);
    return { files, ms: performance.now() - started, workers: 0 };
  }
  const half = Math.floor(paths.length / 2);
  const [mine, theirs] = [paths.slice(0, half), paths.slice(half)];
  const remote = inWorker(script, theirs, (reply) => {
    for (const r of reply) {
      if (skip(r.uri)) continue;
      index.put(r.uri, r.index, r.error);
      files++;
    }
  }).catch(() => local(theirs)); // a worker that cannot start: do its share here
  await local(mine);
  await remote;
  return { files, ms: performance.now() - started, workers: 1 };
}

function defaultWorkerScript(): string | null {
  const candidate = path.join(__dirname, 'index-worker.js');
  return existsSync(candidate) ? candidate : null;
}

/** Runs one worker over `paths` in batches; the worker is terminated when done or on error. */
async function inWorker(script: string, paths: string[], onReply: (r: WorkerReply) => void): Promise<void> {
  const worker = new Worker(script, { workerData: { wasmDir: __dirname } });
  try {
    await new Promise<void>((resolve, reject) => {
      const BATCH = 100;
      let next = 0;
      let pending = 0;
      const send = (): void => {
        if (next >= paths.length) {
          if (pending === 0) resolve();
          return;
        }
        pending++;
        worker.postMessage({ paths: paths.slice(next, next + BATCH) });
        next += BATCH;
      };
      worker.on('message', (m: WorkerReply | 'ready') => {
        if (m === 'ready') {
          send();
          send(); // keep one batch queued while the other is parsed
          return;
        }
        pending--;
        onReply(m);
        send();
      });
      worker.once('error', reject);
      worker.once('exit', (code) => (next < paths.length || pending > 0 ? reject(new BeamLensError('internal', `index worker exited (${code})`)) : resolve()));
    });
  } finally {
    await worker.terminate();
  }
}
