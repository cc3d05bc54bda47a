// File names are bytes (in git trees and on disk) but JS strings in memory. UTF-8 names decode as
// usual; a byte that is not part of valid UTF-8 becomes the lone surrogate U+DC80–U+DCFF
// ("surrogateescape", as Python does), so every byte string has its own JS string and encodes back
// to exactly the same bytes. Imports nothing: lib/git and lib/kpt both use it.
import { isUtf8 } from 'node:buffer';

const SURROGATE = /[\uD800-\uDFFF]/;

/** The byte length of a valid UTF-8 sequence starting at `at`, or 0 when there is none. */
function sequenceLength(bytes: Uint8Array, at: number): number {
  const b0 = bytes[at]!;
  if (b0 < 0x80) return 1;
  const cont = (i: number, lo = 0x80, hi = 0xbf) => {
    const b = bytes[at + i];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // E0 needs A0..BF (no overlong forms), ED needs 80..9F (no encoded surrogates).
    const ok = cont(1, b0 === 0xe0 ? 0xa0 : 0x80, b0 === 0xed ? 0x9f : 0xbf) && cont(2);
    return ok ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const ok = cont(1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf) && cont(2) && cont(3);
    return ok ? 4 : 0;
  }
  return 0;
}

/** Bytes → string, reversibly (see the file comment). */
export function decodeName(bytes: Uint8Array): string {
  if (isUtf8(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let out = '';
  let at = 0;
  while (at < bytes.length) {
    const n = sequenceLength(bytes, at);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + bytes[at]!);
      at += 1;
    } else {
      out += Buffer.from(bytes.subarray(at, at + n)).toString('utf8');
      at += n;
    }
  }
  return out;
}

/** String → bytes: UTF-8, with U+DC80–U+DCFF back to the byte they stand for. Throws for other lone surrogates. */
export function encodeName(name: string): Buffer {
  if (!SURROGATE.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  for (const char of name) {
    const code = char.codePointAt(0)!;
    if (code >= 0xdc80 && code <= 0xdcff) parts.push(Buffer.of(code - 0xdc00));
    else if (code >= 0xd800 && code <= 0xdfff) {
      throw new RangeError(`${JSON.stringify(name)} holds a lone surrogate that stands for no byte`);
    } else parts.push(Buffer.from(char, 'utf8'));
  }
  return Buffer.concat(parts);
}

/**
 * Whether `name` is what {@link decodeName} makes of some bytes: no lone surrogate outside
 * U+DC80–U+DCFF, and no escaped bytes that together are valid UTF-8 (`\udcc3\udca9` is `é`
 * spelled twice, and two spellings of one name must not be two files).
 */
export function isCanonicalName(name: string): boolean {
  if (!SURROGATE.test(name)) return true;
  try {
    return decodeName(encodeName(name)) === name;
  } catch {
    return false;
  }
}
