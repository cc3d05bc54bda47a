// A content thread (see content-threads.ts): runs the content pipeline for each task it is sent.
import { FileReceiver } from '../../lib/threads/packages.ts';
import { serveThread } from '../../lib/threads/pool.ts';
import { computeContent } from './content.ts';
import { describeError, receiveTask, sendContent, type WireContent, type WireTask } from './content-threads.ts';

const receiver = new FileReceiver();

serveThread<WireTask, WireContent>(async (task) => {
  const { input, options } = receiveTask(task, receiver);
  return sendContent(await computeContent(input, options), input);
}, describeError);
