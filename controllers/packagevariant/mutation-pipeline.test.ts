import { describe, expect, it } from '@jest/globals';
import type { Pipeline } from '../../api/v1alpha1/index.ts';
import { isPackageVariantFunction, packageVariantFunctionName, parseKptfile } from '../../lib/kpt/kptfile.ts';
import { MutationError } from './mutation-error.ts';
import { setPipelineFunctions } from './mutation-pipeline.ts';
import { PORCH_KPTFILE } from '../testing/porch-package.ts';

const KPTFILE = PORCH_KPTFILE;
const CATALOG = 'ghcr.io/kptdev/krm-functions-catalog';
const fn = (name: string, image = `${CATALOG}/${name}`, configMap?: Record<string, string>) => ({
  name,
  image,
  ...(configMap ? { configMap } : {}),
});

const labels = fn('set-labels', `${CATALOG}/set-labels:v0.1`, { app: 'foo' });
const annotations = fn('set-annotations', `${CATALOG}/set-annotations:v0.1`);
const gatekeeper = fn('gatekeeper-validate', `${CATALOG}/gatekeeper-validate:v0.1`);
const namespace = fn('set-namespace', `${CATALOG}/set-namespace:v0.1`, { namespace: 'my-ns' });
const pvName = (f: { name: string }, i: number) => ({ ...f, name: `PackageVariant.my-pv.${f.name}.${i}` });

const initial = (pipeline: string) => (pipeline ? `${KPTFILE}pipeline:\n${pipeline}` : KPTFILE);
const list = (key: string, fns: Array<Record<string, unknown>>) =>
  `  ${key}:\n${fns
    .map((f) =>
      Object.entries(f)
        .map(([k, v], i) => {
          const value =
            typeof v === 'string'
              ? ` ${v}`
              : `\n${Object.entries(v as Record<string, string>)
                  .map(([a, b]) => `        ${a}: ${b}`)
                  .join('\n')}`;
          return `${i === 0 ? '    - ' : '      '}${k}:${value}`;
        })
        .join('\n'),
    )
    .join('\n')}\n`;

// Porch's TestEnsureKRMFunctions, each case run twice (idempotence).
const cases: Array<{ title: string; initial: string; pipeline?: Pipeline; expected: unknown }> = [
  {
    title: 'add one mutator with existing mutators',
    initial: list('mutators', [labels, annotations]),
    pipeline: { mutators: [namespace] },
    expected: { mutators: [pvName(namespace, 0), labels, annotations] },
  },
  {
    title: 'add two mutators with existing',
    initial: list('mutators', [labels, annotations]),
    pipeline: { mutators: [namespace, fn('format', `${CATALOG}/format:latest`)] },
    expected: {
      mutators: [pvName(namespace, 0), pvName(fn('format', `${CATALOG}/format:latest`), 1), labels, annotations],
    },
  },
  {
    title: 'add one mutator with none existing',
    initial: '',
    pipeline: { mutators: [namespace] },
    expected: { mutators: [pvName(namespace, 0)] },
  },
  {
    title: 'add none with existing mutators',
    initial: list('mutators', [labels, annotations]),
    expected: { mutators: [labels, annotations] },
  },
  {
    title: 'add one mutator with existing with comments',
    initial: `  mutators:
    - image: ${CATALOG}/set-labels:v0.1
      # this is a comment
      name: set-labels
      configMap:
        app: foo
    - image: ${CATALOG}/set-annotations:v0.1
      name: set-annotations
`,
    pipeline: { mutators: [namespace] },
    expected: {
      mutators: [
        pvName(namespace, 0),
        { image: labels.image, name: 'set-labels', configMap: { app: 'foo' } },
        annotations,
      ],
    },
  },
  {
    title: 'add one validator with existing validators',
    initial: list('validators', [gatekeeper]),
    pipeline: { validators: [fn('validate-name', `${CATALOG}/validate-name:undefined`)] },
    expected: { validators: [pvName(fn('validate-name', `${CATALOG}/validate-name:undefined`), 0), gatekeeper] },
  },
  {
    title: 'add two validators with existing validators',
    initial: list('validators', [gatekeeper]),
    pipeline: { validators: [fn('validate-name', `${CATALOG}/validate-name:undefined`)] },
    expected: { validators: [pvName(fn('validate-name', `${CATALOG}/validate-name:undefined`), 0), gatekeeper] },
  },
  {
    title: 'add none with existing validator',
    initial: list('validators', [gatekeeper]),
    expected: { validators: [gatekeeper] },
  },
  {
    title: 'add validator and mutator with existing',
    initial: list('validators', [fn('val1'), fn('val2')]) + list('mutators', [fn('mut1'), fn('mut2')]),
    pipeline: { validators: [fn('val3'), fn('val4')], mutators: [fn('mut3'), fn('mut4')] },
    expected: {
      validators: [pvName(fn('val3'), 0), pvName(fn('val4'), 1), fn('val1'), fn('val2')],
      mutators: [pvName(fn('mut3'), 0), pvName(fn('mut4'), 1), fn('mut1'), fn('mut2')],
    },
  },
  {
    title: 'remove pv mutator',
    initial: list('mutators', [fn('PackageVariant.my-pv.mut.0', `${CATALOG}/mut:v1`)]),
    expected: undefined,
  },
  {
    title: 'remove pv validator',
    initial: list('validators', [fn('PackageVariant.my-pv.val.0', `${CATALOG}/val:v1`)]),
    expected: undefined,
  },
  {
    title: 'remove pv validator, keep prr one',
    initial: list('validators', [
      fn('PackageVariant.my-pv.val.0', `${CATALOG}/val:v1`),
      fn('non-pv-val', `${CATALOG}/val:v1`),
    ]),
    expected: { validators: [fn('non-pv-val', `${CATALOG}/val:v1`)] },
  },
];

