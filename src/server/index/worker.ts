// dist/index-worker.js: parses a share of the workspace's files on another core during the cold
// index. Receives file paths, answers with their FileIndex (plain data), one message per batch.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { indexSource, type FileIndex } from './extract';
import { elixirParser } from './parser';

export interface WorkerRequest {
  paths: string[];
}

export type WorkerReply = { uri: string; index: FileIndex | null; error?: string }[];

async function run(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const parser = await elixirParser((workerData as { wasmDir?: string } | undefined)?.wasmDir);
  port.on('message', (req: WorkerRequest | 'close') => {
    if (req === 'close') {
      parser.delete();
      port.close();
      return;
    }
    void (async () => {
      const texts = await Promise.all(req.paths.map((p) => readFile(p, 'utf8').catch(() => null)));
      const reply: WorkerReply = req.paths.map((p, i) => {
        const uri = pathToFileURL(p).toString();
        const text = texts[i];
        if (text === null || text === undefined) return { uri, index: null, error: 'unreadable' };
        try {
          return { uri, index: indexSource(parser, text) };
        } catch (err) {
          return { uri, index: null, error: err instanceof Error ? err.message : String(err) };
        }
      });
      port.postMessage(reply);
    })();
  });
  port.postMessage('ready');
}

void run();
