/**
 * A DcmiLibrary whose functions are JS, for the unit tests of the DCMI read path: `fns` by signature
 * key get (card, device, ...out-params) and return the DCMI code (or, for a sampling call, why it
 * did not return); a key without one is not exported.
 */
import type { CallBlocked } from '../../../src/accel/call-timeout.js';
import { DCMI_SIGNATURES, type DcmiApi, type DcmiLibrary } from '../../../src/accel/dcmi/library.js';
import { type DcmiChip, DcmiReadContext } from '../../../src/accel/dcmi/read-context.js';

export type FakeDcmiFn = (card: number, device: number, ...args: unknown[]) => number | CallBlocked;

export function fakeDcmi(fns: Partial<Record<DcmiApi, FakeDcmiFn>>) {
  const calls: string[] = [];
  const call = (api: DcmiApi, card: number, device: number, ...args: unknown[]) => {
    const fn = fns[api];
    if (fn === undefined) return Promise.resolve(-1);
    calls.push(api);
    return Promise.resolve(fn(card, device, ...args));
  };
  const lib = {
    name: (api: DcmiApi) => DCMI_SIGNATURES[api].names[0] ?? api,
    call,
    sample: (api: DcmiApi, _chip: number, _label: string, args: readonly unknown[]) => {
      const [card, device, ...rest] = args as [number, number, ...unknown[]];
      return call(api, card, device, ...rest);
    },
  } as unknown as DcmiLibrary;
  return { lib, calls };
}

export const dcmiChip = (over: Partial<DcmiChip> = {}): DcmiChip => ({ logicId: 0, cardId: 3, deviceId: 1, unsupported: new Set(), ...over });

export function fakeDcmiContext(fns: Partial<Record<DcmiApi, FakeDcmiFn>>, chip: DcmiChip = dcmiChip()) {
  const { lib, calls } = fakeDcmi(fns);
  return { ctx: new DcmiReadContext(lib, chip), calls, chip };
}

/** Sets element 0 of a typed-array out-parameter. */
export function out(arg: unknown, value: number): number {
  (arg as Uint32Array | Int32Array)[0] = value;
  return 0;
}
