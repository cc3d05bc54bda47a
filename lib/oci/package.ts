// kpt packages as OCI artifacts, in the format kpt's and Porch's OCI repositories used: an image
// whose one layer is a gzip tar of the package tree (package-relative paths, regular files, no
// directory entries needed). Written here: an OCI image manifest, an OCI image config whose
// rootfs.diff_ids names the uncompressed tar, and one `application/vnd.oci.image.layer.v1.tar+gzip`
// layer. The tar is deterministic (entries sorted by name, times 0, owner 0/0, modes 0644/0755),
// so the same package pushed twice has the same digest. Read: OCI and Docker v2 schema 2 manifests
// with gzip or plain tar layers (several layers are laid over each other in order, as an image's
// are). Executable bits and symlinks that stay inside the package are kept; entries with `..`,
// absolute paths, devices, fifos, hard links, symlinks out of the package, and whiteouts are
// refused, and so is a package larger than the limit.
import { posix } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeName, encodeName, isCanonicalName } from '../bytes/names.ts';
import type { PackageFiles, PackageModes } from '../kpt/package.ts';
import { MEDIA_TYPES, sha256, type Descriptor, type ImageManifest, type OciClient } from './client.ts';
import { formatReference, type ImageReference } from './reference.ts';
import { readTar, TarError, writeTar, type TarInput } from './tar.ts';

export const PACKAGE_MEDIA_TYPES = {
  manifest: MEDIA_TYPES.ociManifest,
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** Layer media types read: gzip tar (OCI, Docker) and plain tar (OCI, Docker). */
export const READABLE_LAYER_TYPES = [
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.image.rootfs.diff.tar',
];

export const DEFAULT_MAX_PACKAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_PACKAGE_ENTRIES = 10_000;

export interface PackageLimits {
  /** The most the package's files may hold together, uncompressed. */
  maxBytes?: number;
  maxEntries?: number;
}

export interface PackageContent {
  files: PackageFiles;
  modes: PackageModes;
}

/** A package that cannot be packed or unpacked safely; names the entry. */
export class PackageFormatError extends Error {
  override name = 'PackageFormatError';
}

/** Whether a symlink at `path` with `target` stays inside the package. */
export function linkStaysInside(path: string, target: string): boolean {
  if (target === '' || target.startsWith('/')) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved !== '..' && !resolved.startsWith('../') && !resolved.startsWith('/');
}

/** The deterministic tar (uncompressed) of a package. Gitlinks and symlinks out of it are refused. */
export function packageTar(content: PackageContent): Buffer {
  const entries: TarInput[] = [];
  for (const [path, data] of content.files) {
    const executable = content.modes.get(path)?.kind === 'executable';
    entries.push({ name: encodeName(path), type: 'file', mode: executable ? 0o755 : 0o644, content: data });
  }
  for (const [path, entry] of content.modes) {
    if (entry.kind === 'gitlink')
      throw new PackageFormatError(`${path}: a submodule (gitlink) cannot be packed into an OCI package`);
    if (entry.kind !== 'symlink') continue;
    if (!linkStaysInside(path, decodeName(entry.target))) {
      throw new PackageFormatError(`${path}: the symlink points outside the package`);
    }
    entries.push({ name: encodeName(path), type: 'symlink', mode: 0o777, linkname: entry.target });
  }
  for (const e of entries) checkPath(decodeName(e.name));
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  return writeTar(entries, 0);
}

/** gzip with a fixed header (no name, time 0, OS unix): the same bytes everywhere. */
function gzip(data: Buffer): Buffer {
  const out = gzipSync(data, { level: 9 });
  out[9] = 3;
  return out;
}

export interface PackedPackage {
  layer: Buffer;
  config: Buffer;
  manifest: Buffer;
  /** The manifest's digest. */
  digest: string;
}

/** The blobs and manifest of a package artifact. */
export function packPackage(content: PackageContent): PackedPackage {
  const tar = packageTar(content);
  const layer = gzip(tar);
  const config = Buffer.from(
    JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }),
  );
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: PACKAGE_MEDIA_TYPES.manifest,
    config: { mediaType: PACKAGE_MEDIA_TYPES.config, digest: sha256(config), size: config.length },
    layers: [{ mediaType: PACKAGE_MEDIA_TYPES.layer, digest: sha256(layer), size: layer.length }],
  };
  const raw = Buffer.from(JSON.stringify(manifest));
  return { layer, config, manifest: raw, digest: sha256(raw) };
}

function checkPath(path: string): void {
  const fail = (why: string): never => {
    throw new PackageFormatError(`tar entry ${JSON.stringify(path)}: ${why}`);
  };
  if (path === '') fail('an empty name');
  if (path.startsWith('/')) fail('an absolute path');
  const segments = path.split('/');
  if (segments.includes('..')) fail('a ".." segment');
  if (segments.some((s) => s === '' || s === '.')) fail('an empty or "." segment');
  if (segments.includes('.git')) fail('a ".git" segment');
  if (segments.some((s) => s.startsWith('.wh.'))) fail('a whiteout (layer deletions are not supported)');
  if (path.includes('\0')) fail('a NUL byte');
  if (!isCanonicalName(path)) fail('a name that is not canonical');
}

/** Entry names as tools write them: `./a/b` → `a/b`, `a/dir/` → `a/dir`; `.` or `./` → '' (the root). */
function normalizeName(raw: string): string {
  let name = raw;
  while (name.startsWith('./')) name = name.slice(2);
  if (name === '.') return '';
  if (name.endsWith('/')) name = name.replace(/\/+$/, '');
  return name;
}

