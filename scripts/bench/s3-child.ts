/**
 * The bench's S3-compatible server in a process of its own. S3 is remote on AWS: run in the
 * bench's own process, the server's request handling (MD5 of every upload, file writes) would
 * share the JavaScript thread of whatever the bench times there (a batch run scored in the bench
 * process), and its cost would count as the product's. Here it still shares the machine's cores.
 * Arguments: the data directory and the bucket; answers `{ endpoint }` over IPC once listening.
 */
import { startLocalS3 } from '../local/s3-server.ts';

const [directory, bucket] = process.argv.slice(2);
if (directory === undefined || bucket === undefined)
  throw new Error('usage: s3-child.ts <directory> <bucket>');
// The bench ends this process by closing its IPC channel (or by exiting): watched from the start,
// so that a bench that died while the server started does not leave it listening.
let stop: () => void = () => process.exit(0);
process.on('disconnect', () => stop());
const s3 = await startLocalS3({ port: 0, directory, buckets: [bucket] });
stop = () => {
  s3.close().finally(() => process.exit(0));
};
if (!process.connected) stop();
else process.send?.({ endpoint: s3.endpoint });
