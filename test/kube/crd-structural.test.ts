// The structural-schema check against real CRDs: what KubeRay, LWS, KEDA and Chaos Mesh ship must pass
// (no false alarms on the shapes controller-gen writes).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdStructuralProblems } from '../../src/kube/crd-structural.js';
import { CRD_DIR, HAVE_CRDS, SKIP_REASON } from '../chaos/crd-schema.js';

describe.skipIf(!HAVE_CRDS)(`crdStructuralProblems on the test data's CRDs${SKIP_REASON}`, () => {
  const files = HAVE_CRDS ? readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml')).sort() : [];
  it.each(files)('finds nothing wrong in %s', (f) => {
    expect(crdStructuralProblems(readFileSync(join(CRD_DIR, f), 'utf8'))).toEqual([]);
  });
});
