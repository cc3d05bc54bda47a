// Batched commit writer: one `git fast-import` process writes every commit of a batch (no
// worktree, no index, no process per commit or per file).
import { encodeName } from '../bytes/names.ts';
import { spawnGit, GitError } from './exec.ts';
import type { Identity } from './message.ts';
import { assertFilePath, assertObjectId, assertPackageEntries, assertPackagePath } from './validate.ts';

/** A tree entry that is not a plain 100644 file (same shape as lib/kpt's SpecialEntry). */
export type SpecialEntry =
  { kind: 'executable' } | { kind: 'symlink'; target: Buffer } | { kind: 'gitlink'; commit: string };
/**
 * Entries that are not plain 100644 files: executables (whose content stays in the file map),
 * symlinks and gitlinks (which are not in the file map). Same shape as lib/kpt's PackageModes.
 */
export type PackageModes = Map<string, SpecialEntry>;

export type TreeChange =
  /** Replace directory `path` with these files (paths relative to `path`), with their modes. */
  | { kind: 'files'; path: string; files: ReadonlyMap<string, Buffer>; modes?: ReadonlyMap<string, SpecialEntry> }
  /** Replace directory `path` with an existing tree. */
  | { kind: 'tree'; path: string; tree: string }
  /** Remove directory `path`. */
  | { kind: 'delete'; path: string }
  /** Add or replace one file at a repository path. */
  | { kind: 'file'; path: string; content: Buffer };

export interface CommitSpec {
  /**
   * Parent commits (object ids, or `:<n>` for the n-th commit of the same batch, 1-based); the first
   * one's tree is the starting point. Empty for a root commit.
   */
  parents: string[];
  changes: TreeChange[];
  message: string;
  author: Identity;
  committer: Identity;
  /** Seconds since the epoch; default now. */
  time?: number;
}

const SCRATCH_REF = 'refs/pv-writer/scratch';

/**
 * C-style quoting of the path's bytes (lib/bytes/names.ts), as fast-import reads every path: `"`
 * and `\\` escaped, every byte outside printable ASCII as an octal escape.
 */
function quotePath(path: string): string {
  let out = '"';
  for (const byte of encodeName(path)) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte >= 0x7f) out += `\\${byte.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

function identityLine(kind: 'author' | 'committer', who: Identity, time: number): string {
  const clean = (s: string) => s.replace(/[<>\n]/g, '');
  return `${kind} ${clean(who.name)} <${clean(who.email)}> ${time} +0000\n`;
}

function data(content: Buffer | string): Buffer[] {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return [Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n')];
}

/** Validates and renders the fast-import stream of one commit (mark = index + 1). */
function renderCommit(spec: CommitSpec, mark: number): Buffer[] {
  const time = spec.time ?? Math.floor(Date.now() / 1000);
  const out: Buffer[] = [Buffer.from(`reset ${SCRATCH_REF}\ncommit ${SCRATCH_REF}\nmark :${mark}\n`)];
  out.push(Buffer.from(identityLine('author', spec.author, time) + identityLine('committer', spec.committer, time)));
  out.push(...data(spec.message));
  spec.parents.forEach((parent, i) => {
    const earlier = /^:(\d+)$/.exec(parent);
    if (earlier) {
      if (Number(earlier[1]) < 1 || Number(earlier[1]) >= mark)
        throw new RangeError(`parent ${parent} is not an earlier commit`);
    } else assertObjectId(parent);
    out.push(Buffer.from(`${i === 0 ? 'from' : 'merge'} ${parent}\n`));
  });
  for (const change of spec.changes) {
    if (change.kind === 'file') {
      assertFilePath(change.path);
      out.push(Buffer.from(`M 100644 inline ${quotePath(change.path)}\n`), ...data(change.content));
      continue;
    }
    assertPackagePath(change.path);
    out.push(Buffer.from(`D ${quotePath(change.path)}\n`));
    if (change.kind === 'tree') {
      assertObjectId(change.tree);
      out.push(Buffer.from(`M 040000 ${change.tree} ${quotePath(change.path)}\n`));
    } else if (change.kind === 'files') {
      const modes = change.modes ?? new Map<string, SpecialEntry>();
      assertPackageEntries(change.files, modes);
      const names = new Set([...change.files.keys(), ...modes.keys()]);
      for (const name of [...names].sort()) {
        const path = quotePath(`${change.path}/${name}`);
        const content = change.files.get(name);
        const special = modes.get(name);
        if (content) {
          const mode = special?.kind === 'executable' ? '100755' : '100644';
          out.push(Buffer.from(`M ${mode} inline ${path}\n`), ...data(content));
        } else if (special?.kind === 'symlink') {
          out.push(Buffer.from(`M 120000 inline ${path}\n`), ...data(special.target));
        } else if (special?.kind === 'gitlink') {
          out.push(Buffer.from(`M 160000 ${special.commit} ${path}\n`));
        }
      }
    }
  }
  out.push(Buffer.from('\n'));
  return out;
}

/** Writes the commits in order (a commit may not name a later one) and returns their ids. */
export async function writeCommits(gitDir: string, specs: readonly CommitSpec[]): Promise<string[]> {
  if (specs.length === 0) return [];
  // Render (and validate) everything before a process is started.
  const stream: Buffer[] = [];
  specs.forEach((spec, i) => stream.push(...renderCommit(spec, i + 1)));
  stream.push(Buffer.from(specs.map((_, i) => `get-mark :${i + 1}\n`).join('')));
  stream.push(Buffer.from(`reset ${SCRATCH_REF}\ndone\n`));

  const child = spawnGit(['fast-import', '--quiet', '--done', '--force'], { cwd: gitDir, env: { GIT_DIR: gitDir } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.on('error', () => {
    /* reported through the exit code */
  });
  for (const chunk of stream) {
    if (!child.stdin.write(chunk)) await Promise.race([new Promise((r) => child.stdin.once('drain', r)), closed]);
  }
  child.stdin.end();
  const code = await closed;
  if (code !== 0) {
    const stderr = Buffer.concat(err).toString('utf8').trim();
    throw new GitError(
      `git fast-import failed (exit ${code}): ${stderr.split('\n').slice(0, 3).join('; ')}`,
      code,
      stderr,
    );
  }
  const ids = Buffer.concat(out).toString('utf8').trim().split('\n');
  if (ids.length !== specs.length)
    throw new GitError(`git fast-import returned ${ids.length} ids for ${specs.length} commits`, 0, '');
  return ids;
}
