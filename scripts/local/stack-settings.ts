import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createS3Client, S3ObjectStore } from '../../src/store/s3-store.ts';

/** What `npm start` writes to `.local/stack.json` for other tools to find the local stack. */
export interface StackSettings {
  apiUrl: string;
  s3: LocalS3Settings;
}

export interface LocalS3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export const STACK_FILE = 'stack.json';

/** Reads `<stateDir>/stack.json`; undefined when no local stack has written one. */
export async function readStackSettings(stateDir: string): Promise<StackSettings | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, STACK_FILE), 'utf8')) as StackSettings;
  } catch {
    return undefined;
  }
}

/** A store on the local stack's bucket, configured as the local S3 server needs (path style). */
export function openLocalStore(settings: LocalS3Settings): S3ObjectStore {
  const { endpoint, bucket, region, accessKeyId, secretAccessKey } = settings;
  const client = createS3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  return new S3ObjectStore({ client, bucket });
}
