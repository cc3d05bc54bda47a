// A worker for pool.test.ts: doubles numbers, names its thread on 'who', throws on 'throw', dies on
// 'exit', waits on 'hang'.
import { threadId } from 'node:worker_threads';
import { serveThread } from '../pool.ts';

serveThread<number | 'who' | 'throw' | 'exit' | 'hang', number>(
  async (task) => {
    if (task === 'who') return { value: threadId };
    if (task === 'throw') throw new RangeError('asked to throw');
    if (task === 'exit') process.exit(3);
    if (task === 'hang') await new Promise(() => setInterval(() => {}, 1000));
    return { value: (task as number) * 2 };
  },
  (error) => ({ name: (error as Error).name, message: (error as Error).message }),
);
