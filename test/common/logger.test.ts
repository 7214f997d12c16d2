import { describe, expect, it } from 'vitest';
import { createLogger, formatPrettyLine } from '../../src/common/logger.js';
import { Capture } from '../helpers/capture.js';

describe('logger', () => {
  it('writes JSON lines with the component binding when the stream is not a TTY', () => {
    const out = new Capture(false);
    const log = createLogger({ level: 'info', format: 'auto', stream: out });
    log.child({ component: 'agent' }).info({ port: 9464 }, 'listening');
    log.debug('hidden below the level');
    const lines = out.text.trim().split('\n');
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 30, component: 'agent', port: 9464, msg: 'listening' });
  });

  it('writes a human line on a TTY or when pretty is asked for', () => {
    const out = new Capture(false);
    const log = createLogger({ level: 'info', format: 'pretty', stream: out });
    log.child({ component: 'gateway' }).warn({ url: 'http://x' }, 'slow engine');
    expect(out.text).toMatch(/^\d\d:\d\d:\d\d WARN {2}\[gateway\] slow engine url=http:\/\/x\n$/);
    expect(out.text).not.toContain('\x1b[');
  });

  it('formats records without throwing on non-JSON input', () => {
    expect(formatPrettyLine('not json', false)).toBe('not json');
    expect(formatPrettyLine(JSON.stringify({ level: 50, time: 0, msg: 'boom', code: 'X' }), true)).toContain('\x1b[31mERROR');
  });
});
