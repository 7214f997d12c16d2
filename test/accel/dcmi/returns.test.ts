import { describe, expect, it } from 'vitest';
import { dcmiError, dcmiReturnName, formatDcmiError, isDcmiUnsupported } from '../../../src/accel/dcmi/returns.js';

describe('dcmiReturnName', () => {
  it.each([
    [0, 'OK'],
    [-8001, 'INVALID_PARAMETER'],
    [-8005, 'INNER_ERR'],
    [-8008, 'DEVICE_NOT_EXIST'],
    [-8013, 'NOT_SUPPORT_IN_CONTAINER'],
    [-8023, 'CONFIG_INFO_NOT_EXIST'],
    [-8255, 'NOT_SUPPORT'],
  ])('%i is %s', (code, name) => expect(dcmiReturnName(code)).toBe(name));

  it('keeps the number of a code it does not know', () => expect(dcmiReturnName(-9000)).toBe('UNKNOWN_-9000'));
});

describe('isDcmiUnsupported', () => {
  it('is NOT_SUPPORT and a missing symbol, not other failures', () => {
    expect(isDcmiUnsupported(-8255)).toBe(true);
    expect(isDcmiUnsupported(-1)).toBe(true);
    expect(isDcmiUnsupported(-8013)).toBe(false);
    expect(isDcmiUnsupported(-8005)).toBe(false);
    expect(isDcmiUnsupported(0)).toBe(false);
  });
});

it('dcmiError formats like a status message', () => {
  expect(formatDcmiError(dcmiError('dcmi_init', -8005))).toBe('dcmi_init: INNER_ERR (-8005)');
});
