// Public types of the package merge.
import type { PackageFiles } from '../kpt/package.ts';

/** `B`: kpt v1.0.0-beta.62 as Porch runs it (default). `C`: kpt HEAD (PR #4542) null/comparison rules. */
export type Generation = 'B' | 'C';

export const STRATEGIES = ['resource-merge', 'fast-forward', 'force-delete-replace', 'copy-merge'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** What happens when both sides changed a field differently. `fail` merges as upstream-wins, then throws. */
export type ConflictPolicy = 'upstream-wins' | 'local-wins' | 'fail';

export interface MergeInput {
  /** The upstream package at the commit the local package was forked from (empty map: none). */
  original: PackageFiles;
  /** The new upstream package. */
  updated: PackageFiles;
  /** The downstream package. */
  local: PackageFiles;
}

export interface MergeOptions {
  strategy?: Strategy;
  conflicts?: ConflictPolicy;
  generation?: Generation;
  /**
   * The package is the root of the update (as Porch runs it): the Kptfile merge keeps the local
   * `upstream`/`upstreamLock` under resource-merge. Default true.
   */
  isRoot?: boolean;
  /** Extra CustomResourceDefinitions (plain objects) whose schemas drive list merging. */
  crds?: unknown[];
  /** Read CRDs found in the three packages too (default true). */
  crdsFromPackages?: boolean;
}

/**
 * A field (or whole resource) that both sides changed differently. Same fields as the API's
 * `MergeConflict`, so the controller can copy it into status.
 */
export interface Conflict {
  file: string;
  /** `Kind.group namespace/name` of the resource (`Kptfile` for the Kptfile). */
  resource: string;
  /** Path of the field inside the resource, e.g. `spec.template.spec.containers[name=app].image`. */
  field: string;
  original?: string;
  updated?: string;
  local?: string;
  winner: 'upstream' | 'local';
}

export interface MergeStats {
  /** Resources merged field by field. */
  merged: number;
  /** Resources added from upstream. */
  added: number;
  /** Resources removed because upstream deleted them. */
  deleted: number;
  /** Resources left as they were locally. */
  unchanged: number;
  /** Files written differently from the local package (added, changed or deleted). */
  filesChanged: number;
}

export interface MergeResult {
  files: PackageFiles;
  conflicts: Conflict[];
  stats: MergeStats;
}

/** Thrown for input the merge cannot work with; names the file and, when known, the document. */
export class MergeError extends Error {
  readonly file: string | undefined;
  readonly index: number | undefined;
  constructor(message: string, file?: string, index?: number) {
    super(message);
    this.name = 'MergeError';
    this.file = file;
    this.index = index;
  }
}

/** Thrown by the `fail` conflict policy; carries the conflicts (nothing is written). */
export class MergeConflictError extends Error {
  readonly conflicts: Conflict[];
  constructor(conflicts: Conflict[]) {
    super(
      `${conflicts.length} merge conflict(s): ${conflicts.map((c) => `${c.file} ${c.resource} ${c.field}`).join('; ')}`,
    );
    this.name = 'MergeConflictError';
    this.conflicts = conflicts;
  }
}
