/**
 * Imports AIBrix's `gpu_mock_conf.toml` (versions 0.1.0 and 0.2.0; reference accelerator.md §1.5)
 * as fault rules, one rule per key, so a setup written for the AIBrix LD_PRELOAD tool runs against
 * brixlet at runtime. Keys brixlet cannot honour (identity overrides, the device count, counters it
 * does not read) and keys it does not know are reported as problems, never silently dropped.
 * Differences from AIBrix: every `crictl_xid` entry is delivered (AIBrix used the first), once;
 * `[ascend-npus]` and the `[ascend_npus]` spelling its code reads are both accepted; fault codes are
 * unsigned (0x80FA4E00 survives).
 */
import { parse, TomlError } from 'smol-toml';
import { BrixletError, isBrixletError } from '../../common/errors.js';
import { parseFaultRule } from './rule.js';
import type { FaultRuleInput, FaultValues } from './rule-schema.js';

export interface TomlImportProblem {
  /** Dotted key path, e.g. `gpus.1.device_name`. */
  readonly key: string;
  readonly message: string;
}

export interface TomlImport {
  readonly version?: string;
  readonly rules: FaultRuleInput[];
  readonly problems: TomlImportProblem[];
}

export interface TomlImportOptions {
  /** Ascend logic id of (card, device in card); without it, device 0 of card C is taken as logic id C. */
  readonly resolveAscend?: (card: number, device: number) => number | undefined;
}

const KNOWN_VERSIONS = ['0.1.0', '0.2.0'];

type Table = Record<string, unknown>;
type Converter = (value: unknown) => FaultValues | string;

const uint = (field: keyof FaultValues): Converter => (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 ? { [field]: v } : `expected a non-negative integer, got ${show(v)}`;
const bool = (field: keyof FaultValues): Converter => (v) => (typeof v === 'boolean' ? { [field]: v } : `expected true or false, got ${show(v)}`);

/** `[gpus.N]` keys that become value overrides. */
const GPU_VALUES: Readonly<Record<string, Converter>> = {
  link_gen: uint('pcieGenMax'),
  link_width_current: uint('pcieWidth'),
  link_width_max: uint('pcieWidthMax'),
  remapping_failure: bool('remapFailure'),
  remapping_pending: bool('remapPending'),
  sram_ue: uint('eccSramUncorrectedVolatile'),
  dram_ue: uint('eccDramUncorrectedVolatile'),
  dram_ce: uint('eccDramCorrectedVolatile'),
  retired_page_sbe: uint('retiredPagesSbe'),
  retired_page_dbe: uint('retiredPagesDbe'),
  retired_page_pending: bool('retiredPagesPending'),
  nvlink_active: (v) =>
    Array.isArray(v) && v.length <= 18 && v.every((a) => typeof a === 'boolean')
      ? { nvlinks: v.map((active: boolean, link) => ({ link, active })) }
      : `expected up to 18 true/false values, got ${show(v)}`,
};

/** Known keys brixlet cannot apply at runtime, with why. */
const GPU_UNSUPPORTED: Readonly<Record<string, string>> = {
  device_name: 'device identity is read once when the backend opens: it cannot be faked at runtime',
  arch: 'device identity is read once when the backend opens: it cannot be faked at runtime',
  pci: 'device identity is read once when the backend opens: it cannot be faked at runtime',
  uuid: 'device identity is read once when the backend opens: it cannot be faked at runtime',
  uncorrectable_agg_l1: 'brixlet does not read the aggregate L1 cache error counter',
  uncorrectable_agg_l2: 'brixlet does not read the aggregate L2 cache error counter',
  uncorrectable_agg_reg: 'brixlet does not read the aggregate register file error counter',
};
const COUNT_UNSUPPORTED = 'the device count cannot be faked: brixlet reads the devices the library reports (target a device that exists)';

/** Parses the TOML and maps every key to a rule; throws BRX_ERR_FAULT_TOML with line and column on bad TOML. */
export function importAibrixToml(text: string, opts: TomlImportOptions = {}): TomlImport {
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    if (err instanceof TomlError) {
      throw new BrixletError('BRX_ERR_FAULT_TOML', { line: err.line, column: err.column, reason: err.message.split('\n')[0] ?? err.message }, { cause: err });
    }
    throw err;
  }
  const out = new Importer(opts);
  let version: string | undefined;
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'version') {
      if (typeof value !== 'string') out.problem('version', `expected a string such as "0.2.0", got ${show(value)}`);
      else {
        version = value;
        if (!KNOWN_VERSIONS.includes(value)) out.problem('version', `version ${value} is not one brixlet knows (${KNOWN_VERSIONS.join(', ')}): keys are read as in 0.2.0`);
      }
    } else if (key === 'gpus' && isTable(value)) out.gpus(value);
    else if ((key === 'ascend-npus' || key === 'ascend_npus') && isTable(value)) out.npus(key, value);
    else out.problem(key, `unknown ${isTable(value) ? 'table' : 'key'} (known: version, [gpus], [ascend-npus] / [ascend_npus])`);
  }
  return { ...(version !== undefined && { version }), rules: [...out.rules.values()], problems: out.problems };
}

