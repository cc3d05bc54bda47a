import type { Command } from 'commander';
import { formatFieldError, validateManifest, type KubeObject } from '../../api/v1alpha1/index.ts';
import { describeSource, loadManifests } from '../../lib/kube/manifests.ts';

function describeObject(obj: unknown): string {
  const o = (typeof obj === 'object' && obj !== null ? obj : {}) as KubeObject;
  const name = o.metadata?.name ?? '<unnamed>';
  return `${o.kind ?? '<no kind>'} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${name}`;
}

/** Validates manifest files; prints one line per problem; returns the number of problems. */
export function runValidate(paths: string[], out: (line: string) => void): number {
  const { objects, errors } = loadManifests(paths);
  let problems = 0;
  for (const e of errors) {
    out(`${describeSource(e)}: ${e.message}`);
    problems++;
  }
  for (const loaded of objects) {
    for (const fieldError of validateManifest(loaded.object)) {
      out(`${describeSource(loaded)} ${describeObject(loaded.object)}: ${formatFieldError(fieldError)}`);
      problems++;
    }
  }
  if (objects.length === 0 && errors.length === 0) {
    out(`no manifests found in ${paths.join(', ')}`);
    problems++;
  }
  const verdict = problems ? `${problems} problem(s)` : 'all valid';
  out(`${objects.length} object(s) checked: ${verdict}`);
  return problems;
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check manifests against the API schema and the semantic rules')
    .requiredOption('-f, --filename <path...>', 'files or directories of YAML/JSON manifests')
    .action((options: { filename: string[] }) => {
      const problems = runValidate(options.filename, (line) => console.log(line));
      process.exitCode = problems ? 1 : 0;
    });
}
