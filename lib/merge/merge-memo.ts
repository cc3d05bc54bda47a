// A memo of file merges for fleets: when one upstream change is merged into many downstream
// packages, most of their files are byte-identical across the fleet (only the files a site edited
// differ), and so are their merges. Without CRDs in play, a resource file's merge depends only on
// its path, its three versions and the generation and conflict policy, so the result (new text,
// conflicts, counts) is remembered by a hash of exactly those. Bounded: the oldest entries go first.
import { createHash } from 'node:crypto';
import type { Conflict, ConflictPolicy, Generation, MergeStats } from './types.ts';

export interface MemoContext {
  generation: Generation;
  conflicts: ConflictPolicy;
}

export interface MemoizedFileMerge {
  /** The file's new text, or null when it is deleted (no entry: unchanged). */
  changed: Array<[string, string | null]>;
  conflicts: Conflict[];
  stats: Omit<MergeStats, 'filesChanged'>;
}

const LIMIT = 2_000;
const memo = new Map<string, MemoizedFileMerge>();

export function fileMergeKey(
  context: MemoContext,
  path: string,
  original: Buffer | undefined,
  updated: Buffer | undefined,
  local: Buffer | undefined,
): string {
  const hash = createHash('sha256').update(`${context.generation}\0${context.conflicts}\0${path}\0`);
  for (const content of [original, updated, local]) {
    // Length-prefixed, so that absent and empty differ and no two triples collide by concatenation.
    hash.update(content ? `${content.length}:` : '-:');
    if (content) hash.update(content);
  }
  return hash.digest('base64');
}

/** A remembered merge (a copy: callers may keep and change it). */
export function rememberedFileMerge(key: string): MemoizedFileMerge | undefined {
  const hit = memo.get(key);
  if (!hit) return undefined;
  memo.delete(key);
  memo.set(key, hit);
  return structuredClone(hit);
}

export function rememberFileMerge(key: string, merge: MemoizedFileMerge): void {
  memo.delete(key);
  memo.set(key, structuredClone(merge));
  if (memo.size > LIMIT) memo.delete(memo.keys().next().value as string);
}

/** Forgets every remembered merge (tests). */
export function clearFileMergeMemo(): void {
  memo.clear();
}
