// Root hooks: whatever happens in a suite, nodes the tests started are stopped at the end.
import { stopAllNodes } from './harness';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopAllNodes();
  },
};
