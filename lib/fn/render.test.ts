import { afterAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureMergeKeys } from '../kpt/identity.ts';
import { renderPackage } from './render.ts';
import { stopWasmRuntime } from './runtimes/wasm.ts';

afterAll(() => stopWasmRuntime());

const files = (entries: Record<string, string | Buffer>) =>
  new Map(Object.entries(entries).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)]));

const kptfile = (pipeline: string, name = 'app') => `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: ${name}
  annotations:
    config.kubernetes.io/local-config: "true"
pipeline:
${pipeline}`;

const deployment = `# the app
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # inline
spec:
  replicas: 3
`;

describe('renderPackage', () => {
  it('runs the pipeline, keeps comments, leaves untouched files byte for byte', async () => {
    const untouched =
      'apiVersion:   v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x, annotations: {config.kubernetes.io/local-config: "true"}}\n';
    const input = files({
      Kptfile: kptfile(
        '  mutators:\n    - image: gcr.io/kpt-fn/set-namespace:v0.4\n      configMap:\n        namespace: prod\n',
      ),
      'app.yaml': deployment,
      'local.yaml': untouched,
      'bin/tool': Buffer.from([0xff, 0xfe, 0x00]),
      'latin1.yaml': Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]),
    });
    const out = await renderPackage(input);
    expect(out.error).toBeUndefined();
    expect(out.files.get('app.yaml')!.toString()).toBe(
      deployment.replace('  name: web # inline\n', '  name: web # inline\n  namespace: prod\n'),
    );
    expect(out.files.get('local.yaml')).toBe(input.get('local.yaml'));
    expect(out.files.get('bin/tool')).toBe(input.get('bin/tool'));
    expect(out.files.get('latin1.yaml')).toBe(input.get('latin1.yaml'));
    expect(out.files.get('Kptfile')).toBe(input.get('Kptfile'));
    expect(out.results.items).toEqual([
      {
        image: 'gcr.io/kpt-fn/set-namespace:v0.4',
        exitCode: 0,
        results: [
          { message: 'namespace [default] updated to "prod", 1 value(s) changed', severity: 'info' },
          { message: 'all `depends-on` annotations are up-to-date. no `namespace` changed', severity: 'info' },
        ],
      },
    ]);
  });

  it("renders subpackages first; a package sees its subpackages' resources", async () => {
    const input = files({
      Kptfile: kptfile('  mutators:\n    - image: set-labels:v0.2\n      configMap:\n        tier: root\n'),
      'sub/Kptfile': kptfile(
        '  mutators:\n    - image: set-labels:v0.2\n      configMap:\n        tier: sub\n        only-sub: "yes"\n',
        'sub',
      ),
      'sub/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n',
    });
    const out = await renderPackage(input);
    expect(out.error).toBeUndefined();
    expect(out.files.get('sub/cm.yaml')!.toString()).toBe(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels:\n    only-sub: "yes"\n    tier: root\n',
    );
    expect(out.results.items.map((i) => i.results?.at(-1)?.message)).toEqual([
      'set 2 labels in total',
      'set 1 labels in total',
    ]);
  });

  it('applies selectors and exclude', async () => {
    const input = files({
      Kptfile: kptfile(
        '  mutators:\n    - image: set-namespace\n      configMap:\n        namespace: a\n      selectors:\n        - kind: ConfigMap\n      exclude:\n        - name: skip\n',
      ),
      'r.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: take\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: skip\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n',
    });
    const out = await renderPackage(input);
    expect(out.files.get('r.yaml')!.toString()).toBe(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: take\n  namespace: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: skip\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n',
    );
  });

  // In-process mutators change the pipeline's own nodes; these are the guarantees that makes safe.
  it('keeps the input files when a later function fails after an in-process mutator changed them', async () => {
    const input = files({
      Kptfile: kptfile(
        '  mutators:\n    - image: set-namespace\n      configMap:\n        namespace: a\n    - image: set-labels\n      configPath: missing.yaml\n',
      ),
      'app.yaml': deployment,
    });
    const before = new Map([...input].map(([k, v]) => [k, Buffer.from(v)]));
    const out = await renderPackage(input);
    expect(out.error).toContain('missing function config');
    expect(out.files).toBe(input);
    expect(out.files).toEqual(before);
  });

  it('discards what an in-process validator changes, and leaves no kpt annotations or empty maps behind', async () => {
    const bare = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bare\n';
    const input = files({
      Kptfile: kptfile(
        '  mutators:\n    - image: set-labels\n      configMap:\n        tier: web\n  validators:\n    - image: set-namespace\n      configMap:\n        namespace: changed-by-a-validator\n',
      ),
      'cm.yaml': bare,
      'app.yaml': deployment,
    });
    const out = await renderPackage(input);
    expect(out.error).toBeUndefined();
    const cm = out.files.get('cm.yaml')!.toString();
    expect(cm).toBe('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bare\n  labels:\n    tier: web\n');
    expect(out.files.get('app.yaml')!.toString()).not.toContain('changed-by-a-validator');
    expect(out.files.get('app.yaml')!.toString()).not.toContain('config.kubernetes.io');
  });
  it('refuses exec functions that are not allowed, and images without a built-in or runtime', async () => {
    for (const [fn, why, failed] of [
      ['exec: /bin/sh -c "touch /tmp/pwned"', 'exec functions are not allowed', '/bin/sh -c "touch /tmp/pwned"'],
      ['image: example.com/evil:v1', 'no container runtime is enabled', 'example.com/evil:v1'],
      ['image: gcr.io/kpt-fn/set-namespace:v9.0', 'implements v0.4 up to', 'gcr.io/kpt-fn/set-namespace:v9.0'],
    ]) {
      const input = files({ Kptfile: kptfile(`  mutators:\n    - ${fn}\n`), 'a.yaml': deployment });
      const out = await renderPackage(input);
      expect(out.error).toContain(why);
      // The function is named even though it never ran (no result item): the render failure metric's label.
      expect(out.failedFunction).toBe(failed);
      expect(out.files).toBe(input);
      expect(out.results.exitCode).toBe(1);
    }
  });

  it('runs an allowed exec function and bounds it in time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fn-test-'));
    const script = join(dir, 'fn.sh');
    writeFileSync(script, '#!/bin/sh\nsed "s/replicas: 3/replicas: 5/"\n');
    chmodSync(script, 0o755);
    const slow = join(dir, 'slow.sh');
    writeFileSync(slow, '#!/bin/sh\nsleep 10\n');
    chmodSync(slow, 0o755);
    const input = files({ Kptfile: kptfile(`  mutators:\n    - exec: ${script}\n`), 'a.yaml': deployment });
    const out = await renderPackage(input, { allowExec: [script] });
    expect(out.error).toBeUndefined();
    expect(out.files.get('a.yaml')!.toString()).toBe(deployment.replace('replicas: 3', 'replicas: 5'));

    const started = Date.now();
    const timedOut = await renderPackage(
      files({ Kptfile: kptfile(`  mutators:\n    - exec: ${slow}\n`), 'a.yaml': deployment }),
      {
        allowExec: [slow],
        timeoutMs: 300,
      },
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(timedOut.error).toContain('timed out after 300 ms');
  }, 30_000);

  it("writes kpt's render status into the Kptfile when asked", async () => {
    const input = files({
      Kptfile: kptfile('  mutators:\n    - image: set-namespace\n'),
      'a.yaml': deployment,
    });
    const out = await renderPackage(input, { writeRenderStatus: true });
    expect(out.error).toBeUndefined();
    const text = out.files.get('Kptfile')!.toString();
    expect(text).toContain(
      'status:\n  conditions:\n    - type: Rendered\n      status: "True"\n      reason: RenderSuccess\n',
    );
    expect(text).toContain('FunctionConfig is missing');
  });
});

