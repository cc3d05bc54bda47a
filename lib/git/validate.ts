// Validation of everything that reaches git from users: package paths, workspace and branch names,
// file paths inside packages, object ids and owners. Each `check*` returns a reason or undefined;
// each `assert*` throws a GitInputError naming what was wrong.
import { isCanonicalName } from '../bytes/names.ts';

export class GitInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitInputError';
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// Characters git refuses in ref names (git-check-ref-format), plus whitespace.
const REF_FORBIDDEN = /[\s~^:?*[\\]/;
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** One component of a ref or package path. */
function checkRefComponent(part: string): string | undefined {
  if (part === '') return "must not contain empty segments ('//', a leading or trailing '/')";
  if (CONTROL.test(part)) return 'must not contain control characters';
  if (part === '.' || part === '..') return "must not contain '.' or '..' segments";
  // Names that are not UTF-8 (see lib/bytes/names.ts) are fine for files, not for refs.
  if (!part.isWellFormed()) return 'must be valid UTF-8';
  if (part.startsWith('-')) return "segments must not start with '-'";
  if (part.startsWith('.')) return "segments must not start with '.'";
  if (REF_FORBIDDEN.test(part)) return 'must not contain whitespace or any of ~^:?*[\\';
  if (part.includes('..') || part.includes('@{')) return "must not contain '..' or '@{'";
  if (part.endsWith('.') || part.endsWith('.lock')) return "segments must not end with '.' or '.lock'";
  if (part === '@') return "must not be '@'";
  return undefined;
}

/** A package path (`team/app`), relative, also usable inside a ref name. */
export function checkPackagePath(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (path.startsWith('/')) return 'must be a relative path';
  if (path.length > 1024) return 'is too long';
  for (const part of path.split('/')) {
    const reason = checkRefComponent(part);
    if (reason) return reason;
  }
  return undefined;
}

/** A repository directory: '' (the root) or a package-like path. */
export function checkDirectory(directory: string): string | undefined {
  return directory === '' ? undefined : checkPackagePath(directory);
}

/** A workspace name: one ref component. */
export function checkWorkspaceName(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.includes('/')) return "must not contain '/'";
  return checkRefComponent(name);
}

/** A branch or tag name below refs/heads/ or refs/tags/. */
export function checkRefName(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.length > 1024) return 'is too long';
  for (const part of name.split('/')) {
    const reason = checkRefComponent(part);
    if (reason) return reason;
  }
  return undefined;
}

/**
 * A path of a file inside a package: relative, no '.'/'..' segments, nothing under `.git`. Names
 * that are not UTF-8 are accepted in their lib/bytes/names.ts spelling (and only in that one).
 */
export function checkFilePath(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (path.startsWith('/')) return 'must be a relative path';
  if (CONTROL.test(path)) return 'must not contain control characters';
  if (!isCanonicalName(path)) return 'holds a lone surrogate that stands for no byte';
  if (path.length > 4096) return 'is too long';
  for (const part of path.split('/')) {
    if (part === '') return "must not contain empty segments ('//', a leading or trailing '/')";
    if (part === '.' || part === '..') return "must not contain '.' or '..' segments";
    if (part.toLowerCase() === '.git') return "must not contain a '.git' segment";
  }
  return undefined;
}

/**
 * Files and special entries (lib/git/writer.ts's PackageModes) that one git tree can hold: valid
 * paths, an executable bit only on a file, nothing below a file, symlink or gitlink, and a symlink
 * or gitlink that is not a file too. Returns what is wrong, as a sentence.
 */
export function checkPackageEntries(
  files: ReadonlyMap<string, unknown>,
  modes: ReadonlyMap<string, { kind: string; commit?: string }>,
): string | undefined {
  for (const path of [...files.keys(), ...modes.keys()]) {
    const reason = checkFilePath(path);
    if (reason) return `invalid file path ${JSON.stringify(path)}: ${reason}`;
  }
  const problem = (text: string) => `invalid package content: ${text}`;
  const leaves = new Map<string, string>([...files.keys()].map((path) => [path, 'file']));
  for (const [path, entry] of modes) {
    const name = JSON.stringify(path);
    if (entry.kind === 'executable') {
      if (!files.has(path)) return problem(`${name} is marked executable but is not a file of the package`);
      continue;
    }
    if (entry.kind !== 'symlink' && entry.kind !== 'gitlink') return problem(`${name} has unknown kind ${entry.kind}`);
    if (entry.kind === 'gitlink' && !isObjectId(entry.commit ?? ''))
      return problem(`gitlink ${name}: invalid commit id ${JSON.stringify(entry.commit)}`);
    if (files.has(path)) return problem(`${name} is both a file and a ${entry.kind}`);
    leaves.set(path, entry.kind);
  }
  for (const path of [...files.keys(), ...modes.keys()]) {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const kind = leaves.get(path.slice(0, slash));
      if (kind)
        return problem(`${JSON.stringify(path)} lies below the ${kind} ${JSON.stringify(path.slice(0, slash))}`);
    }
  }
  return undefined;
}

export function isObjectId(value: string): boolean {
  return OID.test(value);
}

/** Text that goes into one line of a commit message (title, trailer values). */
export function checkOneLine(value: string): string | undefined {
  if (CONTROL.test(value)) return 'must not contain newlines or control characters';
  return undefined;
}

function assert(what: string, value: string, reason: string | undefined): void {
  if (reason) throw new GitInputError(`invalid ${what} ${JSON.stringify(value)}: ${reason}`);
}

export function assertPackagePath(path: string): void {
  assert('package path', path, checkPackagePath(path));
}
export function assertDirectory(directory: string): void {
  assert('repository directory', directory, checkDirectory(directory));
}
export function assertWorkspaceName(name: string): void {
  assert('workspace name', name, checkWorkspaceName(name));
}
export function assertRefName(name: string): void {
  assert('ref name', name, checkRefName(name));
}
export function assertBranchName(name: string): void {
  assert('branch name', name, checkRefName(name));
}
export function assertFilePath(path: string): void {
  assert('file path', path, checkFilePath(path));
}
export function assertPackageEntries(...args: Parameters<typeof checkPackageEntries>): void {
  const reason = checkPackageEntries(...args);
  if (reason) throw new GitInputError(reason);
}
export function assertObjectId(value: string): void {
  if (!isObjectId(value)) throw new GitInputError(`invalid object id ${JSON.stringify(value)}`);
}
export function assertOneLine(what: string, value: string): void {
  assert(what, value, checkOneLine(value));
}

/** Removes leading and trailing slashes (Porch stores `/` and `/dir/`) and validates. */
export function normalizeDirectory(directory: string | undefined): string {
  const trimmed = (directory ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  assertDirectory(trimmed);
  return trimmed;
}
