import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createS3Client, type S3ClientOptions, S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';

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
export function openLocalStore(settings: LocalS3Settings, timeouts: StoreTimeouts = {}): S3ObjectStore {
  const { endpoint, bucket, region, accessKeyId, secretAccessKey } = settings;
  const client = createS3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    ...timeouts,
  });
  return new S3ObjectStore({ client, bucket });
}

/** Longer waits than the API's defaults, for CLIs that stream whole files. */
export type StoreTimeouts = Pick<S3ClientOptions, 'requestTimeoutMs' | 'socketTimeoutMs'>;

/** The target flags every CLI takes: a real bucket, or the local stack by default. */
export interface TargetFlags {
  bucket?: string;
  region?: string;
  endpoint?: string;
  'path-style'?: boolean;
  'state-dir'?: string;
}

/** Where a CLI works: `--bucket` with the usual AWS credential chain, else the local stack. */
export type CliTarget =
  | { kind: 'bucket'; store: S3ObjectStore; bucket: string; region: string }
  | { kind: 'local'; store: S3ObjectStore; bucket: string; stack: StackSettings; stateDir: string };

/**
 * Opens the CLI's target; `undefined` when no bucket was given and no local stack has written
 * `stack.json` in the state folder (the caller says how to fix that).
 */
export async function openCliTarget(
  flags: TargetFlags,
  defaultStateDir: string,
  timeouts: StoreTimeouts = {},
): Promise<CliTarget | undefined> {
  if (flags.bucket) {
    const region = flags.region ?? process.env.AWS_REGION ?? 'us-east-1';
    const client = createS3Client({
      region,
      endpoint: flags.endpoint,
      forcePathStyle: flags['path-style'] ?? false,
      ...timeouts,
    });
    return {
      kind: 'bucket',
      store: new S3ObjectStore({ client, bucket: flags.bucket }),
      bucket: flags.bucket,
      region,
    };
  }
  const stateDir = flags['state-dir'] ?? defaultStateDir;
  const stack = await readStackSettings(stateDir);
  if (!stack) return undefined;
  return {
    kind: 'local',
    store: openLocalStore(stack.s3, timeouts),
    bucket: stack.s3.bucket,
    stack,
    stateDir,
  };
}