/** Gunzips when the data is gzip (by its magic), with the output bounded. */
function decompress(data: Buffer, maxBytes: number, maxEntries: number): Buffer {
  if (data.length < 2 || data[0] !== 0x1f || data[1] !== 0x8b) return data;
  // headers and padding besides the contents: at most 1.5 KiB per entry, plus the end blocks
  const bound = maxBytes + maxEntries * 1536 + 4096;
  try {
    return gunzipSync(data, { maxOutputLength: bound });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new PackageFormatError(`the layer is larger than the package limit of ${maxBytes} bytes when decompressed`);
    }
    throw new PackageFormatError(`the layer is not valid gzip: ${e.message}`);
  }
}

/**
 * Lays the tar layers (gzip or plain, told by their bytes) over each other into a package: later
 * layers replace files of earlier ones. Refuses unsafe entries (see the file comment).
 */
export function unpackLayers(layers: readonly Buffer[], limits: PackageLimits = {}): PackageContent {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_PACKAGE_BYTES;
  const maxEntries = limits.maxEntries ?? DEFAULT_MAX_PACKAGE_ENTRIES;
  const files: PackageFiles = new Map();
  const modes: PackageModes = new Map();
  for (const layer of layers) {
    let entries;
    try {
      entries = readTar(decompress(layer, maxBytes, maxEntries), { maxBytes, maxEntries });
    } catch (error) {
      if (error instanceof TarError) throw new PackageFormatError(error.message);
      throw error;
    }
    const seen = new Set<string>();
    for (const entry of entries) {
      const path = normalizeName(decodeName(entry.name));
      if (path === '' && entry.type === 'directory') continue;
      checkPath(path);
      if (seen.has(path)) throw new PackageFormatError(`tar entry ${JSON.stringify(path)}: appears twice in one layer`);
      seen.add(path);
      const fail = (why: string): never => {
        throw new PackageFormatError(`tar entry ${JSON.stringify(path)}: ${why}`);
      };
      switch (entry.type) {
        case 'directory':
          break;
        case 'file':
          files.set(path, entry.content);
          if (entry.mode & 0o111) modes.set(path, { kind: 'executable' });
          else modes.delete(path);
          break;
        case 'symlink': {
          const target = decodeName(entry.linkname);
          if (!linkStaysInside(path, target))
            fail(`a symlink pointing outside the package (${JSON.stringify(target)})`);
          files.delete(path);
          modes.set(path, { kind: 'symlink', target: Buffer.from(entry.linkname) });
          break;
        }
        case 'hardlink':
          fail('a hard link');
          break;
        case 'char':
        case 'block':
          fail('a device');
          break;
        case 'fifo':
          fail('a fifo');
          break;
        default:
          fail('an unsupported entry type');
      }
    }
  }
  let total = 0;
  for (const data of files.values()) total += data.length;
  if (total > maxBytes) throw new PackageFormatError(`the package is larger than the limit of ${maxBytes} bytes`);
  checkTree(files, modes);
  const sorted = <T>(m: Map<string, T>) =>
    new Map([...m].sort(([a], [b]) => Buffer.compare(encodeName(a), encodeName(b))));
  return { files: sorted(files), modes: sorted(modes) };
}

/** No entry below a file or a symlink (a write through a link, or a file that is also a directory). */
function checkTree(files: PackageFiles, modes: PackageModes): void {
  const leaves = new Set([...files.keys(), ...[...modes].filter(([, e]) => e.kind === 'symlink').map(([p]) => p)]);
  for (const path of leaves) {
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      if (leaves.has(parent)) {
        const what = modes.get(parent)?.kind === 'symlink' ? 'a symlink' : 'a file';
        throw new PackageFormatError(
          `tar entry ${JSON.stringify(path)}: below ${JSON.stringify(parent)}, which is ${what}`,
        );
      }
    }
  }
}

/** Pushes a package: its layer and config (unless the registry has them), then the manifest under the tag. */
export async function pushPackage(client: OciClient, ref: ImageReference, content: PackageContent): Promise<string> {
  if (!ref.tag || ref.digest)
    throw new PackageFormatError(`pushing needs a tag and no digest: ${formatReference(ref)}`);
  const packed = packPackage(content);
  await client.pushBlob(ref, packed.layer, PACKAGE_MEDIA_TYPES.layer);
  await client.pushBlob(ref, packed.config, PACKAGE_MEDIA_TYPES.config);
  return client.pushManifest(ref, ref.tag, packed.manifest, PACKAGE_MEDIA_TYPES.manifest);
}

export interface PulledPackage extends PackageContent {
  /** The manifest's digest (the revision's identity). */
  digest: string;
  layers: Descriptor[];
}

/** Pulls a package by tag or digest: the manifest, then its layers (verified), unpacked. */
export async function pullPackage(
  client: OciClient,
  ref: ImageReference,
  limits: PackageLimits = {},
): Promise<PulledPackage> {
  const manifest = await client.getManifest(ref);
  const layers = manifest.manifest.layers;
  if (layers.length === 0) throw new PackageFormatError(`${formatReference(ref)}: the artifact has no layers`);
  for (const layer of layers) {
    if (!READABLE_LAYER_TYPES.includes(layer.mediaType)) {
      throw new PackageFormatError(
        `${formatReference(ref)}: layer ${layer.digest} has media type ${JSON.stringify(layer.mediaType)}, not a tar layer (${READABLE_LAYER_TYPES.join(', ')})`,
      );
    }
  }
  const blobs: Buffer[] = [];
  for (const layer of layers) blobs.push(await client.getBlob(ref, layer.digest, layer.size));
  let content: PackageContent;
  try {
    content = unpackLayers(blobs, limits);
  } catch (error) {
    if (error instanceof PackageFormatError) throw new PackageFormatError(`${formatReference(ref)}: ${error.message}`);
    throw error;
  }
  return { ...content, digest: manifest.digest, layers };
}
