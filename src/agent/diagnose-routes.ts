/**
 * GET /v1/diagnose: runs the diagnose checks over fresh samples. Level 1 takes one sample; level 2
 * takes two, `window` ms apart, so counters can be compared and XIDs that arrive in between seen.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import { DiagnoseReport } from '../accel/diagnose/diagnose-report.js';
import { runDiagnose } from '../accel/diagnose/run-diagnose.js';
import type { AccelSnapshot } from '../accel/types.js';
import { BrixletError } from '../common/errors.js';
import type { BrixletServer } from '../common/http/create-server.js';

export const DIAGNOSE_DEFAULT_WINDOW_MS = 2000;
export const DIAGNOSE_MAX_WINDOW_MS = 30_000;

export interface DiagnoseRouteDeps {
  /** The agent's sampler (only sampleNow is used: diagnose always reads the devices afresh). */
  readonly sampler: { sampleNow(): Promise<AccelSnapshot> };
  /** accel.expectedCount; a request can override it with ?expectedCount=. */
  readonly expectedCount: number;
  readonly xidIgnore: readonly number[];
  /** Waits out the level-2 window; tests pass a fake. */
  readonly wait?: (ms: number) => Promise<void>;
}

export const DiagnoseQuery = Type.Object(
  {
    level: Type.Integer({ minimum: 1, maximum: 2, default: 1, description: '1: one sample; 2: two samples a window apart (deltas, new XIDs).' }),
    window: Type.Integer({
      minimum: 100,
      maximum: DIAGNOSE_MAX_WINDOW_MS,
      default: DIAGNOSE_DEFAULT_WINDOW_MS,
      description: 'Level 2: milliseconds between the two samples.',
    }),
    expectedCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 1024, description: 'Devices expected on the node (0 = do not check); default accel.expectedCount.' })),
  },
  { additionalProperties: false },
);

async function sample(deps: DiagnoseRouteDeps): Promise<AccelSnapshot> {
  try {
    return await deps.sampler.sampleNow();
  } catch (err) {
    throw new BrixletError('BRX_ERR_ACCEL_UNAVAILABLE', { reason: `sampling failed: ${(err as Error).message}` }, { cause: err });
  }
}

export function registerDiagnoseRoutes(app: BrixletServer, deps: DiagnoseRouteDeps): void {
  const wait = deps.wait ?? ((ms: number) => sleep(ms));
  app.get(
    '/v1/diagnose',
    {
      schema: {
        summary: 'Diagnose the node\'s accelerators: ordered results with status, severity and recommended action.',
        querystring: DiagnoseQuery,
        response: { 200: DiagnoseReport },
      },
    },
    async (request) => {
      const { level, window, expectedCount } = request.query;
      const first = await sample(deps);
      let later: AccelSnapshot | undefined;
      if (level === 2) {
        await wait(window);
        later = await sample(deps);
      }
      return runDiagnose({
        level: level === 2 ? 2 : 1,
        snapshot: first,
        later,
        expectedCount: expectedCount ?? deps.expectedCount,
        xidIgnore: deps.xidIgnore,
      });
    },
  );
}
