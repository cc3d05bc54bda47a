// The content pipeline (merge → mutations → render) on worker threads, so that one thread's CPU does
// not bound a fleet: the main thread keeps the git and Kubernetes I/O and hands each variant's
// ContentInput to the least busy thread. Packages cross as packed buffers (lib/threads/packages.ts);
// the errors the reconciler tells apart (merge conflicts, mutation errors) come back as themselves.
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Transferable } from 'node:worker_threads';
import type { PackageFiles } from '../../lib/kpt/package.ts';
import { MergeConflictError } from '../../lib/merge/index.ts';
import { packFiles, reviveModes, unpackFiles, type PackedFiles } from '../../lib/threads/packages.ts';
import { ThreadPool } from '../../lib/threads/pool.ts';
import { contentInputOf, type Content, type ContentInput, type ContentOptions } from './content.ts';
import { MutationError } from './mutation-error.ts';
import type { PackageContent } from './observe.ts';

/** A package as sent: its files packed, its modes as they are (structured clone). */
interface WirePackage {
  files: PackedFiles;
  modes: PackageContent['modes'];
}

export interface WireTask {
  input: Omit<ContentInput, 'base' | 'updated' | 'original'> & {
    base?: { revision: NonNullable<ContentInput['base']>['revision']; content: WirePackage };
    updated?: WirePackage;
    original?: WirePackage;
  };
  options: ContentOptions;
}

/** The content as returned; files `'base'`: the base's own files, unchanged (decide and render skip those). */
export interface WireContent extends Omit<Content, 'files'> {
  files: PackedFiles | 'base';
}

export type WireError =
  | { kind: 'MergeConflictError'; conflicts: MergeConflictError['conflicts'] }
  | { kind: 'MutationError'; message: string; file?: string; field?: string }
  | { kind: 'Error'; name: string; message: string };

/** Threads for package work by default: one per core but one (the main thread's), at least one. */
export function defaultContentThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

export class ContentThreads {
  private readonly pool: ThreadPool<WireTask, WireContent>;

  constructor(size = defaultContentThreads()) {
    const script = new URL(`./content-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    this.pool = new ThreadPool({ script, size, reviveError: (e) => reviveError(e as WireError) });
  }

  get size(): number {
    return this.pool.size;
  }

  async compute(observed: ContentInput, options: ContentOptions): Promise<Content> {
    const input = contentInputOf(observed);
    const transfer: Transferable[] = [];
    const send = (pkg: PackageContent): WirePackage => {
      const files = packFiles(pkg.files);
      transfer.push(files.bytes);
      return { files, modes: pkg.modes };
    };
    const { base, updated, original, ...rest } = input;
    const task: WireTask = {
      input: {
        ...rest,
        ...(base ? { base: { revision: base.revision, content: send(base.content) } } : {}),
        ...(updated ? { updated: send(updated) } : {}),
        ...(original ? { original: send(original) } : {}),
      },
      options,
    };
    const wire = await this.pool.run(task, transfer);
    return {
      ...wire,
      files: wire.files === 'base' ? base!.content.files : unpackFiles(wire.files),
      modes: reviveModes(wire.modes),
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The worker's side of {@link ContentThreads.compute}: the input as the stages expect it. */
export function receiveTask(task: WireTask): { input: ContentInput; options: ContentOptions } {
  const receive = (pkg: WirePackage): PackageContent => ({
    files: unpackFiles(pkg.files),
    modes: reviveModes(pkg.modes),
  });
  const { base, updated, original, ...rest } = task.input;
  return {
    input: {
      ...rest,
      ...(base ? { base: { revision: base.revision, content: receive(base.content) } } : {}),
      ...(updated ? { updated: receive(updated) } : {}),
      ...(original ? { original: receive(original) } : {}),
    },
    options: task.options,
  };
}

/** The worker's reply: the content, with the base's files named instead of sent when unchanged. */
export function sendContent(content: Content, input: ContentInput): { value: WireContent; transfer: Transferable[] } {
  const sameFiles = content.files === input.base?.content.files;
  const packed: PackedFiles | undefined = sameFiles ? undefined : packFiles(content.files as PackageFiles);
  return {
    value: { ...content, files: packed ?? 'base' },
    transfer: packed ? [packed.bytes] : [],
  };
}

export function describeError(error: unknown): WireError {
  if (error instanceof MergeConflictError) return { kind: 'MergeConflictError', conflicts: error.conflicts };
  if (error instanceof MutationError) {
    return {
      kind: 'MutationError',
      message: error.message,
      ...(error.file !== undefined ? { file: error.file } : {}),
      ...(error.field !== undefined ? { field: error.field } : {}),
    };
  }
  if (error instanceof Error) return { kind: 'Error', name: error.name, message: error.message };
  return { kind: 'Error', name: 'Error', message: String(error) };
}

function reviveError(error: WireError): Error {
  switch (error.kind) {
    case 'MergeConflictError':
      return new MergeConflictError(error.conflicts);
    case 'MutationError':
      return new MutationError(error.message, {
        ...(error.file !== undefined ? { file: error.file } : {}),
        ...(error.field !== undefined ? { field: error.field } : {}),
      });
    default: {
      const revived = new Error(error.message);
      revived.name = error.name;
      return revived;
    }
  }
}
