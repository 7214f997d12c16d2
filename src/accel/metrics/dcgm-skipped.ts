/**
 * Fields of dcgm-exporter's default counter set (etc/default-counters.csv) that brixlet does not
 * export, with the reason. Every other uncommented line of that file is exported under the same
 * name and type; a test reads the CSV and holds the two lists to it.
 */
export const DCGM_SKIPPED: Readonly<Record<string, string>> = {
  DCGM_FI_DRIVER_VERSION: 'a label in dcgm-exporter, not a metric: carried as the DCGM_FI_DRIVER_VERSION label on every DCGM_* series',
  DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL: 'no NVLink throughput source: NVML has no per-link byte counter in the API set brixlet reads (the utilization counters are deprecated)',
  DCGM_FI_DEV_VGPU_LICENSE_STATUS: 'vGPU licensing is reported by the guest vGPU driver; brixlet reads bare-metal GPUs through NVML and has no licence state',
  DCGM_FI_PROF_GR_ENGINE_ACTIVE: "DCGM profiling (DCP) metric from hardware performance counters; NVML has no API for it (DCGM_FI_DEV_GPU_UTIL is NVML's coarser view)",
  DCGM_FI_PROF_PIPE_TENSOR_ACTIVE: 'DCGM profiling (DCP) metric from hardware performance counters; NVML has no API for it',
  DCGM_FI_PROF_DRAM_ACTIVE: "DCGM profiling (DCP) metric from hardware performance counters; NVML has no API for it (DCGM_FI_DEV_MEM_COPY_UTIL is NVML's coarser view)",
};
