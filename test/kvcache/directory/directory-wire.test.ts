// The PUBLISH and DIRECTORY_LOOKUP codecs: round trips, and replies the client must refuse.
import { describe, expect, it } from 'vitest';
import { NO_HOLDER_INDEX, PUBLISH_ITEM_BYTES, PeerProtocolError, decodeDirectoryAnswer, decodePublish, encodeDirectoryAnswer, encodePublish } from '../../../src/kvcache/peer/peer-protocol.js';

describe('directory frames', () => {
  it('round-trips a PUBLISH body and a DIRECTORY_LOOKUP answer', () => {
    const items = Buffer.alloc(2 * PUBLISH_ITEM_BYTES, 3);
    const req = decodePublish(encodePublish('ns', items), 2, 64);
    expect(req.namespace).toBe('ns');
    expect(req.items.equals(items)).toBe(true);
    const a = decodeDirectoryAnswer(encodeDirectoryAnswer(['a', 'bé'], Uint16Array.of(1, NO_HOLDER_INDEX, 0)), 3);
    expect(a.holders).toEqual(['a', 'bé']);
    expect([...a.holderOf]).toEqual([1, NO_HOLDER_INDEX, 0]);
  });

  it('refuses an index past the holders, more holders than keys, and a short or long body', () => {
    const bad = (body: Buffer, n: number): unknown => {
      try {
        decodeDirectoryAnswer(body, n);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(bad(encodeDirectoryAnswer(['a'], Uint16Array.of(1)), 1)).toBeInstanceOf(PeerProtocolError);
    expect(bad(encodeDirectoryAnswer(['a', 'b'], Uint16Array.of(0)), 1)).toBeInstanceOf(PeerProtocolError);
    expect(bad(encodeDirectoryAnswer(['a'], Uint16Array.of(0, 0)), 1)).toBeInstanceOf(PeerProtocolError);
    expect(bad(encodeDirectoryAnswer(['a'], Uint16Array.of(0)), 2)).toBeInstanceOf(PeerProtocolError);
    expect(() => decodePublish(encodePublish('ns', Buffer.alloc(PUBLISH_ITEM_BYTES)), 2, 64)).toThrow(PeerProtocolError);
    expect(() => decodePublish(encodePublish('ns', Buffer.alloc(PUBLISH_ITEM_BYTES)), 65, 64)).toThrow(/batch limit/);
  });
});
