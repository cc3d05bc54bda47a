import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeName, encodeName, isCanonicalName } from './names.ts';

const bytes = (...values: number[]) => Buffer.from(values);

describe('byte names (surrogateescape)', () => {
  it('decodes UTF-8 as usual and other bytes as U+DC80–U+DCFF', () => {
    expect(decodeName(Buffer.from('café.yaml'))).toBe('café.yaml');
    expect(decodeName(bytes(0x61, 0xe9, 0x2e, 0x74))).toBe('a\udce9.t');
    expect(decodeName(bytes(0x61, 0xe8))).toBe('a\udce8');
    // a truncated sequence, an overlong form and an encoded surrogate: every byte escaped on its own
    expect(decodeName(bytes(0xe2, 0x82, 0x41))).toBe('\udce2\udc82A');
    expect(decodeName(bytes(0xc0, 0xaf))).toBe('\udcc0\udcaf');
    expect(decodeName(bytes(0xed, 0xb2, 0x80))).toBe('\udced\udcb2\udc80');
    expect(decodeName(bytes(0xf0, 0x9f, 0x98, 0x80, 0xff))).toBe('😀\udcff');
  });

  it('encodes back to the same bytes', () => {
    expect(encodeName('a\udce9.t')).toEqual(bytes(0x61, 0xe9, 0x2e, 0x74));
    expect(encodeName('😀é')).toEqual(Buffer.from('😀é'));
    expect(() => encodeName('a\ud800b')).toThrow('lone surrogate');
    expect(() => encodeName('a\udc41')).toThrow('lone surrogate');
  });

  it('round-trips every byte string, and distinct bytes stay distinct', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (raw) => {
        const name = decodeName(raw);
        expect(encodeName(name)).toEqual(Buffer.from(raw));
        expect(isCanonicalName(name)).toBe(true);
      }),
    );
    expect(decodeName(bytes(0x61, 0xe9))).not.toBe(decodeName(bytes(0x61, 0xe8)));
  });

  it('calls a second spelling of a UTF-8 name, or a stray surrogate, not canonical', () => {
    expect(isCanonicalName('é')).toBe(true);
    expect(isCanonicalName('\udcc3\udca9')).toBe(false);
    expect(isCanonicalName('\ud800')).toBe(false);
  });
});
