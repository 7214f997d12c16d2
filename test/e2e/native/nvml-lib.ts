// The NVML mock's functions as the native tests call them: struct out-params are Buffers, handles BigInts.
import koffi from 'koffi';
import { expect } from 'vitest';
import { sentinel } from './mock-lib.js';

export const SUCCESS = 0, UNINITIALIZED = 1, INVALID_ARGUMENT = 2, NOT_SUPPORTED = 3, INSUFFICIENT_SIZE = 7;
export const DRIVER_NOT_LOADED = 9, TIMEOUT = 10, GPU_IS_LOST = 15, ARGUMENT_VERSION_MISMATCH = 25, UNKNOWN = 999;

/** Loads the library at path and declares what the tests call; koffi infers the table type. */
export function openNvmlMock(path: string) {
  const l = koffi.load(path);
  const f = {
    init: l.func('int nvmlInit_v2()'),
    initFlags: l.func('int nvmlInitWithFlags(uint32_t flags)'),
    shutdown: l.func('int nvmlShutdown()'),
    errorString: l.func('const char *nvmlErrorString(int rc)'),
    driverVersion: l.func('int nvmlSystemGetDriverVersion(void *buf, uint32_t len)'),
    count: l.func('int nvmlDeviceGetCount_v2(void *count)'),
    byIndex: l.func('int nvmlDeviceGetHandleByIndex_v2(uint32_t i, void *handle)'),
    byUuid: l.func('int nvmlDeviceGetHandleByUUID(const char *uuid, void *handle)'),
    index: l.func('int nvmlDeviceGetIndex(void *dev, void *index)'),
    name: l.func('int nvmlDeviceGetName(void *dev, void *buf, uint32_t len)'),
    uuid: l.func('int nvmlDeviceGetUUID(void *dev, void *buf, uint32_t len)'),
    pci: l.func('int nvmlDeviceGetPciInfo_v3(void *dev, void *pci)'),
    mem: l.func('int nvmlDeviceGetMemoryInfo(void *dev, void *mem)'),
    memV2: l.func('int nvmlDeviceGetMemoryInfo_v2(void *dev, void *mem)'),
    temp: l.func('int nvmlDeviceGetTemperature(void *dev, uint32_t sensor, void *temp)'),
    threshold: l.func('int nvmlDeviceGetTemperatureThreshold(void *dev, uint32_t type, void *temp)'),
    power: l.func('int nvmlDeviceGetPowerUsage(void *dev, void *mw)'),
    energy: l.func('int nvmlDeviceGetTotalEnergyConsumption(void *dev, void *mj)'),
    clock: l.func('int nvmlDeviceGetClockInfo(void *dev, uint32_t type, void *mhz)'),
    reasons: l.func('int nvmlDeviceGetCurrentClocksEventReasons(void *dev, void *mask)'),
    memErrors: l.func('int nvmlDeviceGetMemoryErrorCounter(void *dev, uint32_t err, uint32_t counter, uint32_t loc, void *n)'),
    retired: l.func('int nvmlDeviceGetRetiredPages(void *dev, uint32_t cause, void *count, void *addresses)'),
    remapped: l.func('int nvmlDeviceGetRemappedRows(void *dev, void *corr, void *unc, void *pending, void *failure)'),
    linkState: l.func('int nvmlDeviceGetNvLinkState(void *dev, uint32_t link, void *active)'),
    linkErrors: l.func('int nvmlDeviceGetNvLinkErrorCounter(void *dev, uint32_t link, uint32_t counter, void *n)'),
    fields: l.func('int nvmlDeviceGetFieldValues(void *dev, int count, void *values)'),
    procs: l.func('int nvmlDeviceGetComputeRunningProcesses_v3(void *dev, void *count, void *infos)'),
    setCreate: l.func('int nvmlEventSetCreate(void *set)'),
    register: l.func('int nvmlDeviceRegisterEvents(void *dev, uint64_t types, void *set)'),
    wait: l.func('int nvmlEventSetWait_v2(void *set, void *data, uint32_t timeoutms)'),
    setFree: l.func('int nvmlEventSetFree(void *set)'),
    load: l.func('int brixlet_nvml_mock_load(const char *path)'),
    setReturn: l.func('int brixlet_nvml_mock_set_return(const char *fn, int device, int code)'),
    setValue: l.func('int brixlet_nvml_mock_set_value(int device, const char *key, const char *json)'),
    pushXid: l.func('int brixlet_nvml_mock_push_xid(int device, uint64_t xid)'),
    reset: l.func('void brixlet_nvml_mock_reset()'),
    calls: l.func('uint64_t brixlet_nvml_mock_call_count(const char *fn)'),
  };

  const u32 = (call: (out: Buffer) => number): [number, number] => {
    const b = sentinel(4);
    const rc = call(b);
    return [rc, b.readUInt32LE(0)];
  };
  const handle = (i: number): bigint => {
    const b = Buffer.alloc(8);
    expect(f.byIndex(i, b)).toBe(SUCCESS);
    return b.readBigUInt64LE(0);
  };
  const shutdownAll = (): void => {
    for (let i = 0; i < 100 && f.shutdown() === SUCCESS; i++);
  };
  const calls = (fn: string | null): number => Number(f.calls(fn));
  return { f, u32, handle, shutdownAll, calls };
}
