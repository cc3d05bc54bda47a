// Packages across a thread boundary. A structured clone turns Buffers into plain Uint8Arrays and
// copies each one's whole backing store (often a large slab of git output); a package is instead
// packed into one fresh buffer, transferred without a copy, and unpacked into Buffer views of it.
//
// The upstream packages of a fleet are the same Buffers for every variant (lib/git keeps trees read
// twice), and the merge's parse caches are keyed by Buffer (lib/merge/cache.ts). So a file sent a
// second time is kept by the receiving thread under an id and later sent by id alone: the thread
// sees the same Buffer again and parses it once. The sender decides what each thread keeps (a
// bounded LRU by bytes) and tells it what to forget, so both sides always agree.
import type { PackageFiles, PackageModes } from '../kpt/package.ts';

export interface PackedFiles {
  paths: string[];
  /** Per file: the end of its bytes in `bytes`, or -1 when the receiver holds it (by `ids[i]`). */
  ends: number[];
  /** Per file: the id the receiver holds it under, or 0. */
  ids: number[];
  bytes: ArrayBuffer;
}

/** Packs `files` for a receiver that holds nothing (e.g. a reply). */
export function packFiles(files: PackageFiles): PackedFiles {
  return pack(files, () => 0);
}

function pack(files: PackageFiles, idOf: (content: Buffer) => number | { held: number }): PackedFiles {
  const paths: string[] = [];
  const ends: number[] = [];
  const ids: number[] = [];
  const sent: Buffer[] = [];
  let offset = 0;
  for (const [path, content] of files) {
    const id = idOf(content);
    paths.push(path);
    if (typeof id === 'object') {
      ends.push(-1);
      ids.push(id.held);
    } else {
      offset += content.length;
      ends.push(offset);
      ids.push(id);
      sent.push(content);
    }
  }
  const bytes = new ArrayBuffer(offset);
  const view = new Uint8Array(bytes);
  let at = 0;
  for (const content of sent) {
    view.set(content, at);
    at += content.length;
  }
  return { paths, ends, ids, bytes };
}

/** Unpacks files packed by {@link packFiles} (nothing held). */
export function unpackFiles(packed: PackedFiles): PackageFiles {
  return new FileReceiver().unpack(packed);
}

/** The sending side's record of what each thread holds. */
export class FileSender {
  private readonly ids = new WeakMap<Buffer, number>();
  private readonly seen = new WeakSet<Buffer>();
  private readonly held: Map<number, number>[] = [];
  private readonly heldBytes: number[] = [];
  private readonly limitBytes: number;
  private nextId = 1;

  constructor(options: { limitBytes?: number } = {}) {
    this.limitBytes = options.limitBytes ?? 32 * 2 ** 20;
  }

  /** Thread `thread` started afresh: it holds nothing. */
  reset(thread: number): void {
    this.held[thread] = new Map();
    this.heldBytes[thread] = 0;
  }

  /** Packs `files` for `thread`: by id what it holds, the bytes of the rest (kept from a file's second sending on). */
  pack(thread: number, files: PackageFiles): PackedFiles {
    if (!this.held[thread]) this.reset(thread);
    const held = this.held[thread]!;
    return pack(files, (content) => {
      let id = this.ids.get(content);
      if (id !== undefined && held.has(id)) {
        held.delete(id); // most recently used last
        held.set(id, content.length);
        return { held: id };
      }
      if (id === undefined && !this.seen.has(content)) {
        this.seen.add(content);
        return 0;
      }
      if (id === undefined) this.ids.set(content, (id = this.nextId++));
      held.set(id, content.length);
      this.heldBytes[thread]! += content.length;
      return id;
    });
  }

  /** The ids `thread` must drop to stay within the limit; send them with the message just packed. */
  evictions(thread: number): number[] {
    const held = this.held[thread];
    const forget: number[] = [];
    if (!held) return forget;
    for (const [id, size] of held) {
      if (this.heldBytes[thread]! <= this.limitBytes) break;
      held.delete(id);
      this.heldBytes[thread]! -= size;
      forget.push(id);
    }
    return forget;
  }
}

/** The receiving side: the files it was told to hold, by id. */
export class FileReceiver {
  private readonly held = new Map<number, Buffer>();

  unpack(packed: PackedFiles): PackageFiles {
    const files: PackageFiles = new Map();
    let start = 0;
    packed.paths.forEach((path, i) => {
      const end = packed.ends[i]!;
      const id = packed.ids[i]!;
      if (end < 0) {
        const content = this.held.get(id);
        if (!content) throw new Error(`thread protocol: file ${path} (id ${id}) is not held`);
        files.set(path, content);
        return;
      }
      const view = Buffer.from(packed.bytes, start, end - start);
      start = end;
      // A held file gets its own copy, so that it does not keep the rest of the message alive.
      const content = id ? Buffer.from(view) : view;
      if (id) this.held.set(id, content);
      files.set(path, content);
    });
    return files;
  }

  /** Drops what the sender evicted (after the message that evicted it was unpacked). */
  forget(ids: readonly number[]): void {
    for (const id of ids) this.held.delete(id);
  }
}

/** Modes after a structured clone: symlink targets are Buffers again. */
export function reviveModes(modes: PackageModes): PackageModes {
  const revived: PackageModes = new Map();
  for (const [path, entry] of modes) {
    revived.set(
      path,
      entry.kind === 'symlink'
        ? {
            kind: 'symlink',
            target: Buffer.from(entry.target.buffer, entry.target.byteOffset, entry.target.byteLength),
          }
        : entry,
    );
  }
  return revived;
}
