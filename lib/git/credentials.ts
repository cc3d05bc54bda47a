// Credentials from a Kubernetes Secret, handed to git only through the environment:
// - http(s): an `Authorization` header as `http.<url>.extraHeader`, set with GIT_CONFIG_COUNT /
//   GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n (never in the URL or the arguments);
// - ssh: the private key in a 0600 file inside a private temporary directory, used through
//   GIT_SSH_COMMAND and removed when the operation ends, when the process exits, or (after a
//   SIGKILL) by the next process's sweep.
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RemoteUrl } from './url.ts';
import { GitInputError } from './validate.ts';

export type GitCredentials =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'ssh'; privateKey: string; knownHosts?: string };

/** The parts of a core/v1 Secret we read (structural, so lib/git imports nothing of ours). */
export interface SecretLike {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** A Secret's value for `key`: `stringData` first, else `data` decoded from base64. */
export function secretValue(secret: SecretLike, key: string): string | undefined {
  const fromString = secret.stringData?.[key];
  if (fromString !== undefined) return fromString;
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/**
 * Reads git credentials from a Secret:
 * - `kubernetes.io/basic-auth` (or any Secret with `username` + `password`): basic auth;
 * - `token` (+ optional `username`, default `x-access-token`): basic auth with the token as password;
 * - `bearerToken`: an `Authorization: Bearer` header;
 * - `kubernetes.io/ssh-auth` (`ssh-privatekey`, optional `known_hosts`): an SSH key.
 */
export function credentialsFromSecret(secret: SecretLike, secretName = 'secret'): GitCredentials {
  const privateKey = secretValue(secret, 'ssh-privatekey');
  if (privateKey !== undefined || secret.type === 'kubernetes.io/ssh-auth') {
    if (!privateKey) throw new GitInputError(`Secret ${secretName}: missing key ssh-privatekey`);
    const knownHosts = secretValue(secret, 'known_hosts') ?? secretValue(secret, 'ssh-knownhosts');
    return { kind: 'ssh', privateKey, ...(knownHosts ? { knownHosts } : {}) };
  }
  const bearer = secretValue(secret, 'bearerToken');
  if (bearer) return { kind: 'bearer', token: bearer };
  const token = secretValue(secret, 'token');
  const username = secretValue(secret, 'username');
  if (token) return { kind: 'basic', username: username || 'x-access-token', password: token };
  const password = secretValue(secret, 'password');
  if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
  throw new GitInputError(
    `Secret ${secretName}: expected username and password, token, bearerToken, or ssh-privatekey`,
  );
}

/** Strings that must be redacted wherever git output is shown. */
export function credentialSecrets(credentials: GitCredentials | undefined): string[] {
  if (!credentials) return [];
  switch (credentials.kind) {
    case 'basic': {
      const header = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
      return [credentials.password, header];
    }
    case 'bearer':
      return [credentials.token];
    case 'ssh':
      return [credentials.privateKey];
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The one directory (mode 0700, per user) that holds the key directories, each named
 * `<pid>-<random>` after the process that wrote it.
 */
export function keyDirParent(base = tmpdir()): string {
  return join(base, `pvctl-ssh-${process.getuid?.() ?? 'user'}`);
}

/**
 * A key directory is read by ssh within seconds of its creation; after this grace a directory
 * whose process is not alive is stale even if its PID is only invisible here (another PID namespace
 * sharing the directory).
 */
export const STALE_KEY_DIR_GRACE_MS = 60_000;

const keyDirs = new Set<string>();
let removeOnExit = false;
let swept = false;

/** Removes the key directories of this process that are still on disk. */
export function removeKeyDirs(): void {
  for (const dir of keyDirs) rmSync(dir, { recursive: true, force: true });
  keyDirs.clear();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes key directories left by processes that died without cleaning up (SIGKILL, OOM kill):
 * those whose process is gone and that are older than the grace. Returns the removed paths.
 */
export function sweepStaleKeyDirs(parent = keyDirParent(), graceMs = STALE_KEY_DIR_GRACE_MS): string[] {
  swept = true;
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    const dir = join(parent, name);
    try {
      if (Date.now() - statSync(dir).mtimeMs < graceMs) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      /* removed meanwhile */
    }
  }
  return removed;
}

/** Creates the parent if needed and refuses one that another user could read or replace. */
function privateParent(): string {
  const parent = keyDirParent();
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const stat = lstatSync(parent);
  if (!stat.isDirectory() || (process.getuid && stat.uid !== process.getuid())) {
    throw new Error(`refusing to write an SSH key: ${parent} is not a directory owned by this user`);
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(parent, 0o700);
  if (!swept) sweepStaleKeyDirs(parent);
  if (!removeOnExit) {
    removeOnExit = true;
    // 'exit' also runs for process.exit() in a signal handler (pvctl reconcile, pvctl run).
    process.on('exit', removeKeyDirs);
  }
  return parent;
}

/** Environment for one network operation, and a cleanup to call when it has finished. */
export interface NetworkEnv {
  env: Record<string, string>;
  secrets: string[];
  dispose(): Promise<void>;
}

export async function networkEnv(
  remote: RemoteUrl,
  credentials: GitCredentials | undefined,
  options: { knownHostsFile?: string } = {},
): Promise<NetworkEnv> {
  const secrets = credentialSecrets(credentials);
  const none: NetworkEnv = { env: {}, secrets, dispose: async () => {} };
  if (!credentials) return none;
  if (credentials.kind === 'ssh') {
    if (remote.transport !== 'ssh') {
      throw new GitInputError(`an SSH key cannot be used with a ${remote.transport} repository URL`);
    }
    const dir = await mkdtemp(join(privateParent(), `${process.pid}-`));
    keyDirs.add(dir);
    const keyFile = join(dir, 'id');
    await writeFile(
      keyFile,
      credentials.privateKey.endsWith('\n') ? credentials.privateKey : `${credentials.privateKey}\n`,
      {
        mode: 0o600,
      },
    );
    let knownHosts: string;
    let strict: string;
    if (credentials.knownHosts) {
      knownHosts = join(dir, 'known_hosts');
      await writeFile(knownHosts, credentials.knownHosts, { mode: 0o600 });
      strict = 'yes';
    } else {
      // No known hosts given: trust on first use, remembered in the cache directory.
      knownHosts = options.knownHostsFile ?? join(dir, 'known_hosts');
      strict = 'accept-new';
    }
    const command = [
      'ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes',
      `-o IdentityFile=${shellQuote(keyFile)}`,
      `-o UserKnownHostsFile=${shellQuote(knownHosts)}`,
      `-o StrictHostKeyChecking=${strict}`,
    ].join(' ');
    return {
      env: { GIT_SSH_COMMAND: command },
      secrets,
      dispose: async () => {
        await rm(dir, { recursive: true, force: true });
        keyDirs.delete(dir);
      },
    };
  }
  if (remote.transport !== 'https' && remote.transport !== 'http') {
    throw new GitInputError(`username/password or token credentials need an http(s) URL, not ${remote.transport}`);
  }
  const header =
    credentials.kind === 'basic'
      ? `Authorization: Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
      : `Authorization: Bearer ${credentials.token}`;
  // Scoped to this repository's URL, so the header is not sent to other hosts.
  return {
    env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${remote.url}.extraHeader`, GIT_CONFIG_VALUE_0: header },
    secrets,
    dispose: async () => {},
  };
}
