// The fake Ray dashboard for tests; README.md in this folder documents it.
export { startFakeRayDashboard, type FakeRayDashboard, type FakeRayDashboardOptions, type RecordedRayRequest } from './fake-ray-dashboard.js';
export type { FakeJob, FakeJobOutcome, FakeJobStatus } from './fake-jobs.js';
