// Tool errors as MCP results (`isError: true`) with the error's kind and an actionable message:
// a model reads the text, so it says what went wrong and what to call instead.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export class McpToolError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'McpToolError';
  }
}

function kindOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'kind' in err) {
    const k = (err as { kind: unknown }).kind;
    if (typeof k === 'string') return k;
  }
  return 'internal';
}

export function errorResult(err: unknown, structured?: Record<string, unknown>): CallToolResult {
  const kind = kindOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return {
    isError: true,
    content: [{ type: 'text', text: `${kind}: ${message}` }],
    ...(structured ? { structuredContent: { error: { kind, message }, ...structured } } : {}),
  };
}
