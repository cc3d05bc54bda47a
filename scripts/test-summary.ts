// Prints the closing line CI reads, `N passed, N failed`, from Jest's --json result file.
import { readFileSync } from 'node:fs';

interface JestResults {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numRuntimeErrorTestSuites: number;
}

const file = process.argv[2] ?? '.test-results.json';
let results: JestResults;
try {
  results = JSON.parse(readFileSync(file, 'utf8')) as JestResults;
} catch {
  console.log('0 passed, 1 failed');
  console.error(`test-summary: no Jest results in ${file}`);
  process.exit(1);
}
// A suite that fails to load runs no test; count it as a failure so it cannot pass silently.
const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
const skipped = results.numPendingTests ? `, ${results.numPendingTests} skipped` : '';
console.log(`${results.numPassedTests} passed, ${failed} failed${skipped}`);
