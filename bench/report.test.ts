// BENCHMARKS.md is generated from the JSON results: the table, the ratios and skipped approaches.
import { describe, expect, it } from '@jest/globals';
import type { ApproachResult, BenchResults } from './bench.ts';
import { plotSeries, renderMarkdown } from './report.ts';

const approach = (median: number, runs = 3): ApproachResult => ({
  seconds: { median, min: median * 0.9, max: median * 1.2 },
  runs,
  gitProcesses: 10,
  pushes: 10,
  maxRssMiB: 200,
  exact: 100,
  fieldsOk: 100,
  oneDraft: 100,
  checked: 100,
  duplicateDrafts: 0,
});

const results: BenchResults = {
  date: '2026-11-21T00:00:00Z',
  machine: { cpus: 2, model: 'cpu', node: 'v24', git: 'git version 2.39.5', loadAverage: [1, 2, 3] },
  config: { runs: 3, slowRuns: 1 },
  points: [
    {
      n: 100,
      repos: 10,
      approaches: {
        local: {
          ...approach(4),
          cloneSeconds: 5,
          noChange: { seconds: { median: 0.3, min: 0.3, max: 0.3 }, gitProcesses: 10, floorSeconds: 0.1 },
        },
        controller: { ...approach(8), cloneSeconds: 15 },
        floor: approach(2),
        naive: approach(40, 1),
        kpt: { skipped: 'kpt not built' },
      },
    },
  ],
};

describe('BENCHMARKS.md', () => {
  it('shows medians, the ratios and why an approach was skipped', () => {
    const md = renderMarkdown(results);
    expect(md).toContain('| ours, local mode (`pvctl reconcile`) | **4.00** (3.60–4.80) |');
    expect(md).toContain('| naive script (clone, merge, commit, push per downstream) | **40.0** |');
    expect(md).toContain('| ours ÷ floor (local mode) | 2.0× |');
    expect(md).toContain('| naive ÷ ours (local mode) | 10.0× |');
    expect(md).toContain('| kpt ÷ ours (local mode) | – |');
    expect(md).toContain('| controller ÷ local mode | 2.0× |');
    expect(md).toContain('skipped: kpt not built');
    expect(md).not.toContain('PackageVariantSet');
  });

  it('holds the ratios against the performance targets', () => {
    const md = renderMarkdown(results);
    expect(md).toContain('| local mode: upgrade ÷ git floor | 2.0× | ≤ 3× |');
    expect(md).toContain('| 0.30 s ÷ 0.10 s = 3.0× (10 git processes) | ≤ 1.5× |');
    expect(md).toContain(
      '| controller ÷ local mode: N new variants → all clone drafts | 15.0 s ÷ 5.00 s = 3.0× | ≤ 2× |',
    );
    expect(md).toContain('| peak RSS, local / controller (MiB) | 200 / 200 |');
    expect(md).not.toContain('the N = 1,000 upgrade');
  });

  it('plots every measured approach, none that was skipped', () => {
    expect(plotSeries(results).map((s) => s.name)).toEqual([
      'ours, local mode',
      'ours, controller mode',
      'git floor',
      'naive script',
    ]);
  });
});
