/** The mock engine's draws and jitter use the one seeded generator in common. */
export { seededRandom as createRandom } from '../common/seeded-random.js';
