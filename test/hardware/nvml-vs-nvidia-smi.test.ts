// Opt-in (BRIXLET_TEST_HARDWARE=1, a machine with an NVIDIA GPU and driver): the NVML backend over
// the real libnvidia-ml.so.1 must agree with `nvidia-smi -q -x`, the driver's own report.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createNvmlBackend } from '../../src/accel/nvml/index.js';
import type { AcceleratorBackend } from '../../src/accel/types.js';
import { createLogger } from '../../src/common/logger.js';

const enabled = process.env.BRIXLET_TEST_HARDWARE === '1';
const log = createLogger({ level: 'silent', format: 'json' });

interface SmiGpu {
  readonly busId: string;
  readonly name: string;
  readonly uuid: string;
  readonly minor: number;
  readonly fbTotalMiB: number;
  readonly maxLinkGen: number;
  readonly maxLinkWidth: number;
  readonly tempC: number;
}

/** The few nvidia-smi -q -x fields compared here; the XML is flat enough for targeted patterns. */
export function parseNvidiaSmi(xml: string): { driver: string; gpus: SmiGpu[] } {
  const tag = (text: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1]?.trim() ?? '';
  const num = (s: string) => Number.parseInt(s, 10);
  const gpus = [...xml.matchAll(/<gpu id="([^"]+)">([\s\S]*?)<\/gpu>/g)].map(([, busId, body]) => {
    const b = body as string;
    const fb = /<fb_memory_usage>([\s\S]*?)<\/fb_memory_usage>/.exec(b)?.[1] ?? '';
    const gen = /<pcie_gen>([\s\S]*?)<\/pcie_gen>/.exec(b)?.[1] ?? '';
    const widths = /<link_widths>([\s\S]*?)<\/link_widths>/.exec(b)?.[1] ?? '';
    const temp = /<temperature>([\s\S]*?)<\/temperature>/.exec(b)?.[1] ?? '';
    return {
      busId: busId as string,
      name: tag(b, 'product_name'),
      uuid: tag(b, 'uuid'),
      minor: num(tag(b, 'minor_number')),
      fbTotalMiB: num(tag(fb, 'total')),
      maxLinkGen: num(tag(gen, 'max_link_gen')),
      maxLinkWidth: num(tag(widths, 'max_link_width')),
      tempC: num(tag(temp, 'gpu_temp')),
    };
  });
  return { driver: tag(xml, 'driver_version'), gpus };
}

describe('parseNvidiaSmi', () => {
  it('reads the compared fields from nvidia-smi XML', () => {
    const xml = `<nvidia_smi_log><driver_version>550.54.15</driver_version><gpu id="00000000:18:00.0"><product_name>NVIDIA H200</product_name>
      <uuid>GPU-1</uuid><minor_number>0</minor_number><pci><pci_gpu_link_info><pcie_gen><max_link_gen>5</max_link_gen></pcie_gen>
      <link_widths><max_link_width>16x</max_link_width></link_widths></pci_gpu_link_info></pci>
      <fb_memory_usage><total>143771 MiB</total></fb_memory_usage><temperature><gpu_temp>31 C</gpu_temp></temperature></gpu></nvidia_smi_log>`;
    expect(parseNvidiaSmi(xml)).toEqual({
      driver: '550.54.15',
      gpus: [{ busId: '00000000:18:00.0', name: 'NVIDIA H200', uuid: 'GPU-1', minor: 0, fbTotalMiB: 143771, maxLinkGen: 5, maxLinkWidth: 16, tempC: 31 }],
    });
  });
});

describe.skipIf(!enabled)(`NVML backend vs nvidia-smi${enabled ? '' : ' (SKIPPED: set BRIXLET_TEST_HARDWARE=1 on a GPU machine)'}`, () => {
  let backend: AcceleratorBackend | undefined;
  afterAll(() => backend?.close());

  it('sees the same GPUs, identities, memory and link capabilities', async () => {
    const smi = parseNvidiaSmi(execFileSync('nvidia-smi', ['-q', '-x'], { encoding: 'utf8' }));
    backend = createNvmlBackend({ library: process.env.BRIXLET_NVML_LIBRARY ?? '', log });
    const status = await backend.open();
    expect(status.state).toBe('up');
    expect(status.driverVersion).toBe(smi.driver);
    const devices = backend.devices();
    expect(devices.map((d) => d.uuid)).toEqual(smi.gpus.map((g) => g.uuid));
    for (const [i, g] of smi.gpus.entries()) {
      const d = devices[i];
      expect(d?.name).toBe(g.name);
      expect(d?.pciBusId.toUpperCase()).toBe(g.busId.toUpperCase());
      expect(d?.minor).toBe(g.minor);
      const mem = (await backend.read(d?.index ?? i, 'memory')).values;
      expect(Math.round((mem.memoryTotalBytes ?? 0) / 2 ** 20)).toBe(g.fbTotalMiB);
      const pcie = (await backend.read(d?.index ?? i, 'pcie')).values;
      expect(pcie.pcieGenMax).toBe(g.maxLinkGen);
      expect(pcie.pcieWidthMax).toBe(g.maxLinkWidth);
      const thermal = (await backend.read(d?.index ?? i, 'thermal')).values;
      expect(Math.abs((thermal.gpuTempC ?? -100) - g.tempC)).toBeLessThanOrEqual(5);
    }
  });
});
