// The alert rules through Prometheus's own tools: `promtool check rules` (syntax, templates) and
// `promtool test rules` with config/prometheus/rules.test.yaml (every alert firing and quiet, labels
// and rendered annotations), plus the checks promtool does not make: every alert has a firing and
// a quiet test, and a runbook_url whose anchor exists in docs/operations.md.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const RULES = join(ROOT, 'config', 'prometheus', 'rules.yaml');
const RULE_TESTS = join(ROOT, 'config', 'prometheus', 'rules.test.yaml');
const OPERATIONS = join(ROOT, 'docs', 'operations.md');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
interface RuleGroups {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface RuleTests {
  rule_files: string[];
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The PrometheusRule's `spec`: the plain rule file Prometheus and promtool read. */
function ruleGroups(): RuleGroups {
  const doc = load(readFileSync(RULES, 'utf8')) as { kind: string; spec: RuleGroups };
  expect(doc.kind).toBe('PrometheusRule');
  return doc.spec;
}

/** A temp dir holding rules.yaml (the spec, changed by `edit`) and the unit tests next to it. */
function workspace(edit: (groups: RuleGroups) => void = () => {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pv-rules-'));
  dirs.push(dir);
  const groups = ruleGroups();
  edit(groups);
  writeFileSync(join(dir, 'rules.yaml'), dump(groups, { lineWidth: -1 }));
  writeFileSync(join(dir, 'rules.test.yaml'), readFileSync(RULE_TESTS));
  return dir;
}

function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw new Error(`promtool: ${result.error.message} (scripts/system-deps.sh installs it)`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const slugs = new Set<string>();
  for (const match of markdown.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = match[1]!
      .toLowerCase()
      .replace(/`/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    slugs.add(slug);
  }
  return slugs;
}

const alerts = () => ruleGroups().groups.flatMap((g) => g.rules.filter((r) => r.alert));

describe('alert rules (promtool)', () => {
  it('pass promtool check rules', () => {
    const dir = workspace();
    const { status, output } = promtool('check', 'rules', join(dir, 'rules.yaml'));
    expect(output).toContain(`SUCCESS: ${ruleGroups().groups.flatMap((g) => g.rules).length} rules found`);
    expect(status).toBe(0);
  });

  it('pass their unit tests (promtool test rules config/prometheus/rules.test.yaml)', () => {
    const dir = workspace();
    const { status, output } = promtool('test', 'rules', join(dir, 'rules.test.yaml'));
    expect(output).toContain('SUCCESS');
    expect(output).not.toContain('FAILED');
    expect(status).toBe(0);
  });

  it('fail their unit tests when an alert changes (the tests hold the thresholds)', () => {
    const dir = workspace((groups) => {
      const rule = groups.groups[0]!.rules.find((r) => r.alert === 'PackageVariantReconcileErrors')!;
      rule.expr = rule.expr.replace('> 0.1', '> 0.5');
    });
    const { status, output } = promtool('test', 'rules', join(dir, 'rules.test.yaml'));
    expect(output).toContain('FAILED');
    expect(output).toContain('alertname: PackageVariantReconcileErrors');
    expect(status).not.toBe(0);
  });

  it('have a firing and a quiet unit test for every alert', () => {
    const tests = (load(readFileSync(RULE_TESTS, 'utf8')) as RuleTests).tests.flatMap((t) => t.alert_rule_test ?? []);
    expect((load(readFileSync(RULE_TESTS, 'utf8')) as RuleTests).rule_files).toEqual(['rules.yaml']);
    const untested = alerts()
      .map((r) => r.alert!)
      .flatMap((name) => {
        const own = tests.filter((t) => t.alertname === name);
        return [
          ...(own.some((t) => t.exp_alerts.length > 0) ? [] : [`${name}: no test where it fires`]),
          ...(own.some((t) => t.exp_alerts.length === 0) ? [] : [`${name}: no test where it stays quiet`]),
        ];
      });
    expect(untested).toEqual([]);
  });

  it('link every alert to its runbook section in docs/operations.md', () => {
    const sections = anchors(readFileSync(OPERATIONS, 'utf8'));
    const problems: string[] = [];
    for (const rule of alerts()) {
      const url = rule.annotations?.runbook_url;
      const match = url && /\/docs\/operations\.md#([\w-]+)$/.exec(url);
      if (!match) problems.push(`${rule.alert}: runbook_url ${url} is not docs/operations.md#<anchor>`);
      else if (!sections.has(match[1]!)) problems.push(`${rule.alert}: no section #${match[1]} in docs/operations.md`);
      else if (match[1] !== rule.alert!.toLowerCase()) problems.push(`${rule.alert}: runbook anchor #${match[1]}`);
    }
    expect(problems).toEqual([]);
    expect(anchors('## Alerts (`config/prometheus/rules.yaml`)\n### PackageVariantRolloutHalted\n')).toEqual(
      new Set(['alerts-configprometheusrulesyaml', 'packagevariantrollouthalted']),
    );
  });

  it('cover the alerts operators asked for, with the metrics they need', () => {
    const byName = new Map(alerts().map((r) => [r.alert!, r.expr]));
    expect(byName.get('PackageVariantControllerNoLeader')).toContain('leader_election_master_status');
    expect(byName.get('PackageVariantRolloutHalted')).toContain('packagevariant_set_rollout_halted');
    expect(byName.get('PackageVariantConflictsWaiting')).toContain('packagevariant_variants_conflicted');
    expect(byName.get('PackageVariantRenderFailures')).toContain('packagevariant_renders_total{result="failure"}');
    expect(byName.get('PackageVariantControllerDown')).toMatch(/up\{[^}]*\} == 0\s+or\s+absent\(up\{/);
  });
});
