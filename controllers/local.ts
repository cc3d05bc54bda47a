// One reconcile pass over objects read from YAML, with no cluster: `pvctl reconcile -f`, the demo,
// fleet upgrades from a CI job. A pass with nothing changed since one that wrote nothing (a
// scheduled job) is answered from the pass memo: one `ls-remote` per repository it read, nothing
// else loaded or read (controllers/pass-memo.ts). Otherwise the full pass runs (local-pass.ts).
import { join } from 'node:path';
import type { KubeObject, PackageVariant, PackageVariantSet } from '../api/v1alpha1/index.ts';
import type { FieldError } from '../api/v1alpha1/field-errors.ts';
import { defaultCacheDir } from '../lib/git/repository.ts';
import { packageVersion } from '../lib/version.ts';
import type { RenderOptions } from '../lib/fn/render.ts';
import type { ConflictPolicy } from '../lib/merge/index.ts';
import type { LocalObjectStore, RecordedEvent } from './local-store.ts';
import { PASS_MEMO_DIR, passFingerprint, PassMemo } from './pass-memo.ts';

/**
 * Variants a local pass reconciles at once. Measured at N = 1,000 (docs/benchmarks.md): waves of 500
 * upgrade faster than all at once (8.0 s against 9.4 s) with less memory; at N = 10,000 they keep
 * the peak under 1 GiB. Fewer cost pushes and time without saving memory.
 */
export const DEFAULT_PASS_CONCURRENCY = 500;

export interface LocalRunOptions {
  cacheDir?: string;
  /**
   * Variants reconciled at once (default `DEFAULT_PASS_CONCURRENCY`). Each repository is pushed when
   * every running reconcile waits for its push, so a pass pushes each repository once per wave of
   * this many variants: the bound keeps memory flat in large fleets (docs/benchmarks.md).
   */
  concurrency?: number;
  conflictPolicy?: ConflictPolicy;
  /** Function runtimes for rendering drafts (allowed executables, container runtime, timeouts). */
  render?: RenderOptions;
  /** Worker threads for merging, mutating and rendering packages (default 0: on the main thread). */
  threads?: number;
  /** Preview: compute every draft, push nothing (the result's `previews` say what would be pushed). */
  dryRun?: boolean;
  onProgress?(done: number, total: number): void;
  /** Names input object `index` in messages (default `object <index>`), e.g. by file and document. */
  describe?(index: number): string;
}

/** An input object the API server would refuse; it is not reconciled, nor is what depends on it. */
export interface Rejection {
  /** Position in the input. */
  index: number;
  object: unknown;
  errors: FieldError[];
}

/** The objects a pass left, and the events it recorded (a LocalObjectStore, or a remembered pass's). */
export interface LocalObjects {
  all(): KubeObject[];
  readonly events: readonly RecordedEvent[];
}

export interface LocalRunResult {
  store: LocalObjects;
  variants: PackageVariant[];
  sets: PackageVariantSet[];
  /** Errors by variant (or set) key, for those whose reconcile failed. */
  errors: Map<string, string>;
  /** Objects refused on admission; refused variants and sets are also in `variants` and `sets`, Stalled. */
  rejected: Rejection[];
  pushes: number;
  /** Variants decided from refs and trees alone: nothing moved since a run that wrote nothing for them. */
  unchanged: number;
  /** The whole pass was answered from the pass memo (same input, no repository moved). */
  remembered: boolean;
  /** Dry run: what each push would have written, per variant. */
  previews: DraftPreview[];
}

/** Dry run: one ref a push would have moved, with the package's diff against the deployment branch. */
export interface DraftPreview {
  /** The variant's key (`namespace/name`), when a variant's status names the commit. */
  variant?: string;
  repository: string;
  ref: string;
  /** The new commit; undefined when the ref would be deleted. */
  commit?: string;
  packageName?: string;
  /** Paths of the package that differ from the deployment branch, and the unified diff. */
  files: string[];
  patch: string;
}

export async function reconcileLocally(input: unknown[], options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const memo = new PassMemo(join(cacheDir, PASS_MEMO_DIR), cacheDir);
  const settings = {
    version: packageVersion(),
    conflictPolicy: options.conflictPolicy ?? null,
    render: options.render ?? null,
    dryRun: options.dryRun ?? false,
  };
  const fingerprint = passFingerprint(input, settings);
  const remembered = await memo.recall(fingerprint, input);
  if (remembered) {
    const { objects, variants, sets } = remembered;
    options.onProgress?.(variants.length, variants.length);
    return {
      store: { all: () => objects, events: [] },
      variants,
      sets,
      errors: new Map(),
      rejected: [],
      pushes: 0,
      unchanged: variants.length,
      remembered: true,
      previews: [],
    };
  }
  const { runPass } = await import('./local-pass.ts');
  const { result, reads } = await runPass(input, options);
  const wroteNothing = result.pushes === 0 && result.previews.length === 0;
  if (reads && wroteNothing && result.errors.size === 0 && result.rejected.length === 0) {
    memo.remember(fingerprint, reads, { objects: result.store.all(), variants: result.variants, sets: result.sets });
  }
  return result;
}

/**
 * The variants the input declares: its PackageVariants and those its PackageVariantSets generate
 * (their targets rendered; no git is read, so a set's upstream revision is not checked).
 */
export async function expandSetsLocally(
  input: unknown[],
  describe?: (index: number) => string,
): Promise<{ variants: PackageVariant[]; store: LocalObjectStore; rejected: Rejection[] }> {
  return (await import('./local-pass.ts')).expandSetsLocally(input, describe);
}