describe('PackageVariant pipeline functions (Porch TestEnsureKRMFunctions)', () => {
  it.each(cases)('$title', ({ initial: pipeline, pipeline: pvPipeline, expected }) => {
    const kptfile = parseKptfile(initial(pipeline));
    const before = kptfile.toString();
    const changed = setPipelineFunctions(kptfile, 'my-pv', pvPipeline);
    expect(kptfile.toJSON().pipeline).toEqual(expected);
    expect(changed).toBe(kptfile.toString() !== before);
    expect(kptfile.toJSON().info).toEqual({ description: 'Example' });
    const once = kptfile.toString();
    expect(() => parseKptfile(once)).not.toThrow();

    expect(setPipelineFunctions(kptfile, 'my-pv', pvPipeline)).toBe(false);
    expect(kptfile.toString()).toBe(once);
  });

  it('keeps comments of kept functions and writes the new ones first', () => {
    const kptfile = parseKptfile(initial(cases[4]!.initial));
    setPipelineFunctions(kptfile, 'my-pv', { mutators: [namespace] });
    expect(kptfile.toString()).toBe(`${KPTFILE}pipeline:
  mutators:
    - name: PackageVariant.my-pv.set-namespace.0
      image: ${CATALOG}/set-namespace:v0.1
      configMap:
        namespace: my-ns
    - image: ${CATALOG}/set-labels:v0.1
      # this is a comment
      name: set-labels
      configMap:
        app: foo
    - image: ${CATALOG}/set-annotations:v0.1
      name: set-annotations
`);
  });

  it("replaces this PV's earlier functions and leaves other PVs' alone", () => {
    const kptfile = parseKptfile(
      initial(
        list('mutators', [
          fn('PackageVariant.other.x.0', 'other:v1'),
          fn('PackageVariant.my-pv.old.0', 'old:v1'),
          fn('PackageVariant.my-pv.not-an-index.x', 'kept:v1'),
        ]),
      ),
    );
    expect(setPipelineFunctions(kptfile, 'my-pv', { mutators: [fn('new', 'new:v1')] })).toBe(true);
    expect(kptfile.toJSON().pipeline).toEqual({
      mutators: [
        fn('PackageVariant.my-pv.new.0', 'new:v1'),
        fn('PackageVariant.other.x.0', 'other:v1'),
        fn('PackageVariant.my-pv.not-an-index.x', 'kept:v1'),
      ],
    });
  });

  it('works for a PackageVariant whose name has dots', () => {
    const others = [fn('PackageVariant.team.x.0', 'pv-team:v1'), fn('PackageVariant.team.a.b.x.0', 'pv-team.a.b:v1')];
    const kptfile = parseKptfile(initial(list('mutators', [...others, labels])));
    const pipeline = { mutators: [namespace], validators: [fn('', 'kubeconform:v1')] };
    expect(setPipelineFunctions(kptfile, 'team.a', pipeline)).toBe(true);
    const once = kptfile.toString();
    expect(setPipelineFunctions(kptfile, 'team.a', pipeline)).toBe(false);
    expect(kptfile.toString()).toBe(once);
    expect(kptfile.toJSON().pipeline).toEqual({
      mutators: [{ ...namespace, name: 'PackageVariant.team.a.set-namespace.0' }, ...others, labels],
      validators: [{ name: 'PackageVariant.team.a..0', image: 'kubeconform:v1' }],
    });
    expect(setPipelineFunctions(kptfile, 'team', {})).toBe(true);
    expect(setPipelineFunctions(kptfile, 'team.a', {})).toBe(true);
    expect(setPipelineFunctions(kptfile, 'team.a.b', {})).toBe(true);
    expect(kptfile.toJSON().pipeline).toEqual({ mutators: [labels] });
  });

  it('does not take a user function that only looks like a stand-in name', () => {
    const kptfile = parseKptfile(initial(list('mutators', [fn('PackageVariant.pv.a.0', 'pv-named-pv:v1')])));
    setPipelineFunctions(kptfile, 'my-pv', { mutators: [namespace] });
    expect(kptfile.toJSON().pipeline).toEqual({
      mutators: [pvName(namespace, 0), fn('PackageVariant.pv.a.0', 'pv-named-pv:v1')],
    });
  });

  it('refuses function names with dots, naming the field', () => {
    const kptfile = parseKptfile(KPTFILE);
    expect(() => setPipelineFunctions(kptfile, 'my-pv', { validators: [fn('a.b', 'x:v1')] })).toThrow(
      new MutationError('spec.pipeline.validators[0].name: must not contain \'.\' (got "a.b")'),
    );
  });
});