describe('parsed files shared between renders', () => {
  it('renders the same bytes alike the first time, from the cache, and after another config', async () => {
    const app = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared-${Date.now()}\n`;
    const withNamespace = (namespace: string) =>
      files({
        Kptfile: kptfile(
          `  mutators:\n    - image: gcr.io/kpt-fn/set-namespace:v0.4\n      configMap:\n        namespace: ${namespace}\n`,
        ),
        'app.yaml': app,
      });
    const expected = (namespace: string) => app.replace(/(name: .*\n)/, `$1  namespace: ${namespace}\n`);
    for (const namespace of ['a', 'b', 'c', 'a']) {
      const out = await renderPackage(withNamespace(namespace));
      expect(out.files.get('app.yaml')!.toString()).toBe(expected(namespace));
    }
    const untouched = await renderPackage(files({ Kptfile: kptfile('  mutators: []\n'), 'app.yaml': app }));
    expect(untouched.files.get('app.yaml')!.toString()).toBe(app);
  });
  it('runs a mutator on shared nodes it leaves as they are, and on copies when it would change them', async () => {
    const name = `probe-${Date.now()}`;
    // `namespace: yes`: a string a YAML 1.1 reader takes for a boolean, whose write changes its quoting
    const app = (namespace: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace} # site\n  labels:\n    tier: web\n`;
    const pipeline = (namespace: string) =>
      kptfile(
        `  mutators:\n    - image: gcr.io/kpt-fn/set-namespace:v0.4\n      configMap:\n        namespace: "${namespace}"\n` +
          '    - image: gcr.io/kpt-fn/set-labels:v0.2\n      configMap:\n        tier: web\n',
      );
    const render = async (namespace: string, text: string) => {
      const out = await renderPackage(files({ Kptfile: pipeline(namespace), 'app.yaml': text }));
      expect(out.error).toBeUndefined();
      return out.files.get('app.yaml')!.toString();
    };
    const firstYes = await render('yes', app('yes')); // parsed fresh: not shared yet
    for (let i = 0; i < 3; i++) expect(await render('prod', app('prod'))).toBe(app('prod')); // shared from the second
    expect(await render('staging', app('prod'))).toBe(app('staging'));
    expect(await render('prod', app('prod'))).toBe(app('prod')); // the shared nodes were not changed
    for (let i = 0; i < 3; i++) expect(await render('yes', app('yes'))).toBe(firstYes);
  });
});

