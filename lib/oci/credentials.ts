// Registry access from a Kubernetes Secret: credentials and an extra CA.
// * `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`) and the older `kubernetes.io/dockercfg`
//   (`.dockercfg`): the entry for the registry (keys may carry a scheme or a path, as `docker login`
//   writes them; Docker Hub's `https://index.docker.io/v1/` counts for docker.io), with `auth`
//   (base64 `user:password`) or `username` + `password`;
// * `kubernetes.io/basic-auth`, or any Secret with `username` + `password`;
// * `ca.crt` in the same Secret (any type): trusted besides the system's CAs.
// Errors name the Secret and the registry, never a value.
import { secretValue, type SecretLike } from '../git/credentials.ts';
import type { Credentials } from './client.ts';
import { DOCKER_HUB } from './reference.ts';

export interface RegistryAccess {
  credentials?: Credentials;
  /** PEM, from `ca.crt`. */
  ca?: string;
}

export class RegistrySecretError extends Error {
  override name = 'RegistrySecretError';
}

/** The registry host a docker config key names: `https://h:5000/v1/` → `h:5000`. */
function configHost(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

interface DockerAuth {
  auth?: string;
  username?: string;
  password?: string;
}

function dockerConfigCredentials(
  auths: Record<string, DockerAuth>,
  registry: string,
  where: string,
): Credentials | undefined {
  const wanted = configHost(registry);
  const entry = Object.entries(auths).find(([key]) => configHost(key) === wanted)?.[1];
  if (!entry) return undefined;
  if (entry.username !== undefined && entry.password !== undefined) {
    return { username: entry.username, password: entry.password };
  }
  if (typeof entry.auth === 'string') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  throw new RegistrySecretError(
    `${where}: the entry for ${wanted} has neither auth (user:password) nor username and password`,
  );
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new RegistrySecretError(`${where} is not valid JSON`);
  }
}

/** What a Secret gives for `registry` (`host[:port]`). A Secret with neither credentials nor a CA is an error. */
export function registryAccessFromSecret(secret: SecretLike, registry: string, secretName = 'secret'): RegistryAccess {
  const access: RegistryAccess = {};
  const ca = secretValue(secret, 'ca.crt');
  if (ca) access.ca = ca;
  const dockerConfigJson = secretValue(secret, '.dockerconfigjson');
  const dockerCfg = secretValue(secret, '.dockercfg');
  if (dockerConfigJson !== undefined || secret.type === 'kubernetes.io/dockerconfigjson') {
    const where = `Secret ${secretName} key .dockerconfigjson`;
    if (dockerConfigJson === undefined)
      throw new RegistrySecretError(`Secret ${secretName}: missing key .dockerconfigjson`);
    const auths = (parseJson(dockerConfigJson, where) as { auths?: Record<string, DockerAuth> } | null)?.auths ?? {};
    const credentials = dockerConfigCredentials(auths, registry, where);
    if (!credentials) throw new RegistrySecretError(`${where} has no entry for ${configHost(registry)}`);
    access.credentials = credentials;
    return access;
  }
  if (dockerCfg !== undefined) {
    const where = `Secret ${secretName} key .dockercfg`;
    const auths = (parseJson(dockerCfg, where) ?? {}) as Record<string, DockerAuth>;
    const credentials = dockerConfigCredentials(auths, registry, where);
    if (!credentials) throw new RegistrySecretError(`${where} has no entry for ${configHost(registry)}`);
    access.credentials = credentials;
    return access;
  }
  const username = secretValue(secret, 'username');
  const password = secretValue(secret, 'password');
  if (username !== undefined && password !== undefined) access.credentials = { username, password };
  else if (secret.type === 'kubernetes.io/basic-auth') {
    throw new RegistrySecretError(`Secret ${secretName}: a basic-auth Secret needs username and password`);
  }
  if (!access.credentials && !access.ca) {
    throw new RegistrySecretError(
      `Secret ${secretName}: expected .dockerconfigjson, username and password, or ca.crt for ${registry}`,
    );
  }
  return access;
}
