// Parse caches that keep the merge fast when the controller merges one upstream change into many
// downstream packages: the original and updated packages are the same Buffer objects for every
// downstream, so their parsed documents are kept (weakly, per Buffer) and reused. Parsed upstream
// documents are never modified by the merge (nodes taken from them are copied). Package contents
// are treated as immutable: do not change a Buffer in place after passing it to the merge.
import { createHash } from 'node:crypto';
import { isKnownValidKptfile, KptfileError, readKptfile } from '../kpt/kptfile.ts';
import { MergeError } from './types.ts';
import { parseResourceFile, type ResourceFile } from '../kpt/resources.ts';

const strictFiles = new WeakMap<Buffer, ResourceFile>();
const looseFiles = new WeakMap<Buffer, ResourceFile>();

/** Parsed resources of an upstream (read-only) file; `requireKind` as in {@link parseResourceFile}. */
export function parseUpstreamFile(path: string, content: Buffer, requireKind: boolean): ResourceFile {
  const cache = requireKind ? strictFiles : looseFiles;
  const cached = cache.get(content);
  if (cached && cached.path === path) return cached;
  const parsed = parseResourceFile(path, content.toString('utf8'), { requireKind });
  cache.set(content, parsed);
  return parsed;
}

// Local files already known to be valid (by content hash) → their resource count, so byte-identical
// local files (most files of most downstreams) are not parsed again just to be checked.
const VALID_LIMIT = 50_000;
const valid = new Map<string, number>();

function validKey(path: string, content: Buffer): string {
  return createHash('sha1').update(path).update('\0').update(content).digest('base64');
}

/** Records that a local file parsed and passed the duplicate check. */
export function markValid(path: string, content: Buffer, resources: number): void {
  const key = validKey(path, content);
  valid.delete(key);
  valid.set(key, resources);
  if (valid.size > VALID_LIMIT) valid.delete(valid.keys().next().value as string);
}

/**
 * Checks a local file the merge leaves as it is: valid YAML, KRM maps with a kind, no duplicate
 * resources (`check` runs on a fresh parse). Returns its number of resources.
 */
export function validateLocalFile(path: string, content: Buffer, check: (file: ResourceFile) => void): number {
  const key = validKey(path, content);
  const known = valid.get(key);
  if (known !== undefined) return known;
  const file = parseResourceFile(path, content.toString('utf8'), { requireKind: true });
  check(file);
  markValid(path, content, file.resources.length);
  return file.resources.length;
}

/** Checks a local Kptfile the merge leaves as it is (strict parsing; readKptfile remembers valid bytes). */
export function validateLocalKptfile(content: Buffer): void {
  if (isKnownValidKptfile(content)) return;
  try {
    readKptfile(content, 'Kptfile');
  } catch (e) {
    if (e instanceof KptfileError) throw new MergeError(`local ${e.message}`, 'Kptfile');
    throw e;
  }
}
