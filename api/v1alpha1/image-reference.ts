// Image references as the distribution spec and docker's reference grammar define them:
// `[registry/]repository[:tag][@sha256:digest]`. The first component is a registry when it holds a
// `.` or a `:` or is `localhost`; without one the registry is Docker Hub (`docker.io`, served at
// `registry-1.docker.io`) and a one-component repository gets the `library/` prefix. Without a tag
// or a digest the tag is `latest`. Only sha256 digests are accepted.

export const DOCKER_HUB = 'docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** An invalid image reference (the reference is named; references never hold credentials). */
export class InvalidReferenceError extends Error {
  override name = 'InvalidReferenceError';
}

export interface ImageReference {
  /** `host[:port]` as written (`docker.io` for Docker Hub). */
  registry: string;
  /** The repository path, e.g. `library/nginx`, `blueprints/app`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

export function isTag(value: string): boolean {
  return TAG.test(value);
}

/** Parses an image reference; throws InvalidReferenceError. `latest` is the tag when none is given. */
export function parseReference(text: string): ImageReference {
  const fail = (why: string): never => {
    throw new InvalidReferenceError(`invalid image reference ${JSON.stringify(text)}: ${why}`);
  };
  if (text.length === 0 || text.length > 4096) fail('empty or too long');
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\s\0-\x1f]/.test(text)) fail('whitespace or control characters');
  if (text.includes('://')) fail('a reference has no scheme (write registry/repository:tag)');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail('the digest must be sha256: and 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!HOST.test(first)) fail(`invalid registry ${JSON.stringify(first)}`);
    registry = first;
    parts.shift();
  } else if (parts.length > 1 && /[A-Z]/.test(first)) {
    fail('repository names are lowercase');
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  for (const part of parts) {
    if (!COMPONENT.test(part)) fail(`invalid repository component ${JSON.stringify(part)}`);
  }
  const repository = parts.join('/');
  if (repository.length > 255) fail('the repository name is longer than 255 characters');
  if (!tag && !digest) tag = 'latest';
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}
