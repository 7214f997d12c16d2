/** Ascend fault codes are unsigned 32-bit; Huawei's fault tables list them in upper-case hex (0x80E24E00). */
export function faultCodeHex(code: number): string {
  return `0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}
