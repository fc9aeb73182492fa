// Pieces every tool definition shares: the `node` argument and the annotations.
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export const nodeArg = {
  node: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('attached node, name@host (may be omitted when exactly one node is attached)'),
};

/** A tool that only reads from the node. */
export function readOnly(title: string): ToolAnnotations {
  return { title, readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true };
}

/** A tool that sets something on the node for a bounded time and undoes it (tracing, the probe). */
export function intrusive(title: string): ToolAnnotations {
  return { title, readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };
}
