// The content pipeline of a PackageVariant reconcile: what the downstream package should hold, as a
// chain of stages over packages in memory (merge → mutations → render). Each stage takes the content so far and what was
// observed, and returns the next content; a new stage is one function and one line in
// CONTENT_STAGES. Stages read and write nothing (injection sources come from the observation), and
// what they read of it is plain data (ContentInput), so the pipeline can run on a worker thread
// (content-threads.ts).
import PQueue from 'p-queue';
import { basename } from 'node:path';
import type { Conflict, ConflictPolicy } from '../../lib/merge/index.ts';
import { mergeModes } from '../../lib/merge/modes.ts';
import { clonePackage, upgradePackage } from '../../lib/merge/upgrade.ts';
import type { PackageFiles, PackageModes } from '../../lib/kpt/package.ts';
import type { RecordedConflict } from '../../lib/git/message.ts';
import type { DefaultedPackageVariantSpec, MergeConflict } from '../../api/v1alpha1/index.ts';
import { renderPackage, type RenderOptions } from '../../lib/fn/render.ts';
import { declaresPipeline } from '../../lib/kpt/kptfile.ts';
import type { ResultList } from '../../lib/fn/types.ts';
import { applyMutations, type InjectionOutcome } from './mutations.ts';
import type { PackageRevision } from '../../lib/git/store.ts';
import type { Observed, PackageContent } from './observe.ts';
import type { ResolvedUpstream } from './upstream.ts';

export type DraftTask = 'clone' | 'upgrade' | 'edit';

export interface Content {
  files: PackageFiles;
  modes: PackageModes;
  task: DraftTask;
  /** Merge conflicts the content carries (those the base draft recorded, then the new ones). */
  conflicts: Conflict[];
  /** The upstream commit the content carries (its Kptfile's upstreamLock). */
  upstreamCommit: string;
  /** The upstream commit the base carries. */
  baseUpstreamCommit?: string;
  injections: InjectionOutcome[];
  /** The Kptfile pipeline's run over this content (absent: it did not run, nothing needed it). */
  render?: RenderRun;
}

/** Porch's `renderStatus`: kpt's ResultList, the error, and how long it took. */
export interface RenderRun {
  results: ResultList;
  error?: string;
  /** The image or exec path of the function that failed. */
  failedFunction?: string;
  seconds: number;
}

export interface ContentOptions {
  conflictPolicy: ConflictPolicy;
  /** Function runtimes for the render stage (allowed executables, container runtime, timeouts). */
  render?: RenderOptions;
}

/** What the stages read of the observation (an Observed is one). */
export interface ContentInput {
  pv: { metadata?: { name?: string } };
  spec: DefaultedPackageVariantSpec;
  downRepo: { spec?: { deployment?: boolean } };
  upstream: Pick<ResolvedUpstream, 'commit' | 'lock'>;
  base?: { revision: Pick<PackageRevision, 'conflicts'>; content: PackageContent };
  lock?: Observed['lock'];
  updated?: PackageContent;
  original?: PackageContent;
  injection: Observed['injection'];
}

/** Only what the stages read: what a worker thread is sent. */
export function contentInputOf(observed: ContentInput): ContentInput {
  const { pv, spec, downRepo, upstream, base, lock, updated, original, injection } = observed;
  return {
    pv: { metadata: { name: pv.metadata!.name! } },
    spec,
    downRepo: { spec: downRepo.spec?.deployment ? { deployment: true } : {} },
    upstream: { commit: upstream.commit, lock: upstream.lock },
    ...(base
      ? {
          base: {
            revision: base.revision.conflicts ? { conflicts: base.revision.conflicts } : {},
            content: base.content,
          },
        }
      : {}),
    ...(lock ? { lock } : {}),
    ...(updated ? { updated } : {}),
    ...(original ? { original } : {}),
    injection,
  };
}

export type ContentStage = (
  content: Content,
  observed: ContentInput,
  options: ContentOptions,
) => Content | Promise<Content>;

/** The base (or, without one, the upstream) as the pipeline's starting point. */
export function startContent(observed: ContentInput): Content {
  const { base, lock, upstream } = observed;
  const start = base?.content ?? observed.updated!;
  return {
    files: start.files,
    modes: start.modes,
    task: !base ? 'clone' : lock?.current ? 'edit' : 'upgrade',
    conflicts: (base?.revision.conflicts ?? []).map(toConflict),
    upstreamCommit: lock?.current ? lock.commit : upstream.commit,
    ...(lock ? { baseUpstreamCommit: lock.commit } : {}),
    injections: [],
  };
}

