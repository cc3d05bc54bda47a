// Command-line options of the benchmark scripts: `--help` prints the script's leading comment (its
// usage), and an unknown or malformed option names itself and exits 2 instead of a stack trace.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The `//` comment block a script starts with, without the comment markers. */
export function usageOf(source: string): string {
  const lines: string[] = [];
  for (const line of source.split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n');
}

/** Parses process.argv for the script at `scriptUrl` (its `import.meta.url`). */
export function benchArgs<T extends Options>(scriptUrl: string, options: T) {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usageOf(readFileSync(new URL(scriptUrl), 'utf8')));
    process.exit(0);
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: false });
  } catch (error) {
    console.error(`${(error as Error).message}\nRun with --help for the options.`);
    process.exit(2);
  }
}
