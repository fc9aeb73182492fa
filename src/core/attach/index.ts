// The attach service: one way for every face (CLI, extension, language server, MCP) to turn a
// target and a cookie into an attached Attachment.
export { attach, attachError, checkTimeoutMs, resolveAttachCookie, DEFAULT_ATTACH_TIMEOUT_MS } from './attach';
export type { AttachRequest, CookieInput } from './attach';
export { nodeNameProblem, parseEnvTag, parseHostPort, parseNodeName, parseTarget, portProblem } from './target';
export type { AttachTarget, TargetInput } from './target';
// Finding a target: the nodes a host's EPMD knows (for faces that may not reach into src/erldist).
export { listNodes } from '../../erldist';
export type { RegisteredNode } from '../../erldist';
