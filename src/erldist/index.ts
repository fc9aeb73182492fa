// The public surface of the distribution layer.
export { connect, shortHostname } from './connect';
export type { ConnectOptions } from './connect';
export { NodeConnection, DEFAULT_CONNECTION_LIMITS, limitsForMessageMb } from './connection';
export type { ConnectionLimits, ConnectionOptions, Disposable, RpcCallOptions } from './connection';
export { TlsSecret } from './tls';
export type { TlsOptions } from './tls';
export { TLS_FLAG_HELP, TLS_FLAG_NAMES, tlsFlagValues, tlsFromFlags, warnIfShared } from './tls-flags';
export type { TlsFlagValues } from './tls-flags';
export { Cookie, resolveCookie } from './cookie';
export type { CookieSource } from './cookie';
export { listNodes, lookupNodePort, parseNames, EPMD_PORT } from './epmd';
export type { NodePort, RegisteredNode } from './epmd';
export { DistError, RpcError, timeoutError, tlsIssueOf } from './errors';
export type { TlsIssue } from './errors';
export { DFLAG, OUR_FLAGS, flagNames } from './flags';
export { LocalNode, LocalProcess } from './local-node';
export type { RemoteTarget } from './local-node';
