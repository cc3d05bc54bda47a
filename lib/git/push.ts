// One atomic push of many ref updates. Every ref carries a lease (`--force-with-lease=<ref>:<old>`,
// empty old = must not exist), so a push never overwrites work it has not seen: the whole push is
// refused instead, and the caller re-fetches and retries. git checks every lease against every ref
// (~n² for n refs), so callers keep a push to `gitLimits().maxPushRefs` refs (GitBatch pushes waves).
import { runGit } from './exec.ts';
import { networkTimeoutMs } from './limits.ts';
import { assertObjectId, assertRefName } from './validate.ts';

export interface RefUpdate {
  /** Full ref name, e.g. refs/heads/drafts/pkg/ws. */
  ref: string;
  /** New commit, or null to delete the ref. */
  newOid: string | null;
  /** The value the remote must have now, or null when it must not exist. */
  expectedOid: string | null;
}

export interface RefPushStatus {
  ref: string;
  ok: boolean;
  /** git's summary, e.g. `[new branch]`, `[rejected] (stale info)`, `[remote rejected] (hook declined)`. */
  summary: string;
}

export interface PushOutcome {
  ok: boolean;
  refs: RefPushStatus[];
}

function checkRef(ref: string): void {
  if (!ref.startsWith('refs/heads/') && !ref.startsWith('refs/tags/')) throw new RangeError(`cannot push ${ref}`);
  assertRefName(ref.slice(5));
}

/** Builds the push arguments (exported for tests: leases and refspecs, never credentials). */
export function pushArgs(url: string, updates: readonly RefUpdate[]): string[] {
  const leases: string[] = [];
  const refspecs: string[] = [];
  for (const u of updates) {
    checkRef(u.ref);
    if (u.newOid) assertObjectId(u.newOid);
    if (u.expectedOid) assertObjectId(u.expectedOid);
    leases.push(`--force-with-lease=${u.ref}:${u.expectedOid ?? ''}`);
    refspecs.push(u.newOid ? `${u.newOid}:${u.ref}` : `:${u.ref}`);
  }
  return ['push', '--atomic', '--porcelain', '--no-verify', ...leases, '--end-of-options', url, ...refspecs];
}

/** Parses `git push --porcelain` output. */
export function parsePushOutput(stdout: string): RefPushStatus[] {
  const statuses: RefPushStatus[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^([ +\-*!=])\t([^\t]*):([^\t]+)\t(.*)$/.exec(line);
    if (!m) continue;
    statuses.push({ ref: m[3]!, ok: m[1] !== '!', summary: m[4]! });
  }
  return statuses;
}

export async function atomicPush(
  gitDir: string,
  url: string,
  updates: readonly RefUpdate[],
  network: { env: Record<string, string>; secrets: string[]; timeoutMs?: number },
): Promise<PushOutcome> {
  if (updates.length === 0) return { ok: true, refs: [] };
  const result = await runGit(pushArgs(url, updates), {
    cwd: gitDir,
    env: { GIT_DIR: gitDir, ...network.env },
    secrets: network.secrets,
    timeoutMs: network.timeoutMs ?? networkTimeoutMs(updates.length),
    // 1: some refs were rejected (reported per ref); anything else is a transport error.
    okExitCodes: [1],
  });
  const refs = parsePushOutput(result.stdout.toString('utf8'));
  const ok = result.exitCode === 0 && refs.every((r) => r.ok);
  if (result.exitCode !== 0 && refs.length === 0) {
    throw new Error(`push to ${url} failed: ${result.stderr.trim().split('\n').slice(-2).join('; ')}`);
  }
  return { ok, refs };
}
