// A long-lived `git cat-file --batch` process: one process serves every object read of a cache
// repository, requests are pipelined (written at once, answered in order).
import type { SpawnedProcess } from '../spawn/spawner.ts';
import { decodeName, encodeName } from '../bytes/names.ts';
import { Fifo } from '../fifo.ts';
import { GitError, killGroup, spawnGit } from './exec.ts';
import { GitInputError } from './validate.ts';

export interface GitObject {
  oid: string;
  type: 'blob' | 'tree' | 'commit' | 'tag';
  content: Buffer;
}

const NEWLINE = Buffer.from('\n');

interface Pending {
  name: string;
  resolve(object: GitObject | undefined): void;
  reject(error: Error): void;
}

export class CatFileBatch {
  private readonly gitDir: string;
  private child: SpawnedProcess | undefined;
  private readonly pending = new Fifo<Pending>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Header of the object whose content is being received. */
  private header: { oid: string; type: GitObject['type']; size: number } | undefined;

  private readonly idleMs: number;
  private idleTimer: NodeJS.Timeout | undefined;

  /** The process is ended after `idleMs` without requests and started again on the next read. */
  constructor(gitDir: string, idleMs = 60_000) {
    this.gitDir = gitDir;
    this.idleMs = idleMs;
  }

  /** Reads an object by any name cat-file accepts (`<oid>`, `<commit>:<path>`); undefined when missing. */
  read(name: string): Promise<GitObject | undefined> {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f]/.test(name)) {
      return Promise.reject(new GitInputError(`invalid object name ${JSON.stringify(name)}`));
    }
    let line: Buffer;
    try {
      line = Buffer.concat([encodeName(name), NEWLINE]);
    } catch (e) {
      return Promise.reject(new GitInputError(`invalid object name: ${(e as Error).message}`));
    }
    const child = this.start();
    clearTimeout(this.idleTimer);
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setActive(child, true);
      this.pending.push({ name, resolve, reject });
      child.stdin.write(line);
    });
  }

  /** Whether a cat-file process is running now. */
  get running(): boolean {
    return this.child !== undefined;
  }

  close(): void {
    clearTimeout(this.idleTimer);
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.stdin.end();
      killGroup(child);
    }
    this.rejectPending('closed');
  }

  private rejectPending(message: string): void {
    const error = new GitError(`git cat-file --batch in ${this.gitDir}: ${message}`, null, message);
    for (const p of this.pending.drain()) p.reject(error);
  }

  private start(): SpawnedProcess {
    if (this.child) return this.child;
    const child = spawnGit(['cat-file', '--batch'], { cwd: this.gitDir, env: { GIT_DIR: this.gitDir } });
    this.child = child;
    this.chunks = [];
    this.buffered = 0;
    this.header = undefined;
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {
      /* reported through 'close' */
    });
    const fail = (message: string) => {
      // A process close() ended has no requests left (close() answered them); the pending ones,
      // if any, are a newer process's.
      if (this.child !== child) return;
      this.child = undefined;
      this.rejectPending(message);
    };
    child.on('error', (e) => fail(e.message));
    child.on('close', (code) => fail(`exited (${code}) ${Buffer.concat(stderr).toString('utf8').trim()}`));
    return child;
  }

  private settle(): void {
    if (this.pending.length === 0 && this.child) {
      setActive(this.child, false);
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => {
        if (this.pending.length === 0) this.close();
      }, this.idleMs);
      this.idleTimer.unref();
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return head;
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (!this.header) {
        const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
        this.chunks = [all];
        const newline = all.indexOf(10);
        if (newline < 0) return;
        const line = this.take(newline + 1)
          .subarray(0, newline)
          .toString('utf8');
        if (line.endsWith(' missing') || line.endsWith(' ambiguous')) {
          const request = this.pending.shift();
          this.settle();
          request?.resolve(undefined);
          continue;
        }
        const [oid, type, size] = line.split(' ');
        this.header = { oid: oid!, type: type as GitObject['type'], size: Number(size) };
      }
      if (this.buffered < this.header.size + 1) return;
      const content = Buffer.from(this.take(this.header.size + 1).subarray(0, this.header.size));
      const { oid, type } = this.header;
      this.header = undefined;
      const request = this.pending.shift();
      this.settle();
      request?.resolve({ oid, type, content });
    }
  }
}

/** An idle batch process must not keep Node alive; a busy one must. */
function setActive(child: SpawnedProcess, active: boolean): void {
  for (const handle of [child, child.stdin, child.stdout, child.stderr] as Array<{ ref(): void; unref(): void }>) {
    if (active) handle.ref();
    else handle.unref();
  }
}

export interface TreeEntry {
  mode: string;
  /** The entry's name bytes, decoded reversibly (lib/bytes/names.ts). */
  name: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit' | 'link';
}

/** Parses a binary tree object (SHA-1 or SHA-256 ids; the id length is the tree's own). */
export function parseTree(content: Buffer, oidHexLength = 40): TreeEntry[] {
  const oidBytes = oidHexLength / 2;
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const space = content.indexOf(32, at);
    const nul = content.indexOf(0, space);
    const mode = content.subarray(at, space).toString('ascii');
    const name = decodeName(content.subarray(space + 1, nul));
    const oid = content.subarray(nul + 1, nul + 1 + oidBytes).toString('hex');
    at = nul + 1 + oidBytes;
    const type = mode === '40000' ? 'tree' : mode === '160000' ? 'commit' : mode === '120000' ? 'link' : 'blob';
    entries.push({ mode, name, oid, type });
  }
  return entries;
}
