/*
 * Control ABI of brixlet's mock vendor libraries (native/build/libnvidia-ml.so.1, libdcmi.so).
 *
 * Tests call these through koffi from the same process that drives the vendor API, so a test can
 * change what the "hardware" reports between two samples. Every function takes the library's one
 * mutex: calling them while another thread is inside a vendor call (or blocked in
 * nvmlEventSetWait_v2) is safe. None of them counts as a vendor call in *_mock_call_count.
 *
 * Device numbers: NVML = NVML index (position in nvml.devices); DCMI = logic id (by default the
 * position in dcmi.devices). -1 means every device where a function says so.
 */
#ifndef BRIXLET_MOCK_H
#define BRIXLET_MOCK_H

#define BRIXLET_MOCK_EXPORT __attribute__((visibility("default")))

/* ---- NVML (libnvidia-ml.so.1) ---- */

/*
 * Makes path the scenario of this library (NULL = back to $BRIXLET_MOCK_SCENARIO) and loads it now.
 * Returns 0, or the code nvmlInit would return for it (999 unreadable/invalid, 9 no nvml section,
 * nvml.init). The init reference count is kept; a failed load leaves the library uninitialised.
 * Later inits after a full shutdown re-read this path.
 */
BRIXLET_MOCK_EXPORT int brixlet_nvml_mock_load(const char *path);

/*
 * Makes fn (an exported NVML name such as "nvmlDeviceGetPowerUsage") return code without touching
 * its out-params: on one device, or for every call when device is -1 (device overrides are checked
 * first). code 0 removes the override. Returns 0, or -1 for an unknown device.
 */
BRIXLET_MOCK_EXPORT int brixlet_nvml_mock_set_return(const char *fn, int device, int code);

/*
 * Sets a scenario device key (see mocks/README.md) to a JSON value, e.g. ("tempGpu", "95"),
 * ("nvlinkActive", "[true,false]"), ("energyMj", "18446744073709551615"); device -1 = every device.
 * A JSON null removes the key, so the functions reading it return NOT_SUPPORTED.
 * Returns 0, or -1 for an unknown device or key, bad JSON or a value of the wrong type.
 */
BRIXLET_MOCK_EXPORT int brixlet_nvml_mock_set_value(int device, const char *key, const char *json);

/* Queues an XID on a device: every event set registered for XIDs on it gets it once. 0 or -1. */
BRIXLET_MOCK_EXPORT int brixlet_nvml_mock_push_xid(int device, unsigned long long xid);

/* Reloads the last scenario and clears overrides, set values, queued XIDs and call counters; ends every `hang`. */
BRIXLET_MOCK_EXPORT void brixlet_nvml_mock_reset(void);

/* Calls of one exported NVML function since load/reset (NULL = all functions). */
BRIXLET_MOCK_EXPORT unsigned long long brixlet_nvml_mock_call_count(const char *fn);

/* ---- DCMI (libdcmi.so) — the same contract, without XIDs ---- */

/* Returns 0, or what dcmi_init would: -8005 unreadable/invalid, -8008 no dcmi section, dcmi.init. */
BRIXLET_MOCK_EXPORT int brixlet_dcmi_mock_load(const char *path);
BRIXLET_MOCK_EXPORT int brixlet_dcmi_mock_set_return(const char *fn, int device, int code);
BRIXLET_MOCK_EXPORT int brixlet_dcmi_mock_set_value(int device, const char *key, const char *json);
BRIXLET_MOCK_EXPORT void brixlet_dcmi_mock_reset(void);
BRIXLET_MOCK_EXPORT unsigned long long brixlet_dcmi_mock_call_count(const char *fn);

#endif
