/** Power draw, enforced limit and energy counter (NVIDIA); power and voltage (Ascend). */
import type { Probe } from './probe.js';
import { counter, gauge, single } from './series.js';

export const power: Probe = {
  name: 'power',
  description: 'Power draw, enforced power limit, energy since driver load, supply voltage.',
  defaultEnabled: true,
  vendors: ['nvidia', 'ascend'],
  metrics: [
    gauge('dcgm', 'DCGM_FI_DEV_POWER_USAGE', 'Power draw (in W).', (d) => single(d.sample.powerW)),
    counter('dcgm', 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 'Total energy consumption since boot (in mJ).', (d) => single(d.sample.energyMj)),
    gauge('npu', 'npu_chip_info_power', "the npu power, unit is 'W'", (d) => single(d.sample.powerW)),
    gauge('npu', 'npu_chip_info_voltage', "the npu voltage, unit is 'V'", (d) => single(d.sample.voltageV)),
    gauge('native', 'brixlet_accelerator_power_watts', 'Power draw, watts.', (d) => single(d.sample.powerW)),
    gauge('native', 'brixlet_accelerator_power_limit_watts', 'Enforced power limit, watts.', (d) => single(d.sample.powerLimitW)),
    counter('native', 'brixlet_accelerator_energy_joules_total', 'Energy consumed since the driver was loaded, joules.', (d) =>
      single(d.sample.energyMj === undefined ? undefined : d.sample.energyMj / 1000),
    ),
    gauge('native', 'brixlet_accelerator_voltage_volts', 'Chip supply voltage, volts.', (d) => single(d.sample.voltageV)),
  ],
};
