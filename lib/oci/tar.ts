// A minimal tar writer and reader (ustar, with PAX `path`/`linkpath`/`size` records and GNU long
// names read). Written archives are deterministic: the caller gives the order, times are fixed,
// owners are 0/0 with no names. The reader returns raw entries; what is allowed is decided by
// package.ts.

const BLOCK = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarEntry {
  /** The name as bytes (PAX or GNU long names applied). */
  name: Buffer;
  type: TarEntryType;
  mode: number;
  linkname: Buffer;
  content: Buffer;
}

export class TarError extends Error {
  override name = 'TarError';
}

function octal(value: number, width: number): Buffer {
  const text = value.toString(8).padStart(width - 1, '0');
  if (text.length > width - 1) throw new TarError(`value ${value} does not fit a tar header field`);
  return Buffer.from(`${text}\0`, 'latin1');
}

function header(name: Buffer, type: string, mode: number, size: number, linkname: Buffer, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  octal(mode, 8).copy(h, 100);
  octal(0, 8).copy(h, 108);
  octal(0, 8).copy(h, 116);
  octal(size, 12).copy(h, 124);
  octal(mtime, 12).copy(h, 136);
  h.write(type, 156, 'latin1');
  linkname.copy(h, 157, 0, Math.min(linkname.length, 100));
  h.write('ustar\u000000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  Buffer.from(`${sum.toString(8).padStart(6, '0')}\0 `, 'latin1').copy(h, 148);
  return h;
}

function padded(content: Buffer): Buffer[] {
  const rest = content.length % BLOCK;
  return rest === 0 ? [content] : [content, Buffer.alloc(BLOCK - rest)];
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

export interface TarInput {
  name: Buffer;
  type: 'file' | 'symlink';
  mode: number;
  content?: Buffer;
  linkname?: Buffer;
}

/** A tar archive of the entries in the order given, every time stamp `mtime` (seconds). */
export function writeTar(entries: readonly TarInput[], mtime = 0): Buffer {
  const out: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.type === 'file' ? (entry.content ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const linkname = entry.linkname ?? Buffer.alloc(0);
    const ascii = (b: Buffer) => b.every((c) => c >= 0x20 && c < 0x7f);
    const records: Buffer[] = [];
    if (entry.name.length > 100 || !ascii(entry.name)) records.push(paxRecord('path', entry.name));
    if (linkname.length > 100 || !ascii(linkname)) records.push(paxRecord('linkpath', linkname));
    if (records.length > 0) {
      const pax = Buffer.concat(records);
      out.push(header(Buffer.from('PaxHeader'), 'x', 0o644, pax.length, Buffer.alloc(0), mtime), ...padded(pax));
    }
    const short = (b: Buffer) => (b.length > 100 || !ascii(b) ? b.subarray(0, 0) : b);
    out.push(
      header(short(entry.name), entry.type === 'file' ? '0' : '2', entry.mode, content.length, short(linkname), mtime),
      ...padded(content),
    );
  }
  out.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(out);
}

function field(h: Buffer, start: number, length: number): Buffer {
  const raw = h.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return nul >= 0 ? raw.subarray(0, nul) : raw;
}

function number(h: Buffer, start: number, length: number, what: string): number {
  const raw = h.subarray(start, start + length);
  if (raw[0]! & 0x80) {
    // base-256 (GNU): only non-negative values that fit a safe integer
    if (raw[0] !== 0x80) throw new TarError(`tar header: ${what} out of range`);
    let value = 0;
    for (const b of raw.subarray(1)) value = value * 256 + b;
    if (!Number.isSafeInteger(value)) throw new TarError(`tar header: ${what} out of range`);
    return value;
  }
  const text = raw.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`tar header: ${what} is not a number`);
  return parseInt(text, 8);
}

function parsePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (space < 0 || !Number.isSafeInteger(length) || length <= 0 || at + length > data.length) {
      throw new TarError('tar: malformed PAX header');
    }
    const record = data.subarray(space + 1, at + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new TarError('tar: malformed PAX record');
    records.set(record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1)));
    at += length;
  }
  return records;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};

export interface ReadTarLimits {
  /** The most the entries' contents may hold together. */
  maxBytes: number;
  maxEntries: number;
}

/** The entries of a tar archive; throws TarError on a malformed archive or past a limit. */
export function readTar(data: Buffer, limits: ReadTarLimits): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let total = 0;
  let pax = new Map<string, Buffer>();
  let globalPax = new Map<string, Buffer>();
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  while (true) {
    if (at + BLOCK > data.length) {
      if (at >= data.length && entries.length === 0 && data.length === 0) return entries;
      throw new TarError('tar: truncated archive (no end marker)');
    }
    const h = data.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) return entries;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (number(h, 148, 8, 'checksum') !== sum) throw new TarError(`tar: bad header checksum at offset ${at}`);
    const flag = String.fromCharCode(h[156]!);
    let size = number(h, 124, 12, 'size');
    const sizeRecord = pax.get('size') ?? globalPax.get('size');
    if (sizeRecord !== undefined) {
      size = Number(sizeRecord.toString('latin1'));
      if (!Number.isSafeInteger(size) || size < 0) throw new TarError('tar: bad PAX size');
    }
    const start = at + BLOCK;
    if (start + size > data.length) throw new TarError('tar: truncated entry');
    const body = data.subarray(start, start + size);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > 1024 * 1024) throw new TarError('tar: an extended header larger than 1 MiB');
      if (flag === 'x') pax = parsePax(body);
      else if (flag === 'g') globalPax = parsePax(body);
      else if (flag === 'L') longName = Buffer.from(field(body, 0, body.length));
      else longLink = Buffer.from(field(body, 0, body.length));
      continue;
    }
    if (entries.length >= limits.maxEntries) throw new TarError(`tar: more than ${limits.maxEntries} entries`);
    const type = TYPES[flag] ?? 'other';
    if (type === 'file') {
      total += size;
      if (total > limits.maxBytes)
        throw new TarError(`tar: the contents are larger than the limit of ${limits.maxBytes} bytes`);
    }
    const prefix = field(h, 345, 155);
    const plain = field(h, 0, 100);
    const name =
      pax.get('path') ??
      longName ??
      (prefix.length > 0 && h.subarray(257, 262).toString('latin1') === 'ustar'
        ? Buffer.concat([prefix, Buffer.from('/'), plain])
        : plain);
    const linkname = pax.get('linkpath') ?? longLink ?? field(h, 157, 100);
    entries.push({
      name: Buffer.from(name),
      type,
      mode: number(h, 100, 8, 'mode'),
      linkname: Buffer.from(linkname),
      content: type === 'file' ? Buffer.from(body) : Buffer.alloc(0),
    });
    pax = new Map();
    longName = undefined;
    longLink = undefined;
  }
}
