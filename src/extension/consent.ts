// Consent for intrusive actions: a modal dialog that says exactly what will be set on which node
// and how it is undone; on a production-tagged node the user must type the node's name. Granted
// consent is recorded on the Attachment (for this attachment only) and in the audit log.
import * as vscode from 'vscode';
import type { IntrusiveAction } from '../core/attach/consent';
import type { AttachedNode } from './nodes';
import type { Log } from './log';

const WHAT: Record<IntrusiveAction, string> = {
  probe:
    'load the beam_lens_probe module onto the node. It makes large process tables and trees cheap and runs tracing; ' +
    'it is purged when you detach (kept, with your part undone, while another BEAM Lens on the node still uses it), and removes itself if VS Code disappears.',
  trace:
    'set trace patterns and flags on the node, bounded by a rate limit, a cap and a deadline, with a circuit breaker. ' +
    'Everything is removed when the session ends or if VS Code disappears.',
  gc: 'force a garbage collection of the processes holding the most binary memory (bounded in count and time). Nothing is set or loaded.',
};

/** Asks for consent to `actions` on the node; true when granted (and recorded on the session). */
export async function askConsent(n: AttachedNode, actions: IntrusiveAction[], purpose: string, log: Log): Promise<boolean> {
  const grants = n.session.options.grants ?? {};
  const missing = actions.filter((a) => (a === 'probe' ? grants.allowProbe !== true : a === 'trace' ? grants.allowTrace !== true : grants.allowGc !== true));
  const needsName = n.env === 'production' && grants.confirmNode !== n.node;
  if (missing.length === 0 && !needsName) return true;
  const detail = `${purpose}\n\nBEAM Lens will ${missing.map((a) => WHAT[a]).join('\n\nIt will also ')}\n\nNode: ${n.node} (${n.env})`;
  const choice = await vscode.window.showWarningMessage(`Allow BEAM Lens to change ${n.node}?`, { modal: true, detail }, 'Allow');
  if (choice !== 'Allow') {
    log.audit({ node: n.node, env: n.env, action: `consent for ${actions.join('+')}`, outcome: 'refused', detail: purpose });
    return false;
  }
  if (n.env === 'production') {
    const typed = await vscode.window.showInputBox({
      title: `${n.node} is tagged production`,
      prompt: `Type the node's name (${n.node}) to allow: ${purpose}`,
      ignoreFocusOut: true,
      validateInput: (v) => (v === n.node || v === '' ? null : `That is not ${n.node}`),
    });
    if (typed !== n.node) {
      log.audit({ node: n.node, env: n.env, action: `consent for ${actions.join('+')}`, outcome: 'refused', detail: 'node name not confirmed' });
      return false;
    }
    n.session.grant({ confirmNode: n.node });
  }
  n.session.grant({ ...(actions.includes('probe') ? { allowProbe: true } : {}), ...(actions.includes('trace') ? { allowTrace: true } : {}), ...(actions.includes('gc') ? { allowGc: true } : {}) });
  log.audit({ node: n.node, env: n.env, action: `consent for ${actions.join('+')}`, outcome: 'granted', detail: purpose });
  return true;
}
