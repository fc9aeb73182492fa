// Tool errors as MCP results (`isError: true`): the error's kind from the one closed union, and
// an actionable message. A model reads the text, so it says what went wrong and what to do.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { errorKindOf, errorMessage } from '../errors';

export function errorResult(err: unknown): CallToolResult {
  const kind = errorKindOf(err);
  return { isError: true, content: [{ type: 'text', text: `${kind}: ${errorMessage(err)}` }] };
}
