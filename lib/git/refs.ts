// Porch's ref layout ⇄ package revisions.
//
//   Draft            refs/heads/drafts/<pkgPath>/<workspace>
//   Proposed         refs/heads/proposed/<pkgPath>/<workspace>
//   Published        refs/tags/<pkgPath>/v<N>
//   DeletionProposed refs/tags/<pkgPath>/v<N> + refs/heads/deletionProposed/<pkgPath>/v<N>
//   placeholder      refs/heads/<branch> (the deployment branch: latest content of every package)
//
// `pkgPath` includes the repository directory.
import { assertPackagePath, assertWorkspaceName } from './validate.ts';

export type Lifecycle = 'Draft' | 'Proposed' | 'Published' | 'DeletionProposed';

export const HEADS = 'refs/heads/';
export const TAGS = 'refs/tags/';

export function branchRef(branch: string): string {
  return `${HEADS}${branch}`;
}

export function draftRef(pkgPath: string, workspace: string): string {
  assertPackagePath(pkgPath);
  assertWorkspaceName(workspace);
  return `${HEADS}drafts/${pkgPath}/${workspace}`;
}

export function proposedRef(pkgPath: string, workspace: string): string {
  assertPackagePath(pkgPath);
  assertWorkspaceName(workspace);
  return `${HEADS}proposed/${pkgPath}/${workspace}`;
}

export function publishedTag(pkgPath: string, revision: number): string {
  assertPackagePath(pkgPath);
  if (!Number.isSafeInteger(revision) || revision < 1) throw new RangeError(`invalid revision ${revision}`);
  return `${TAGS}${pkgPath}/v${revision}`;
}

export function deletionProposedRef(pkgPath: string, revision: number): string {
  assertPackagePath(pkgPath);
  return `${HEADS}deletionProposed/${pkgPath}/v${revision}`;
}

/** What a ref means in the Porch layout. */
export type ParsedRef =
  | { kind: 'draft' | 'proposed'; pkgPath: string; workspace: string }
  | { kind: 'published'; pkgPath: string; revision: number }
  | { kind: 'deletionProposed'; pkgPath: string; revision: number }
  | { kind: 'branch'; branch: string }
  | { kind: 'other' };

function splitLast(path: string): [string, string] | undefined {
  const slash = path.lastIndexOf('/');
  if (slash <= 0 || slash === path.length - 1) return undefined;
  return [path.slice(0, slash), path.slice(slash + 1)];
}

function parseRevision(text: string): number {
  const m = /^v?(\d+)$/.exec(text);
  return m ? Number(m[1]) : -1;
}

export function parseRef(ref: string): ParsedRef {
  if (ref.startsWith(TAGS)) {
    const parts = splitLast(ref.slice(TAGS.length));
    if (!parts) return { kind: 'other' };
    return { kind: 'published', pkgPath: parts[0], revision: parseRevision(parts[1]) };
  }
  if (!ref.startsWith(HEADS)) return { kind: 'other' };
  const name = ref.slice(HEADS.length);
  for (const kind of ['drafts', 'proposed', 'deletionProposed'] as const) {
    if (name.startsWith(`${kind}/`)) {
      const parts = splitLast(name.slice(kind.length + 1));
      if (!parts) return { kind: 'other' };
      if (kind === 'deletionProposed') {
        return { kind: 'deletionProposed', pkgPath: parts[0], revision: parseRevision(parts[1]) };
      }
      return { kind: kind === 'drafts' ? 'draft' : 'proposed', pkgPath: parts[0], workspace: parts[1] };
    }
  }
  return { kind: 'branch', branch: name };
}

/** Whether `pkgPath` lies inside the repository directory ('' = everywhere). */
export function inDirectory(pkgPath: string, directory: string): boolean {
  return directory === '' || pkgPath.startsWith(`${directory}/`);
}

/** The package path relative to the repository directory (Porch's `packageName`). */
export function relativePackagePath(pkgPath: string, directory: string): string {
  return directory === '' ? pkgPath : pkgPath.slice(directory.length + 1);
}

export interface IndexedRef {
  ref: string;
  oid: string;
  parsed: ParsedRef;
}

/**
 * One ref snapshot, parsed once and indexed by package path. A fleet's variants each ask about
 * their own package in a repository of thousands of refs; walking and parsing every ref per
 * question made a pass quadratic in the fleet's size.
 */
export class RefIndex {
  readonly all: readonly IndexedRef[];
  private readonly refs: ReadonlyMap<string, string>;
  private readonly byPackage = new Map<string, IndexedRef[]>();
  private readonly branches: IndexedRef[] = [];

  constructor(refs: ReadonlyMap<string, string>) {
    this.refs = refs;
    this.all = [...refs].map(([ref, oid]) => ({ ref, oid, parsed: parseRef(ref) }));
    for (const entry of this.all) {
      const { parsed } = entry;
      if (parsed.kind === 'branch') this.branches.push(entry);
      else if (parsed.kind !== 'other') {
        const list = this.byPackage.get(parsed.pkgPath);
        if (list) list.push(entry);
        else this.byPackage.set(parsed.pkgPath, [entry]);
      }
    }
  }

  get(ref: string): string | undefined {
    return this.refs.get(ref);
  }

  has(ref: string): boolean {
    return this.refs.has(ref);
  }

  get size(): number {
    return this.refs.size;
  }

  /** The revision refs (draft, proposed, published, deletionProposed) of one package path, in snapshot order. */
  ofPackage(pkgPath: string): readonly IndexedRef[] {
    return this.byPackage.get(pkgPath) ?? [];
  }

  /** The branch refs, in snapshot order. */
  branchRefs(): readonly IndexedRef[] {
    return this.branches;
  }
}
