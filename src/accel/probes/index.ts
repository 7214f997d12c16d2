/** Every probe, in PROBE_GROUPS order: the sampler reads them and the renderer walks their metrics. */
import { clocks } from './clocks.js';
import { ecc } from './ecc.js';
import { memory } from './memory.js';
import { npuHealth } from './npu-health.js';
import { nvlink } from './nvlink.js';
import { pcie } from './pcie.js';
import { power } from './power.js';
import type { Probe } from './probe.js';
import { processes } from './processes.js';
import { recovery } from './recovery.js';
import { retirement } from './retirement.js';
import { thermal } from './thermal.js';
import { utilization } from './utilization.js';

export const PROBES: readonly Probe[] = [memory, utilization, thermal, power, clocks, pcie, ecc, retirement, nvlink, recovery, processes, npuHealth];
