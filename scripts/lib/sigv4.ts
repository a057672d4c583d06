/**
 * SigV4 signing of HTTP requests to an IAM-authorised API (API Gateway's `execute-api`), with the
 * AWS SDK's own signer (`@smithy/signature-v4`) and the usual credential chain.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, SourceData } from '@smithy/types';

/** SHA-256 (or HMAC-SHA256 with a secret) in the checksum shape the signer takes, on Node's crypto. */
class NodeSha256 {
  readonly #secret: Uint8Array | string | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret === undefined ? undefined : bytesOf(secret);
    this.#hash = this.#fresh();
  }

  #fresh(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
  }

  update(data: SourceData): void {
    this.#hash.update(bytesOf(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#fresh();
  }
}

function bytesOf(data: SourceData): Uint8Array | string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export interface SignOptions {
  region: string;
  /** `execute-api` for API Gateway. */
  service: string;
  /** Default: the AWS credential chain (environment, profile, SSO, instance role…). */
  credentials?: AwsCredentialIdentity;
  /** Signing time (default now); a signature is valid for 15 minutes. */
  date?: Date;
}

/**
 * The headers to send with a request so that an IAM-authorised API accepts it: the given ones,
 * plus `authorization`, `x-amz-date`, `x-amz-content-sha256` and, with temporary credentials,
 * `x-amz-security-token`. `host` is signed but not returned (the HTTP client sets it).
 *
 * @example
 * ```ts
 * const headers = await signRequest('POST', new URL(url), body, { region: 'eu-west-1', service: 'execute-api' });
 * await fetch(url, { method: 'POST', body, headers });
 * ```
 */
export async function signRequest(
  method: 'GET' | 'POST',
  url: URL,
  body: string | Uint8Array,
  options: SignOptions,
  headers: Record<string, string> = {},
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    credentials: options.credentials ?? defaultProvider(),
    region: options.region,
    service: options.service,
    sha256: NodeSha256,
  });
  const request = {
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port === '' ? undefined : Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: {
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      ...headers,
      host: url.host,
      'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
    },
    body,
  };
  const signed = await signer.sign(request, { signingDate: options.date });
  const { host: _host, ...rest } = signed.headers;
  return rest;
}
