// The public surface of the distribution layer.
export { connect, shortHostname } from './connect';
export type { ConnectOptions } from './connect';
export { NodeConnection } from './connection';
export type { ConnectionOptions, Disposable, RpcCallOptions } from './connection';
export { Cookie, resolveCookie } from './cookie';
export type { CookieSource } from './cookie';
export { listNodes, lookupNodePort, parseNames, EPMD_PORT } from './epmd';
export type { NodePort, RegisteredNode } from './epmd';
export { DistError, RpcError, timeoutError } from './errors';
export { DFLAG, OUR_FLAGS, flagNames } from './flags';
export { LocalNode, LocalProcess } from './local-node';
export type { RemoteTarget } from './local-node';
