/**
 * The one brixlet configuration schema. Every key has a default, a `--flag` and a `BRIXLET_*` env
 * twin derived from its path (see fields.ts). Later subsystems add their sections here.
 */
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { Bool, Duration, Enum, Int, Port, Section, Size, Str } from './fields.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigSchema = Type.Object(
  {
    log: Section(
      {
        level: Enum(LOG_LEVELS, 'info', { description: 'Lowest level written to stderr.' }),
        format: Enum(['auto', 'json', 'pretty'] as const, 'auto', {
          description: 'Log line format; auto = pretty on a terminal, JSON lines otherwise.',
        }),
      },
      'Logging (pino, one child logger per component, always on stderr).',
    ),
    agent: Section(
      {
        host: Str('0.0.0.0', { description: 'Address the agent HTTP API binds.' }),
        port: Port(9464, { description: 'Agent HTTP port (/metrics, /v1/*); 0 picks a free port.' }),
        nodeName: Str('', {
          description: 'Node name the agent reports; empty = the host name (set it from spec.nodeName on Kubernetes).',
        }),
        bodyLimit: Size(1 * MiB, 1 * KiB, 64 * MiB, { description: 'Largest request body the agent accepts.' }),
      },
      'The per-node agent (DaemonSet).',
    ),
    gateway: Section(
      {
        host: Str('0.0.0.0', { description: 'Address the OpenAI-compatible gateway binds.' }),
        port: Port(8080, { description: 'Gateway port; 0 picks a free port.' }),
        bodyLimit: Size(16 * MiB, 1 * KiB, 256 * MiB, { description: 'Largest request body the gateway accepts.' }),
      },
      'The coordinator gateway listener (OpenAI-compatible API).',
    ),
    control: Section(
      {
        host: Str('0.0.0.0', { description: 'Address the coordinator control API binds.' }),
        port: Port(8081, { description: 'Control port (/metrics, /v1/nodes); 0 picks a free port.' }),
        bodyLimit: Size(1 * MiB, 1 * KiB, 64 * MiB, { description: 'Largest request body the control API accepts.' }),
      },
      'The coordinator control listener (registry, metrics, admin).',
    ),
    accel: Section(
      {
        backend: Str('auto', {
          alias: '--accel',
          pattern: '^(auto|nvml|dcmi|none|sim:[\\w./-]+)$',
          expected: 'auto, nvml, dcmi, none or sim:<scenario>',
          description:
            'Accelerator backend: auto (every vendor library that loads and is real), nvml, dcmi, none, or sim:<scenario> (a name from mocks/scenarios/ or a path to a scenario JSON).',
        }),
        sampleInterval: Duration(5000, 100, 600_000, { description: 'How often every device is sampled into a new snapshot.' }),
        xidIgnore: Str('13,31,43,45,68,109', {
          pattern: '^(\\d+(,\\d+)*)?$',
          expected: 'a comma-separated list of XID numbers',
          description: 'XIDs that do not affect device health (application errors); comma-separated.',
        }),
        expectedCount: Int(0, 0, 1024, { description: 'Devices expected on this node, checked by diagnose; 0 = do not check.' }),
        dcgmMetrics: Bool(true, { description: 'Export dcgm-exporter compatible DCGM_FI_* families for NVIDIA GPUs.' }),
        npuMetrics: Bool(true, { description: 'Export npu-exporter compatible npu_chip_info_* families for Ascend NPUs.' }),
      },
      'Accelerator telemetry (NVIDIA NVML, Ascend DCMI, or a simulated scenario).',
    ),
    nvml: Section(
      {
        library: Str('', {
          description: 'Path to libnvidia-ml.so.1; empty = the dynamic linker, then known driver paths (incl. /run/nvidia/driver and /host).',
        }),
      },
      'NVIDIA Management Library.',
    ),
    dcmi: Section(
      {
        library: Str('', { description: 'Path to libdcmi.so; empty = known Ascend driver paths.' }),
      },
      'Huawei Ascend DCMI library.',
    ),
    faults: Section(
      {
        enabled: Bool(false, { description: 'Serve the fault-injection API (/v1/faults) on the agent; needs --faults.token-file.' }),
        tokenFile: Str('', { description: 'File holding the bearer token every /v1/faults request must send; required when faults are enabled.' }),
        ruleFile: Str('/run/brixlet/faults.json', {
          description: 'Where the agent writes its NVML/DCMI rules for the LD_PRELOAD interposer (processes read it via BRIXLET_INJECT_RULES); empty = do not write.',
        }),
      },
      'Accelerator fault injection (failure mock-up).',
    ),
    kube: Section(
      {
        kubeconfig: Str('', { description: 'Path to a kubeconfig; empty = KUBECONFIG, then the in-cluster service account.' }),
        namespace: Str('', { description: 'Namespace for namespaced objects brixlet creates; empty = the kubeconfig or pod namespace.' }),
      },
      'Kubernetes API access (chaos, discovery, orchestration).',
    ),
    shutdown: Section(
      {
        timeout: Duration(10_000, 100, 600_000, {
          description: 'How long SIGTERM/SIGINT waits for in-flight work to drain before exiting.',
        }),
      },
      'Process lifecycle.',
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