describe('a parse handed over by the merge', () => {
  it('renders as a fresh parse does, and the merge keeps its own answer', async () => {
    const marked = `apiVersion: apps/v1
kind: Deployment
metadata: # kpt-merge: /handed
  name: handed
  annotations:
    internal.kpt.dev/upstream-identifier: 'apps|Deployment|default|handed'
spec:
  replicas: 1
`;
    const input = files({
      Kptfile: kptfile(
        '  mutators:\n    - image: gcr.io/kpt-fn/set-namespace:v0.4\n      configMap:\n        namespace: prod\n',
      ),
      'app.yaml': marked,
    });
    const fresh = await renderPackage(input);
    const keyed = ensureMergeKeys(input);
    expect(keyed.get('app.yaml')).toBe(input.get('app.yaml')); // already marked: the parse is offered
    const handed = await renderPackage(keyed);
    expect(handed.files.get('app.yaml')!.toString()).toBe(fresh.files.get('app.yaml')!.toString());
    expect(handed.files.get('app.yaml')!.toString()).toContain('  namespace: prod\n');
    expect(ensureMergeKeys(input).get('app.yaml')).toBe(input.get('app.yaml'));
  });
});

describe('built-ins compiled to WebAssembly', () => {
  it('apply-replacements and starlark run in the worker', async () => {
    const input = files({
      Kptfile: kptfile(
        '  mutators:\n    - image: gcr.io/kpt-fn/apply-replacements:v0.1\n      configPath: r.yaml\n    - image: gcr.io/kpt-fn/starlark:v0.4\n      configPath: s.yaml\n',
      ),
      'r.yaml':
        'apiVersion: fn.kpt.dev/v1alpha1\nkind: ApplyReplacements\nmetadata:\n  name: r\n  annotations:\n    config.kubernetes.io/local-config: "true"\nreplacements:\n  - source:\n      kind: ConfigMap\n      fieldPath: data.replicas\n    targets:\n      - select:\n          kind: Deployment\n        fieldPaths:\n          - spec.replicas\n',
      's.yaml':
        'apiVersion: fn.kpt.dev/v1alpha1\nkind: StarlarkRun\nmetadata:\n  name: s\n  annotations:\n    config.kubernetes.io/local-config: "true"\nsource: |\n  for r in ctx.resource_list["items"]:\n    if r["kind"] == "Deployment":\n      r["metadata"]["labels"] = {"from": "starlark"}\n',
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: "7"\n',
      'app.yaml': deployment,
    });
    const out = await renderPackage(input);
    expect(out.results.items.flatMap((i) => i.results ?? [])).toEqual([]);
    expect(out.error).toBeUndefined();
    expect(out.files.get('app.yaml')!.toString()).toBe(
      deployment
        .replace('  name: web # inline\n', '  name: web # inline\n  labels:\n    from: starlark\n')
        .replace('replicas: 3', 'replicas: 7'),
    );
    expect(out.files.get('cm.yaml')).toBe(input.get('cm.yaml'));
  }, 60_000);
  it('apply-replacements gets only what its config selects; the rest keep their bytes and order', async () => {
    const replacements = (sourceName: string) =>
      `apiVersion: fn.kpt.dev/v1alpha1\nkind: ApplyReplacements\nmetadata:\n  name: r\n  annotations:\n    config.kubernetes.io/local-config: "true"\nreplacements:\n  - source:\n      kind: ConfigMap\n      name: ${sourceName}\n      fieldPath: data.replicas\n    targets:\n      - select:\n          kind: Deployment\n        fieldPaths:\n          - spec.replicas\n`;
    const service = 'apiVersion: v1\nkind:    Service # odd spacing\nmetadata: {name: web}\nspec: {replicas: 3}\n';
    const many = [
      service,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: "7"\n',
      deployment,
    ];
    const input = files({
      Kptfile: kptfile('  mutators:\n    - image: gcr.io/kpt-fn/apply-replacements:v0.1\n      configPath: r.yaml\n'),
      'r.yaml': replacements('settings'),
      'all.yaml': many.join('---\n'),
    });
    const out = await renderPackage(input);
    expect(out.error).toBeUndefined();
    expect(out.files.get('all.yaml')!.toString()).toBe(
      [service, many[1], deployment.replace('replicas: 3', 'replicas: 7')].join('---\n'),
    );

    input.set('r.yaml', Buffer.from(replacements('missing')));
    const failed = await renderPackage(input);
    expect(failed.error).toMatch(/apply-replacements.*failed/);
    expect(JSON.stringify(failed.results.items[0]!.results)).toMatch(/nothing selected by ConfigMap.*missing/);
  }, 60_000);
});