describe('PackageVariant function names (Porch TestGeneratePVFuncName, TestIsPackageVariantFunc)', () => {
  it.each([
    ['my-func', 'my-pv', 3, 'PackageVariant.my-pv.my-func.3'],
    ['', 'my-pv', 0, 'PackageVariant.my-pv..0'],
  ])('%j of %s at %d is %s', (name, pv, index, expected) => {
    expect(packageVariantFunctionName(pv, name, index)).toBe(expected);
  });

  it.each([
    ['valid func name', 'PackageVariant.my-pv.my-func.0', 'my-pv', true],
    ['field name is missing', undefined, 'my-pv', false],
    ['additional dots', 'PackageVariant.too.many.dots.0', 'too', false],
    ['not enough dots', 'PackageVariant.not-enough.dots', 'not-enough', false],
    ['wrong prefix', 'NotPackageVariant.my-pv.my-func.0', 'my-pv', false],
    ['different pv name', 'PackageVariant.my-pv.my-func.0', 'other-pv', false],
    ['empty func name', 'PackageVariant.my-pv..0', 'my-pv', true],
    ['non-integer index', 'PackageVariant.my-pv.my-func.x', 'my-pv', false],
    ['dotted pv name', 'PackageVariant.too.many.dots.0', 'too.many', true],
    ['prefix of a dotted pv name', 'PackageVariant.too.many.dots.0', 'too', false],
  ])('%s', (_title, name, pv, expected) => {
    expect(isPackageVariantFunction(name, pv)).toBe(expected);
  });
});
