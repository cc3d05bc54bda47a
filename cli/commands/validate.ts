import type { Command } from 'commander';
import { formatFieldError, validateManifests } from '../../api/v1alpha1/index.ts';
import { describeSource, loadManifests } from '../../lib/kube/manifest-reader.ts';
import { describeObject } from '../output.ts';
import { addReadLimitOptions, readLimitsFrom, type ReadLimitOptions } from '../read-limits.ts';

/** Validates manifest files; prints one line per problem; returns the number of problems. */
export function runValidate(paths: string[], out: (line: string) => void, limits: ReadLimitOptions = {}): number {
  const { objects, errors } = loadManifests(paths, readLimitsFrom(limits));
  let problems = 0;
  for (const e of errors) {
    out(`${describeSource(e)}: ${e.message}`);
    problems++;
  }
  const results = validateManifests(
    objects.map((o) => o.object),
    (i) => describeSource(objects[i]!),
  );
  objects.forEach((loaded, i) => {
    for (const fieldError of results[i]!) {
      out(`${describeSource(loaded)} ${describeObject(loaded.object)}: ${formatFieldError(fieldError)}`);
      problems++;
    }
  });
  if (objects.length === 0 && errors.length === 0) {
    out(`no manifests found in ${paths.join(', ')}`);
    problems++;
  }
  const verdict = problems ? `${problems} problem(s)` : 'all valid';
  out(`${objects.length} object(s) checked: ${verdict}`);
  return problems;
}

export function registerValidate(program: Command): void {
  addReadLimitOptions(
    program
      .command('validate')
      .description('check manifests against the API schema and the semantic rules')
      .requiredOption('-f, --filename <path...>', 'files or directories of YAML/JSON manifests'),
  ).action((options: { filename: string[] } & ReadLimitOptions) => {
    const problems = runValidate(options.filename, (line) => console.log(line), options);
    process.exitCode = problems ? 1 : 0;
  });
}
