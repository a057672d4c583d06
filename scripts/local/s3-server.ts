import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';

/** Credentials the local S3-compatible server accepts (it does not check signatures' owners). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface LocalS3 {
  endpoint: string;
  port: number;
  server: S3rver;
  close(): Promise<void>;
}

/** Starts the embedded S3-compatible server on loopback, keeping its data in `directory`. */
export async function startLocalS3(options: {
  port: number;
  directory: string;
  buckets: string[];
}): Promise<LocalS3> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    server,
    close: () => server.close(),
  };
}
