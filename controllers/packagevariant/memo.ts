// Remembered no-op reconciles. A reconcile is a function of what it observes; when everything that
// decides it is what it was at an earlier reconcile that wrote nothing, it writes nothing again
// and reports the same outcome. That "everything" is fingerprinted from refs, trees and objects
// alone, never from package contents: the variant (spec and metadata), its Repositories, the
// upstream revision and package tree (and its published revisions), the downstream revisions of
// the package (refs, commits, trees, owners, conflicts), the package tree on the deployment
// branch, the reconciler's settings, and the objects of the kinds its injection points select.
//
// Only outcomes without writes are remembered, so a hit can only skip work that would have
// changed nothing. Not covered, on purpose: a function behind the same image tag or executable
// path that now renders differently (a change to anything above, or a requested reconcile,
// renders again). The memo can live in a file (local mode's cache directory), so that a scheduled
// `pvctl reconcile` with nothing changed since its last run reads no package.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PackageVariant } from '../../api/v1alpha1/index.ts';
import type { ObjectStore } from '../store.ts';
import type { ObservedRefs } from './observe.ts';
import type { Outcome } from './status.ts';

/** The memo's file in local mode's cache directory. */
export const MEMO_FILE = 'reconcile-memo.json';
/** Bump when what decides a reconcile, or the shape of an outcome, changes. */
const MEMO_VERSION = 1;
/** Entries kept (one per variant); the oldest go first. */
const MAX_ENTRIES = 100_000;

export interface MemoEntry {
  fingerprint: string;
  /** `apiVersion/kind` of the injection sources the packages select (a function of their trees). */
  injectionKinds: string[];
  outcome: Outcome;
}

export class ReconcileMemo {
  private readonly entries = new Map<string, MemoEntry>();
  private readonly file: string | undefined;
  private dirty = false;
  /** Reconciles answered from the memo, for the report. */
  hits = 0;

  /** `file`: where `save` writes and the constructor reads (a missing or unreadable file is an empty memo). */
  constructor(file?: string) {
    this.file = file;
    if (!file) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; entries?: [string, MemoEntry][] };
      if (saved.version === MEMO_VERSION) for (const [key, entry] of saved.entries ?? []) this.entries.set(key, entry);
    } catch {
      // Nothing remembered: every variant is reconciled in full once.
    }
  }

  /** The remembered entry of `key` (a copy) when its inputs are those it was remembered with; counts a hit. */
  async recall(
    key: string,
    refsPrint: string,
    objects: ObjectStore,
    namespace: string,
  ): Promise<MemoEntry | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.fingerprint !== (await withInjectionSources(refsPrint, objects, namespace, entry.injectionKinds))) {
      return undefined;
    }
    this.hits++;
    return structuredClone(entry);
  }

  /** Remembers the outcome of a reconcile that wrote nothing (`outcome`), or forgets `key` (undefined). */
  async remember(
    key: string,
    refsPrint: string,
    objects: ObjectStore,
    namespace: string,
    { injectionKinds, outcome }: { injectionKinds: string[]; outcome: Outcome | undefined },
  ): Promise<void> {
    const fingerprint = outcome && (await withInjectionSources(refsPrint, objects, namespace, injectionKinds));
    if (!fingerprint) {
      this.dirty = this.entries.delete(key) || this.dirty;
      return;
    }
    this.entries.delete(key);
    this.entries.set(key, { fingerprint, injectionKinds, outcome: structuredClone(outcome) });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.dirty = true;
  }

  /** Writes the memo to its file (atomically: a temporary file renamed), when it changed. */
  save(): void {
    if (!this.file || !this.dirty) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify({ version: MEMO_VERSION, entries: [...this.entries] }));
    renameSync(temporary, this.file);
    this.dirty = false;
  }
}

const sha256 = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * What about the variant object decides its reconcile: not its status, resourceVersion or managed
 * fields, nor its creation time (which only orders rivals for a package it does not own yet).
 */
function variantIdentity(pv: PackageVariant): unknown {
  const { uid, name, namespace, labels, annotations, ownerReferences, deletionTimestamp } = pv.metadata ?? {};
  return [uid, name, namespace, labels, annotations, ownerReferences, deletionTimestamp ?? null, pv.spec];
}

/**
 * The fingerprint of a reconcile's refs-only inputs, or undefined when the variant does not own its
 * downstream package yet (a clone, or a package another variant or a file holds: not worth it).
 */
export async function refsFingerprint(
  refs: ObservedRefs,
  pv: PackageVariant,
  settings: unknown,
): Promise<string | undefined> {
  const { downstream, downStore, upstream, packageName } = refs;
  if (downstream.drafts.length === 0 && downstream.ownedPublished.length === 0) return undefined;
  const tip = await downStore.ref(`refs/heads/${downStore.branch}`);
  const tipTree = tip ? await downStore.packageTree(tip, packageName) : undefined;
  return sha256([
    MEMO_VERSION,
    settings,
    variantIdentity(pv),
    refs.downRepo.spec,
    refs.upRepo?.spec ?? null,
    [
      upstream.source.url,
      upstream.packageName,
      upstream.commit,
      upstream.tree,
      upstream.revision ?? null,
      upstream.lock,
    ],
    refs.upstreamRevisions,
    refs.revisions,
    tipTree ?? null,
  ]);
}

/** The full fingerprint: the refs-only one and the objects of the injection source kinds (undefined when a list fails). */
async function withInjectionSources(
  fingerprint: string,
  objects: ObjectStore,
  namespace: string,
  kinds: readonly string[],
): Promise<string | undefined> {
  try {
    const listed = await Promise.all(
      [...kinds].sort().map(async (id) => {
        const slash = id.lastIndexOf('/');
        const found = await objects.listObjects(
          { apiVersion: id.slice(0, slash), kind: id.slice(slash + 1) },
          namespace,
        );
        return [id, found.map((o) => [o.metadata?.name, o.metadata?.uid, o.metadata?.resourceVersion, o])];
      }),
    );
    return sha256([fingerprint, listed]);
  } catch {
    return undefined;
  }
}
