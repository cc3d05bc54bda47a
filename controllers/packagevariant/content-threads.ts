// The content pipeline (merge → mutations → render) on worker threads (`--threads N`), so that one
// thread's CPU need not bound a fleet: the main thread keeps the git and Kubernetes I/O and hands
// each variant's ContentInput to the least busy thread. Off by default: on a 2-core machine it is
// slower than the main thread alone (docs/benchmarks.md, "Package work on worker threads").
// Packages cross as packed buffers (lib/threads/packages.ts); the errors the reconciler tells apart
// (merge conflicts, mutation errors) come back as themselves.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Transferable } from 'node:worker_threads';
import { MergeConflictError } from '../../lib/merge/index.ts';
import {
  type FileReceiver,
  FileSender,
  packFiles,
  reviveModes,
  unpackFiles,
  type PackedFiles,
} from '../../lib/threads/packages.ts';
import { ThreadPool } from '../../lib/threads/pool.ts';
import { contentInputOf, type Content, type ContentInput, type ContentOptions } from './content.ts';
import { MutationError } from './mutation-error.ts';
import type { PackageContent } from './observe.ts';

/** A package as sent: its files packed, its modes as they are (structured clone). */
interface WirePackage {
  files: PackedFiles;
  modes: PackageContent['modes'];
}

/** A ContentInput with each of its packages (the base's content, updated, original) as `P`. */
type WithPackages<P> = Omit<ContentInput, 'base' | 'updated' | 'original'> & {
  base?: { revision: NonNullable<ContentInput['base']>['revision']; content: P };
  updated?: P;
  original?: P;
};

function mapPackages<A, B>(input: WithPackages<A>, map: (pkg: A) => B): WithPackages<B> {
  const { base, updated, original, ...rest } = input;
  return {
    ...rest,
    ...(base ? { base: { revision: base.revision, content: map(base.content) } } : {}),
    ...(updated ? { updated: map(updated) } : {}),
    ...(original ? { original: map(original) } : {}),
  };
}

export interface WireTask {
  input: WithPackages<WirePackage>;
  options: ContentOptions;
  /** Files the thread may drop (FileSender.evictions). */
  forget: number[];
}

/** The content as returned; files `'base'`: the base's own files, unchanged (decide and render skip those). */
export interface WireContent extends Omit<Content, 'files'> {
  files: PackedFiles | 'base';
}

export type WireError =
  | { kind: 'MergeConflictError'; conflicts: MergeConflictError['conflicts'] }
  | { kind: 'MutationError'; message: string; file?: string; field?: string }
  | { kind: 'Error'; name: string; message: string };

export class ContentThreads {
  private readonly pool: ThreadPool<WireTask, WireContent>;
  private readonly sender = new FileSender();

  constructor(size: number) {
    const script = new URL(`./content-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    this.pool = new ThreadPool({
      script,
      size,
      reviveError: (e) => reviveError(e as WireError),
      onStart: (thread) => this.sender.reset(thread),
    });
  }

  async compute(observed: ContentInput, options: ContentOptions): Promise<Content> {
    const input = contentInputOf(observed);
    const wire = await this.pool.runOn((thread) => {
      const transfer: Transferable[] = [];
      const send = (pkg: PackageContent): WirePackage => {
        const files = this.sender.pack(thread, pkg.files);
        transfer.push(files.bytes);
        return { files, modes: pkg.modes };
      };
      const task: WireTask = { input: mapPackages(input, send), options, forget: this.sender.evictions(thread) };
      return { task, transfer };
    });
    return {
      ...wire,
      files: wire.files === 'base' ? input.base!.content.files : unpackFiles(wire.files),
      modes: reviveModes(wire.modes),
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The worker's side of {@link ContentThreads.compute}: the input as the stages expect it. */
export function receiveTask(task: WireTask, receiver: FileReceiver): { input: ContentInput; options: ContentOptions } {
  const input: ContentInput = mapPackages(task.input, (pkg) => ({
    files: receiver.unpack(pkg.files),
    modes: reviveModes(pkg.modes),
  }));
  // After the unpack: what this message evicted may be one of its own files.
  receiver.forget(task.forget);
  return { input, options: task.options };
}

/** The worker's reply: the content, with the base's files named instead of sent when unchanged. */
export function sendContent(content: Content, input: ContentInput): { value: WireContent; transfer: Transferable[] } {
  const sameFiles = content.files === input.base?.content.files;
  const packed: PackedFiles | undefined = sameFiles ? undefined : packFiles(content.files);
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