describe('the WebAssembly runtime', () => {
  const starlark = (source: string) =>
    files({
      Kptfile: kptfile('  mutators:\n    - image: starlark\n      configPath: s.yaml\n'),
      's.yaml': `apiVersion: fn.kpt.dev/v1alpha1\nkind: StarlarkRun\nmetadata:\n  name: s\nsource: |\n  ${source}\n`,
    });

  it('ends a function that runs past the timeout and keeps working', async () => {
    const out = await renderPackage(starlark('while True:\n    pass'), { timeoutMs: 1500 });
    expect(out.error).toContain('timed out after 1500 ms');
    const next = await renderPackage(starlark('print("ok")'));
    expect(next.error).toBeUndefined();
  }, 60_000);

  it('gives a clear error when the module was not built', async () => {
    stopWasmRuntime();
    process.env.PVCTL_FN_WASM_DIR = mkdtempSync(join(tmpdir(), 'no-wasm-'));
    try {
      const out = await renderPackage(starlark('print("ok")'));
      expect(out.error).toContain("the built-in functions' WebAssembly module is missing");
      expect(out.error).toContain('scripts/build-fn-wasm.sh');
    } finally {
      delete process.env.PVCTL_FN_WASM_DIR;
      stopWasmRuntime();
    }
  });
});

describe('the WebAssembly worker', () => {
  it('does not keep a finished process alive', async () => {
    // a reconcile pass or script that renders and returns must exit without stopWasmRuntime()
    const script = `
      import { renderPackage } from ${JSON.stringify(join(import.meta.dirname, 'render.ts'))};
      const files = new Map(Object.entries(${JSON.stringify({
        Kptfile: kptfile(
          '  mutators:\n    - image: gcr.io/kpt-fn/set-annotations:v0.1\n      configMap:\n        team: web\n',
        ),
        'app.yaml': deployment,
      })}).map(([k, v]) => [k, Buffer.from(v)]));
      const out = await renderPackage(files);
      if (out.error) throw new Error(out.error);
      console.log(out.files.get('app.yaml').toString().includes('team: web') ? 'rendered' : 'not rendered');
    `;
    const { execFile } = await import('node:child_process');
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--input-type=module', '--eval', script],
        { timeout: 30_000, killSignal: 'SIGKILL' },
        (error, stdout, stderr) => resolve({ code: error ? (child.exitCode ?? -1) : 0, stdout, stderr }),
      );
    });
    expect(result).toEqual({ code: 0, stdout: 'rendered\n', stderr: '' });
  }, 40_000);
});
