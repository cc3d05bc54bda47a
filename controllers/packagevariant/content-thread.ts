// A content thread (see content-threads.ts): runs the content pipeline for each task it is sent.
import { serveThread } from '../../lib/threads/pool.ts';
import { computeContent } from './content.ts';
import { describeError, receiveTask, sendContent, type WireContent, type WireTask } from './content-threads.ts';

serveThread<WireTask, WireContent>(async (task) => {
  const { input, options } = receiveTask(task);
  return sendContent(await computeContent(input, options), input);
}, describeError);