class Importer {
  readonly rules = new Map<string, FaultRuleInput>();
  readonly problems: TomlImportProblem[] = [];

  constructor(private readonly opts: TomlImportOptions) {}

  problem(key: string, message: string): void {
    this.problems.push({ key, message });
  }

  gpus(table: Table): void {
    for (const [key, value] of Object.entries(table)) {
      const path = `gpus.${key}`;
      if (key === 'card_count') this.problem(path, COUNT_UNSUPPORTED);
      else if (key === 'nvml_init_error') this.initRule(path, 'nvidia', value);
      else if (/^\d+$/.test(key) && isTable(value)) this.gpu(Number(key), value);
      else this.problem(path, `unknown ${isTable(value) ? 'table' : 'key'} (known: card_count, nvml_init_error, [gpus.N] with N the NVML index)`);
    }
  }

  private gpu(index: number, table: Table): void {
    const target = { vendor: 'nvidia' as const, device: index };
    for (const [key, value] of Object.entries(table)) {
      const path = `gpus.${index}.${key}`;
      const convert = GPU_VALUES[key];
      if (convert !== undefined) {
        const values = convert(value);
        if (typeof values === 'string') this.problem(path, values);
        else this.add(path, { id: `aibrix.${path}`, target, effect: { values } });
      } else if (key === 'crictl_xid') {
        const xids = typeof value === 'number' ? [value] : value;
        if (!Array.isArray(xids) || xids.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x <= 0)) {
          this.problem(path, `expected a list of XID numbers, got ${show(value)}`);
          continue;
        }
        xids.forEach((xid: number, i) => this.add(`${path}.${i}`, { id: `aibrix.${path}.${i}`, target, what: { class: 'xid' }, effect: { xid } }));
      } else {
        this.problem(path, GPU_UNSUPPORTED[key] ?? `unknown key (known: ${[...Object.keys(GPU_VALUES), 'crictl_xid'].join(', ')})`);
      }
    }
  }

  npus(name: string, table: Table): void {
    for (const [key, value] of Object.entries(table)) {
      const path = `${name}.${key}`;
      if (key === 'card_count') this.problem(path, COUNT_UNSUPPORTED);
      else if (key === 'dcmi_init_error') this.initRule(path, 'ascend', value);
      else if (/^\d+$/.test(key) && isTable(value)) {
        for (const [chip, keys] of Object.entries(value)) {
          if (/^\d+$/.test(chip) && isTable(keys)) this.npu(`${path}.${chip}`, Number(key), Number(chip), keys);
          else this.problem(`${path}.${chip}`, 'expected a [<table>.<card>.<device>] table with the device id in the card');
        }
      } else this.problem(path, `unknown ${isTable(value) ? 'table' : 'key'} (known: card_count, dcmi_init_error, [${name}.<card>.<device>])`);
    }
  }

  private npu(path: string, card: number, chip: number, table: Table): void {
    for (const [key, value] of Object.entries(table)) {
      const at = `${path}.${key}`;
      if (key !== 'fault_codes') {
        this.problem(at, 'unknown key (known: fault_codes)');
        continue;
      }
      const codes = typeof value === 'number' ? [value] : value;
      if (!Array.isArray(codes) || codes.length === 0 || codes.some((c) => typeof c !== 'number' || !Number.isInteger(c) || c < -0x80000000 || c > 0xffffffff)) {
        this.problem(at, `expected a non-empty list of 32-bit fault codes, got ${show(value)}`);
        continue;
      }
      if (codes.some((c: number) => c < 0)) this.problem(at, 'negative fault codes were read as their unsigned 32-bit value');
      const logicId = this.opts.resolveAscend?.(card, chip) ?? (chip === 0 && this.opts.resolveAscend === undefined ? card : undefined);
      if (logicId === undefined) {
        this.problem(at, `no NPU at card ${card} device ${chip} to map to a logic id`);
        continue;
      }
      const faultCodes = codes.map((c: number) => c >>> 0);
      this.add(at, { id: `aibrix.ascend.${card}.${chip}.fault_codes`, target: { vendor: 'ascend', device: logicId }, what: { class: 'npu-fault-code' }, effect: { faultCodes } });
    }
  }

  private initRule(path: string, vendor: 'nvidia' | 'ascend', value: unknown): void {
    if (typeof value !== 'number' || !Number.isInteger(value)) return this.problem(path, `expected an integer return code, got ${show(value)}`);
    if (value === 0) return this.problem(path, '0 is success: AIBrix skipped the real init with it; brixlet has nothing to inject');
    this.add(path, { id: `aibrix.${vendor}.init`, target: { vendor }, what: { api: 'init' }, effect: { return: value } });
  }

  /** Keeps a rule only if it is valid on its own, so one bad key does not sink the import. */
  private add(path: string, rule: FaultRuleInput): void {
    try {
      parseFaultRule(rule, { id: 'import', now: 0 });
    } catch (err) {
      if (!isBrixletError(err)) throw err;
      return this.problem(path, err.message);
    }
    if (this.rules.has(rule.id!)) this.problem(path, `overrides ${rule.id} set earlier in the file`);
    this.rules.set(rule.id!, rule);
  }
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function show(v: unknown): string {
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
