// Certificates for TLS distribution tests, made with openssl: a CA, a node certificate for this
// host (short name, localhost, 127.0.0.1), a client certificate, and a rogue CA with its own client.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { shortHost } from './harness';

export interface TestCerts {
  dir: string;
  ca: string;
  nodeCert: string;
  nodeKey: string;
  clientCert: string;
  clientKey: string;
  rogueCa: string;
  rogueCert: string;
  rogueKey: string;
  /** The node's -ssl_dist_optfile: mutual TLS, client certificates required. */
  nodeOptfile: string;
  /** An optfile whose client options are ours (certfile, keyfile, cacertfile, verify_peer). */
  clientOptfile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function issue(dir: string, name: string, caName: string, subject: string, ext: string): void {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'beam-lens-tls-'));
  for (const ca of ['ca', 'rogue-ca']) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=BEAM Lens test ${ca}`], dir);
  }
  issue(dir, 'node', 'ca', '/CN=test node', `subjectAltName=DNS:${shortHost()},DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`);
  issue(dir, 'client', 'ca', '/CN=beam-lens client', 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'rogue', 'rogue-ca', '/CN=rogue client', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string): string => path.join(dir, f);
  for (const key of ['ca.key', 'rogue-ca.key', 'node.key', 'client.key', 'rogue.key']) chmodSync(p(key), 0o600);
  const opts = (cert: string, key: string): string =>
    `[{certfile, "${p(cert)}"}, {keyfile, "${p(key)}"}, {cacertfile, "${p('ca.pem')}"}, {verify, verify_peer}`;
  const nodeOptfile = p('node_ssl_dist.conf');
  writeFileSync(nodeOptfile, `[{server, ${opts('node.pem', 'node.key')}, {fail_if_no_peer_cert, true}]},\n {client, ${opts('node.pem', 'node.key')}]}].\n`);
  const clientOptfile = p('client_ssl_dist.conf');
  writeFileSync(clientOptfile, `%% what a user copies from the node, with their own client certificate\n[{server, []},\n {client, ${opts('client.pem', 'client.key')}]}].\n`);
  return {
    dir,
    ca: p('ca.pem'),
    nodeCert: p('node.pem'),
    nodeKey: p('node.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    rogueCa: p('rogue-ca.pem'),
    rogueCert: p('rogue.pem'),
    rogueKey: p('rogue.key'),
    nodeOptfile,
    clientOptfile,
  };
}
