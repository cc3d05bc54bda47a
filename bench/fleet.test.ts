// Smoke test of the fleet benchmark harness (N = 4, REPOS = 2): the passes run, and the correctness
// checks accept a correct upgrade and reject drafts that miss the upstream change or lose a site's
// edits. It asserts nothing about time.
import { describe, expect, it } from '@jest/globals';
import { clonePackage, upgradePackage } from '../lib/merge/upgrade.ts';
import { runFleetBenchmark } from './fleet.ts';
import { checkFields, variantName } from './lib/fleet.ts';
import { blueprintFiles, customizationOf, customize, V1, V2 } from './lib/fleet-package.ts';

describe('fleet benchmark harness', () => {
  it('upgrades a tiny fleet, verifies every draft, and the steady pass writes nothing', async () => {
    const result = await runFleetBenchmark({
      n: 4,
      repos: 2,
      runs: 1,
      coldRuns: 1,
      baselines: { floor: { runs: 1 }, naive: { runs: 1 }, kpt: { skipped: 'kpt not built' } },
    });
    expect(result.clone.errors).toBe(0);
    expect(result.verification).toMatchObject({ checked: 4, exact: 4, fieldsOk: 4, oneDraft: 4, problems: [] });
    expect(result.duplicateDrafts).toBe(0);
    expect(result.upgrade[0]).toMatchObject({ variants: 4, errors: 0, pushes: 2, statusChanges: 4 });
    expect(result.upgradeCold[0]).toMatchObject({ variants: 4, errors: 0 });
    const steady = result.steady[0]!;
    expect(steady).toMatchObject({ pushes: 0, statusChanges: 0, errors: 0 });
    expect(steady.byCommand['fetch']).toBeUndefined();
    expect(steady.byCommand['ls-remote']?.count).toBe(3); // one per repository
    // The run after it is decided from refs and trees: still one ls-remote per repository, nothing written.
    const remembered = result.remembered[0]!;
    expect(remembered).toMatchObject({ pushes: 0, statusChanges: 0, errors: 0 });
    expect(remembered.byCommand['ls-remote']?.count).toBe(3);
    expect(remembered.byCommand['fetch']).toBeUndefined();
    expect(result.summary.correct).toBe(true);
    // The baselines wrote the same drafts on the same fleet, each once.
    for (const name of ['floor', 'naive'] as const) {
      const baseline = result.baselines[name]!;
      if ('skipped' in baseline) throw new Error(`${name} skipped`);
      expect(baseline.verification).toMatchObject({ checked: 4, exact: 4, fieldsOk: 4, oneDraft: 4 });
      expect(baseline.duplicateDrafts).toBe(0);
    }
    const floor = result.baselines.floor as { runs: Array<{ pushes: number; byCommand: Record<string, unknown> }> };
    expect(floor.runs[0]).toMatchObject({ pushes: 2 }); // one atomic push per repository
    expect(Object.keys(floor.runs[0]!.byCommand).sort()).toEqual(['fast-import', 'push']);
    const naive = result.baselines.naive as { runs: Array<{ pushes: number; gitProcesses: number }> };
    expect(naive.runs[0]!.pushes).toBe(4); // one push per downstream
    expect(result.baselines.kpt).toEqual({ skipped: 'kpt not built' });
  }, 180_000);

  it('field checks reject a draft without the upstream change or without the site edits', () => {
    const name = variantName(1);
    const lock = (ref: string, commit: string) => ({ repo: 'file:///up', directory: 'app', ref, commit });
    const v2Commit = 'b'.repeat(40);
    const clone = clonePackage(blueprintFiles(V1), lock('app/v1', 'a'.repeat(40)), {
      name,
      packageContext: { packagePath: name },
    });
    const local = customize(clone, customizationOf(name, 1));
    const upgraded = upgradePackage(
      { original: blueprintFiles(V1), updated: blueprintFiles(V2), local },
      lock('app/v2', v2Commit),
    ).files;
    const problems = (files: Map<string, Buffer>) => checkFields(name, 1, files, v2Commit).join('\n');
    // The variant mutations are not applied here: only those checks fail.
    expect(problems(upgraded)).not.toMatch(/image|port|legacy|replicas|SITE|LOG_LEVEL|upstreamLock/);
    expect(problems(local)).toMatch(/image is .*1\.4\.2/);
    expect(problems(local)).toMatch(/lacks port 9090/);
    expect(problems(local)).toMatch(/legacy-probe annotation still there/);
    expect(problems(local)).toMatch(/upstreamLock is not the v2 commit/);
    const lost = upgradePackage(
      { original: blueprintFiles(V1), updated: blueprintFiles(V2), local: clone },
      lock('app/v2', v2Commit),
    ).files;
    expect(problems(lost)).toMatch(/replicas 2, expected 4/);
    expect(problems(lost)).toMatch(/env SITE missing/);
    expect(problems(lost)).toMatch(/LOG_LEVEL info, expected warn/);
  });
});
