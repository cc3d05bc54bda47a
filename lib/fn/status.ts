// kpt's render status in the root Kptfile (kpt #4418/#4437): `status.conditions` gets a `Rendered`
// condition and `status.renderStatus` the steps run, each with its results.
import { Document, YAMLMap, YAMLSeq, isMap, isSeq } from 'yaml';
import { Kptfile } from '../kpt/kptfile.ts';
import { getField, scalarString, setField } from '../kpt/yaml.ts';
import type { ResultItem } from './types.ts';

export interface StepResult {
  name?: string;
  image?: string;
  exec?: string;
  executionError?: string;
  stderr?: string;
  exitCode: number;
  results?: ResultItem[];
}

// a fresh copy: shared objects would become YAML anchors and aliases
const node = (value: unknown) => new Document(JSON.parse(JSON.stringify(value))).contents as YAMLMap;

function stepNode(step: StepResult): YAMLMap {
  const errors = (step.results ?? []).filter((r) => r.severity === 'error');
  return node({
    ...(step.name ? { name: step.name } : {}),
    ...(step.image ? { image: step.image } : {}),
    ...(step.exec ? { exec: step.exec } : {}),
    ...(step.executionError ? { executionError: step.executionError } : {}),
    ...(step.stderr ? { stderr: step.stderr } : {}),
    exitCode: step.exitCode,
    ...(step.results?.length ? { results: step.results } : {}),
    ...(errors.length ? { errorResults: errors } : {}),
  });
}

/** The Kptfile text with the render status set (an unparsable Kptfile is returned as it is). */
export function writeRenderStatus(
  kptfileText: Buffer,
  mutationSteps: StepResult[],
  validationSteps: StepResult[],
  error: string | undefined,
): Buffer {
  let kptfile: Kptfile;
  try {
    kptfile = Kptfile.parse(kptfileText);
  } catch {
    return kptfileText;
  }
  const status = kptfile.section('status');
  let conditions = getField(status, 'conditions');
  if (!isSeq(conditions)) {
    conditions = new YAMLSeq();
    setField(status, 'conditions', conditions);
  }
  const list = conditions as YAMLSeq;
  list.items = list.items.filter((c) => !(isMap(c) && scalarString(getField(c, 'type')) === 'Rendered'));
  list.items.push(
    node({
      type: 'Rendered',
      status: error === undefined ? 'True' : 'False',
      reason: error === undefined ? 'RenderSuccess' : 'RenderFailed',
      ...(error === undefined ? {} : { message: error }),
    }),
  );
  status.items = status.items.filter((p) => scalarString(p.key) !== 'renderStatus');
  if (mutationSteps.length || validationSteps.length) {
    const renderStatus = new YAMLMap();
    if (mutationSteps.length) setField(renderStatus, 'mutationSteps', seq(mutationSteps.map(stepNode)));
    if (validationSteps.length) setField(renderStatus, 'validationSteps', seq(validationSteps.map(stepNode)));
    if (error !== undefined) {
      const lines = [...mutationSteps, ...validationSteps]
        .filter((s) => s.executionError || s.exitCode !== 0)
        .map((s) => `${s.name || s.image || s.exec}: ${s.executionError || `exit code ${s.exitCode}`}`);
      if (lines.length) setField(renderStatus, 'errorSummary', node(lines.join('\n')));
    }
    setField(status, 'renderStatus', renderStatus);
  }
  return Buffer.from(kptfile.toString());
}

function seq(items: YAMLMap[]): YAMLSeq {
  const s = new YAMLSeq();
  s.items = items;
  return s;
}
