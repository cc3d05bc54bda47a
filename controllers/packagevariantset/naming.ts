// Names of generated PackageVariants, as Porch makes them: `<set>-<repo>-<package>`, and past 63
// characters the first 54, `-` and 8 hex digits of the SHA-1 of the whole identifier.
import { createHash } from 'node:crypto';
import { checkDnsSubdomain, type PackageVariantSpec } from '../../api/v1alpha1/index.ts';

export const MAX_NAME_LENGTH = 63;
const HASH_LENGTH = 8;

/** What identifies a generated variant; recomputed from a variant's spec, never read from its name. */
export function variantIdentity(setName: string, spec: PackageVariantSpec | undefined): string {
  return `${setName}-${spec?.downstream?.repo ?? ''}-${spec?.downstream?.package ?? ''}`;
}

/**
 * The object name for an identity. Beyond Porch: an identity that is not a valid object name (a
 * nested package `team/app`, upper case) is cleaned and always gets the hash, so that two
 * identities that clean to the same text still get different names.
 */
export function variantName(identity: string): string {
  const valid = checkDnsSubdomain(identity) === undefined;
  if (valid && identity.length <= MAX_NAME_LENGTH) return identity;
  const hash = createHash('sha1').update(identity).digest('hex').slice(0, HASH_LENGTH);
  const base = valid
    ? identity
    : identity
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+/, '');
  const head = base.slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1);
  return `${valid ? head : head.replace(/-+$/, '')}-${hash}`;
}
