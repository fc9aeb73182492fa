// The TLS part of the attach dialog: plain TCP, or TLS distribution with the user's client
// certificate, key and CA files, or with the node's ssl_dist optfile, or (with a warning) without
// checking the node's certificate. Only paths are asked and kept (per saved connection); core's
// attach service reads the files on each attach and never keeps key material in a message.
import { accessSync, constants, statSync } from 'node:fs';
import * as vscode from 'vscode';
import { tlsPathProblem, tlsSettingsProblem, type FileState, type SavedTls } from './model/attach-advice';

function fileState(p: string): FileState {
  try {
    if (statSync(p).isDirectory()) return 'directory';
    accessSync(p, constants.R_OK);
    return 'file';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
}

/** One path; undefined = cancelled, '' = left empty (only when optional). */
async function askPath(title: string, prompt: string, what: string, optional: boolean, value?: string): Promise<string | undefined> {
  const text = await vscode.window.showInputBox({
    title,
    prompt,
    value: value ?? '',
    ignoreFocusOut: true,
    validateInput: (v) => tlsPathProblem(v, what, optional, fileState),
  });
  return text === undefined ? undefined : text.trim();
}

type Mode = 'plain' | 'files' | 'optfile' | 'insecure';

/**
 * Asks how to speak to `node`. Resolves to the TLS settings, null for plain TCP (only offered when
 * `offerPlain`), or undefined when the user cancelled. `current` fills in the paths given before.
 */
export async function chooseTls(node: string, options: { offerPlain: boolean; current?: SavedTls; step?: string }): Promise<SavedTls | null | undefined> {
  const cur = options.current;
  const step = options.step ? ` ${options.step}` : '';
  const items: Array<vscode.QuickPickItem & { mode: Mode }> = [
    ...(options.offerPlain ? [{ label: 'Plain TCP', description: 'the default distribution (-proto_dist inet_tcp)', mode: 'plain' as const }] : []),
    { label: 'TLS with certificate files…', description: 'your client certificate, its key and the CA that signed the node (PEM files)', mode: 'files' },
    { label: "TLS with the node's ssl_dist optfile…", description: 'the file given to -ssl_dist_optfile; its client options are used', mode: 'optfile' },
    {
      label: "$(warning) TLS without checking the node's certificate…",
      description: 'insecure: anyone between you and the node can pose as it',
      mode: 'insecure',
    },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `Distribution of ${node}${step}`, placeHolder: 'How the node speaks distribution (-proto_dist)', ignoreFocusOut: true });
  if (!pick) return undefined;
  const title = `TLS for ${node}`;
  switch (pick.mode) {
    case 'plain':
      return null;
    case 'optfile': {
      const optfile = await askPath(title, "Path of the node's ssl_dist optfile (Erlang terms: [{server, …}, {client, […]}])", 'ssl_dist optfile', false, cur?.optfile);
      return optfile ? { optfile } : undefined;
    }
    case 'files':
    case 'insecure': {
      const insecure = pick.mode === 'insecure';
      const cert = await askPath(title, 'Path of your client certificate (PEM); leave empty if the node asks for none', 'client certificate', true, cur?.cert);
      if (cert === undefined) return undefined;
      let key: string | undefined = '';
      if (cert !== '') {
        key = await askPath(title, 'Path of its private key (PEM); leave empty when the key is in the certificate file', 'key', true, cur?.key);
        if (key === undefined) return undefined;
      }
      let ca: string | undefined = '';
      if (!insecure) {
        ca = await askPath(title, "Path of the CA certificate(s) that signed the node's certificate (PEM); leave empty to use the system's CAs", 'CA file', true, cur?.ca);
        if (ca === undefined) return undefined;
      }
      const t: SavedTls = { ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(ca ? { ca } : {}), ...(insecure ? { insecure: true } : {}) };
      const problem = tlsSettingsProblem(t);
      if (problem) {
        void vscode.window.showErrorMessage(`BEAM Lens: ${problem}.`);
        return undefined;
      }
      if (insecure) {
        const ok = await vscode.window.showWarningMessage(
          `Attach to ${node} without checking its TLS certificate?`,
          { modal: true, detail: 'Anyone between you and the node can pose as it and see everything BEAM Lens reads. Use this only on a network you trust, never for production.' },
          'Attach Insecurely',
        );
        if (ok !== 'Attach Insecurely') return undefined;
      }
      return t;
    }
  }
}

/** Only the CA file (the node's certificate was not trusted). */
export async function chooseCa(node: string, current: SavedTls | undefined): Promise<SavedTls | undefined> {
  const ca = await askPath(`TLS for ${node}`, "Path of the CA certificate(s) that signed the node's certificate (PEM)", 'CA file', false, current?.ca);
  if (!ca) return undefined;
  const { insecure: _insecure, ...rest } = current ?? {};
  return { ...rest, ca };
}
