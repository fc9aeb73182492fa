// Intrusive actions (loading the probe, tracing) need consent; on a production-tagged node the
// user must also repeat the node's name. The error says exactly what to add.
import { BeamLensError } from '../../errors';

export type EnvTag = 'local' | 'staging' | 'production';
export const envTags: readonly EnvTag[] = ['local', 'staging', 'production'];

/** 'gc' forces garbage collections of chosen processes (the binary-leak check): nothing is set, but it runs code in them. */
export type IntrusiveAction = 'probe' | 'trace' | 'gc';

export interface ConsentGrants {
  allowProbe?: boolean;
  allowTrace?: boolean;
  allowGc?: boolean;
  /** On production: must equal the node's name. */
  confirmNode?: string;
}

/** An intrusive action was not allowed (kind 'consentRequired'); `action` says which consent is missing. */
export class ConsentRequiredError extends BeamLensError {
  constructor(
    message: string,
    readonly action: IntrusiveAction,
  ) {
    super('consentRequired', message);
    this.name = 'ConsentRequiredError';
  }
}

const what: Record<IntrusiveAction, { flag: string; does: string }> = {
  probe: { flag: '--allow-probe', does: 'load the beam_lens_probe module onto' },
  trace: { flag: '--allow-trace', does: 'set trace patterns and flags on' },
  gc: { flag: '--allow-gc', does: 'force garbage collections of processes on' },
};

/** Throws ConsentRequiredError unless the grants allow `action` on `node` tagged `env`. */
export function requireConsent(action: IntrusiveAction, node: string, env: EnvTag, grants: ConsentGrants): void {
  const granted = action === 'probe' ? grants.allowProbe === true : action === 'trace' ? grants.allowTrace === true : grants.allowGc === true;
  const { flag, does } = what[action];
  if (!granted) {
    throw new ConsentRequiredError(
      `refusing to ${does} ${node} without consent: add ${flag}${env === 'production' ? ` --confirm-node ${node}` : ''}`,
      action,
    );
  }
  if (env === 'production' && grants.confirmNode !== node) {
    throw new ConsentRequiredError(
      grants.confirmNode === undefined
        ? `${node} is tagged production: add --confirm-node ${node} to ${does} it`
        : `--confirm-node ${grants.confirmNode} does not match the node ${node}; repeat the node's exact name`,
      action,
    );
  }
}
