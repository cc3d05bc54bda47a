// The mutation step of a PackageVariant reconcile (Porch's "calculate draft resources"): applies the
// PV's labels and annotations, package context, pipeline functions and config injection to the
// in-memory files of a downstream package, and says whether any file changed.
import type { PackageVariantSpec } from '../../api/v1alpha1/index.ts';
import { PACKAGE_CONTEXT_FILE, updatePackageContext } from '../../lib/kpt/context.ts';
import { Kptfile, KptfileError, readKptfile, shareKptfile } from '../../lib/kpt/kptfile.ts';
import { KPTFILE, type PackageFiles } from '../../lib/kpt/package.ts';
import { PackageError } from '../../lib/kpt/resources.ts';
import { ensureMap, fingerprint, getField, Scalar, scalarString, setField } from '../../lib/kpt/yaml.ts';
import { injectConfig, type InjectionLookup, type InjectionOutcome } from './injection.ts';
import { MutationError } from './mutation-error.ts';
import { setPipelineFunctions } from './mutation-pipeline.ts';

export { MutationError } from './mutation-error.ts';
export type { InjectionLookup, InjectionOutcome } from './injection.ts';

export interface MutationResult {
  /** The mutated files; the very input map when nothing changed. */
  files: PackageFiles;
  /** Some file's bytes differ (the Kptfile: its parsed content differs). */
  changed: boolean;
  /** One entry per injection point, in file and document order. */
  injections: InjectionOutcome[];
}

export interface MutationTarget {
  name: string;
  spec: PackageVariantSpec;
}

/**
 * Applies, in order: `spec.labels`/`spec.annotations` to the Kptfile's metadata, `spec.packageContext`,
 * `spec.pipeline` and config injection from `spec.injectors`. Throws {@link MutationError} for a
 * package or spec the step cannot work with (no or invalid Kptfile, missing package context, invalid
 * injection points); injection points left unsatisfied are reported in `injections`, not thrown.
 */
export async function applyMutations(
  files: PackageFiles,
  pv: MutationTarget,
  lookup: InjectionLookup,
): Promise<MutationResult> {
  const spec = pv.spec;
  const kptfile = parseKptfile(files);

  setMetadata(kptfile, 'labels', spec.labels);
  setMetadata(kptfile, 'annotations', spec.annotations);

  let current = applyPackageContext(files, spec);

  setPipelineFunctions(kptfile, pv.name, spec.pipeline);

  const injected = await injectConfig(current, kptfile, spec.injectors ?? [], lookup);
  const injections = injected.outcomes;
  current = injected.files;

  current = new Map(current);
  const written = Buffer.from(kptfile.toString(), 'utf8');
  const original = files.get(KPTFILE)!;
  if (written.equals(original)) shareKptfile(original, kptfile); // the render reads it next
  current.set(KPTFILE, kptfilesEqual(original, written) ? original : written);
  const changed = packagesDiffer(files, current);
  return { files: changed ? current : files, changed, injections };
}

function parseKptfile(files: PackageFiles): Kptfile {
  const content = files.get(KPTFILE);
  if (!content) throw new MutationError(`${KPTFILE} not found in the package`, { file: KPTFILE });
  try {
    return Kptfile.parse(content, KPTFILE);
  } catch (e) {
    if (e instanceof KptfileError) throw new MutationError(e.message, { file: KPTFILE, cause: e });
    throw e;
  }
}

/** Sets (or overwrites) the listed keys of the Kptfile's `metadata.labels` or `metadata.annotations`. */
function setMetadata(kptfile: Kptfile, field: 'labels' | 'annotations', values: Record<string, string> | undefined) {
  for (const [key, value] of Object.entries(values ?? {})) {
    const existing = getField(getField(getField(kptfile.contents, 'metadata'), field), key);
    if (existing !== undefined && scalarString(existing) === value) continue;
    setField(ensureMap(kptfile.section('metadata'), [field]), key, new Scalar(value));
  }
}

function applyPackageContext(files: PackageFiles, spec: PackageVariantSpec): PackageFiles {
  const data = spec.packageContext?.data ?? {};
  const removeKeys = spec.packageContext?.removeKeys ?? [];
  if (Object.keys(data).length === 0 && removeKeys.length === 0) return files;
  if (!files.has(PACKAGE_CONTEXT_FILE)) {
    throw new MutationError(`${PACKAGE_CONTEXT_FILE} not found in the package (spec.packageContext needs it)`, {
      file: PACKAGE_CONTEXT_FILE,
      field: 'spec.packageContext',
    });
  }
  try {
    return updatePackageContext(files, { data, removeKeys });
  } catch (e) {
    if (e instanceof PackageError) {
      throw new MutationError(`${e.message} (spec.packageContext)`, {
        file: e.file,
        field: 'spec.packageContext',
        cause: e,
      });
    }
    throw e;
  }
}

/** Kptfiles are equal when their parsed content is (comments, key order and quoting do not count). */
function kptfilesEqual(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true;
  try {
    return fingerprint(readKptfile(a).contents, false) === fingerprint(readKptfile(b).contents, false);
  } catch {
    return false;
  }
}

/** Packages differ when some file's bytes do; the Kptfile only when its parsed content does. */
export function packagesDiffer(before: PackageFiles, after: PackageFiles): boolean {
  if (before.size !== after.size) return true;
  for (const [path, content] of before) {
    const next = after.get(path);
    if (!next) return true;
    if (!next.equals(content) && !(path === KPTFILE && kptfilesEqual(content, next))) return true;
  }
  return false;
}
