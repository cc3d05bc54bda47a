// Packages across a thread boundary. A structured clone turns Buffers into plain Uint8Arrays and
// copies each one's whole backing store (often a large slab of git output); a package is instead
// packed into one fresh buffer, transferred without a copy, and unpacked into Buffer views of it.
import type { PackageFiles, PackageModes } from '../kpt/package.ts';

export interface PackedFiles {
  paths: string[];
  /** End offset of each file's bytes in `bytes`. */
  ends: number[];
  bytes: ArrayBuffer;
}

export function packFiles(files: PackageFiles): PackedFiles {
  let total = 0;
  for (const content of files.values()) total += content.length;
  const bytes = new ArrayBuffer(total);
  const view = new Uint8Array(bytes);
  const paths: string[] = [];
  const ends: number[] = [];
  let offset = 0;
  for (const [path, content] of files) {
    view.set(content, offset);
    offset += content.length;
    paths.push(path);
    ends.push(offset);
  }
  return { paths, ends, bytes };
}

export function unpackFiles(packed: PackedFiles): PackageFiles {
  const files: PackageFiles = new Map();
  let start = 0;
  packed.paths.forEach((path, i) => {
    const end = packed.ends[i]!;
    files.set(path, Buffer.from(packed.bytes, start, end - start));
    start = end;
  });
  return files;
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
