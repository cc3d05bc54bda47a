// What the registry client needs of image references beyond their grammar (which is the API's:
// api/v1alpha1/image-reference.ts, so that admission and the client agree).
import { DOCKER_HUB, type ImageReference } from '../../api/v1alpha1/image-reference.ts';

export {
  DOCKER_HUB,
  InvalidReferenceError,
  isDigest,
  isTag,
  parseReference,
  type ImageReference,
} from '../../api/v1alpha1/image-reference.ts';

const DOCKER_HUB_API = 'registry-1.docker.io';

/** The host (and port) the registry API is served at. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** What a manifest request names: the digest when there is one, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The reference written back: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
