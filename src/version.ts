// The version of BEAM Lens, from package.json (the bundler inlines only this field). A leaf:
// every layer may import it (CLI --version, the language server's serverInfo, MCP's server info).
import { version } from '../package.json';

/** BEAM Lens's version, as package.json says. */
export const VERSION: string = version;
