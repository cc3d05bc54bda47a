// pvctl render DIR: the Kptfile pipelines of a package directory, as `kpt fn render` runs them,
// in place or into --output DIR; results printed; exit 1 when the render fails.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  readPackageDirWithModes,
  updatePackageDir,
  writePackageDir,
  type PackageModes,
} from '../../lib/kpt/package.ts';
import { renderPackage, type RenderOutcome } from '../../lib/fn/index.ts';
import { stopWasmRuntime } from '../../lib/fn/runtimes/wasm.ts';
import { addRenderOptions, renderOptionsFrom, type RenderFlagOptions } from '../render-options.ts';

export interface RenderCommandOptions extends RenderFlagOptions {
  output?: string;
  writeRenderStatus?: boolean;
}

/** The results as kpt prints them: one block per function, its results and stderr. */
export function formatResults(outcome: RenderOutcome): string[] {
  const lines: string[] = [];
  outcome.results.items.forEach((item, i) => {
    const failed = item.exitCode !== 0 || (outcome.error !== undefined && i === outcome.results.items.length - 1);
    lines.push(`[${failed ? 'FAIL' : 'PASS'}] ${JSON.stringify(item.image ?? item.exec)}`);
    if (item.results?.length) {
      lines.push('  [Results]:');
      for (const r of item.results) {
        const ref = r.resourceRef
          ? [r.resourceRef.apiVersion, r.resourceRef.kind, r.resourceRef.namespace, r.resourceRef.name]
              .filter(Boolean)
              .join('/')
          : '';
        lines.push(
          `    [${r.severity ?? 'info'}]${ref ? ` ${ref}` : ''}${r.field?.path ? ` ${r.field.path}` : ''}: ${r.message}`,
        );
      }
    }
    if (item.stderr) {
      lines.push('  Stderr:');
      for (const line of item.stderr.split('\n')) lines.push(`    ${JSON.stringify(line)}`);
    }
    if (item.exitCode !== 0) lines.push(`  Exit code: ${item.exitCode}`);
  });
  return lines;
}

/** Runs `pvctl render`; returns the exit code (0 rendered, 1 render failed or bad input). */
export async function runRender(
  dir: string,
  options: RenderCommandOptions,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    err(`pvctl render: ${dir} is not a directory`);
    return 1;
  }
  const runtimes = renderOptionsFrom(options);
  if (options.output !== undefined && existsSync(options.output) && resolve(options.output) !== resolve(dir)) {
    err(`pvctl render: --output ${options.output} already exists`);
    return 1;
  }
  const { files, modes } = readPackageDirWithModes(dir);
  const outcome = await renderPackage(files, {
    ...runtimes,
    execDir: resolve(dir),
    ...(options.writeRenderStatus ? { writeRenderStatus: true } : {}),
  });
  stopWasmRuntime();
  for (const line of formatResults(outcome)) out(line);
  // files the render deleted lose their modes; new files are plain
  const after: PackageModes = new Map(
    [...modes].filter(([path, m]) => m.kind !== 'executable' || outcome.files.has(path)),
  );
  if (outcome.error !== undefined) {
    err(`pvctl render: ${outcome.error}`);
    if (options.writeRenderStatus && options.output === undefined)
      updatePackageDir(dir, files, outcome.files, { before: modes, after });
    return 1;
  }
  if (options.output !== undefined) writePackageDir(options.output, outcome.files, after);
  else updatePackageDir(dir, files, outcome.files, { before: modes, after });
  out(`Successfully executed ${outcome.results.items.length} function(s).`);
  return 0;
}

export function registerRender(program: Command): void {
  addRenderOptions(program.command('render'))
    .description(
      'run the Kptfile pipelines of a package (as kpt fn render): built-in functions, allowed executables, optional container runtime',
    )
    .argument('<dir>', 'package directory (rendered in place unless --output)')
    .option('--output <dir>', 'write the rendered package here (a new directory) instead of in place')
    .option('--write-render-status', "write kpt's render status (status.renderStatus) into the Kptfile")
    .action(async (dir: string, options: RenderCommandOptions) => {
      process.exitCode = await runRender(
        dir,
        options,
        (line) => console.log(line),
        (line) => console.error(line),
      );
    });
}