/** Clone: the upstream package, renamed; upgrade: the three-way merge; edit: the base as it is. */
export const mergeStage: ContentStage = (content, observed, options) => {
  const { upstream, spec, downRepo } = observed;
  if (content.task === 'edit') return content;
  if (content.task === 'clone') {
    const packageName = spec.downstream!.package!;
    const files = clonePackage(content.files, upstream.lock, {
      name: basename(packageName),
      ...(downRepo.spec?.deployment ? { packageContext: { packagePath: packageName } } : {}),
    });
    const cloned = mergeModes(new Map(), content.modes, new Map(), files);
    return { ...content, files: cloned.files, modes: cloned.modes };
  }
  const original = observed.original!;
  const updated = observed.updated!;
  const result = upgradePackage(
    { original: original.files, updated: updated.files, local: content.files },
    upstream.lock,
    {
      conflicts: options.conflictPolicy,
    },
  );
  const merged = mergeModes(original.modes, updated.modes, content.modes, result.files, {
    conflicts: options.conflictPolicy,
  });
  return {
    ...content,
    files: merged.files,
    modes: merged.modes,
    // Conflicts stay with the draft that took them in until it is published: recomputing it does
    // not make the overridden local values any less lost.
    conflicts: unionConflicts(content.conflicts, [...result.conflicts, ...merged.conflicts]),
  };
};

/** Labels, annotations, package context, pipeline entries and config injection. */
export const mutateStage: ContentStage = async (content, observed) => {
  const { pv, spec, injection } = observed;
  const mutated = await applyMutations(
    content.files,
    { name: pv.metadata!.name!, spec },
    {
      list: async (apiVersion, kind) => {
        const source = injection.get(`${apiVersion}/${kind}`);
        if (!source) throw new Error(`${apiVersion} ${kind} was not observed`);
        if ('error' in source) throw new Error(source.error);
        return source.objects;
      },
    },
  );
  return {
    ...content,
    files: mutated.files,
    modes: modesFor(mutated.files, content.modes),
    injections: mutated.injections,
  };
};

/**
 * The Kptfile pipeline (`kpt fn render`), as Porch runs it after every write: only when the content
 * is about to become a new draft commit (an unchanged base was rendered when it was written) and
 * some Kptfile of the package declares a pipeline. A failure keeps the unrendered content and says why.
 */
export const renderStage: ContentStage = async (content, observed, options) => {
  const unchanged = content.task === 'edit' && content.files === observed.base?.content.files;
  if (unchanged || !declaresPipeline(content.files)) return content;
  const started = performance.now();
  const outcome = await renderPackage(content.files, options.render ?? {});
  const seconds = (performance.now() - started) / 1000;
  const failed = outcome.error !== undefined ? outcome.results.items.find((r) => r.exitCode !== 0) : undefined;
  const render: RenderRun = {
    results: outcome.results,
    seconds,
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    ...(outcome.error !== undefined
      ? { failedFunction: failed?.image ?? failed?.exec ?? outcome.failedFunction ?? '(pipeline)' }
      : {}),
  };
  if (outcome.error !== undefined) return { ...content, render };
  return { ...content, files: outcome.files, modes: modesFor(outcome.files, content.modes), render };
};

/** The modes that still apply after a stage changed the files: an executable bit needs its file. */
function modesFor(files: PackageFiles, modes: PackageModes): PackageModes {
  return new Map([...modes].filter(([path, e]) => e.kind !== 'executable' || files.has(path)));
}

export const CONTENT_STAGES: readonly ContentStage[] = [mergeStage, mutateStage, renderStage];

// A few variants' pipelines at a time (this thread has work while others wait for a function): a
// variant's stages then follow each other closely, so the parses one stage hands to the next
// (lib/kpt/parse-handoff.ts, shared Kptfile views) are still there, instead of a fleet's merges
// running ahead of its renders and pushing them out. Four kept the main thread as busy as more did.
const slots = new PQueue({ concurrency: 4 });

export async function computeContent(
  observed: ContentInput,
  options: ContentOptions,
  stages: readonly ContentStage[] = CONTENT_STAGES,
): Promise<Content> {
  return slots.add(async () => {
    let content = startContent(observed);
    for (const stage of stages) content = await stage(content, observed, options);
    return content;
  }) as Promise<Content>;
}

function toConflict(c: RecordedConflict): Conflict {
  return { ...c, winner: c.winner === 'local' ? 'local' : 'upstream' };
}

/** `earlier` followed by the conflicts of `later` not already listed (same file, resource and field). */
function unionConflicts(earlier: readonly Conflict[], later: readonly Conflict[]): Conflict[] {
  const key = (c: Conflict) => `${c.file}\0${c.resource}\0${c.field}`;
  const known = new Set(later.map(key));
  return [...earlier.filter((c) => !known.has(key(c))), ...later];
}

export function toMergeConflicts(conflicts: readonly Conflict[]): MergeConflict[] {
  return conflicts.map((c) => ({ ...c }));
}
