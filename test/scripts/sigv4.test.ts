/**
 * The load tool's SigV4 signing (the SDK's signer) checked against an independent computation of
 * the signature from the AWS Signature Version 4 specification, on fixed credentials and time.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { signRequest } from '../../scripts/lib/sigv4.ts';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const date = new Date('2015-08-30T12:36:00Z');

/** The signature the specification gives for these headers (all of them signed). */
function expectedSignature(method: string, url: URL, headers: Record<string, string>, body: string): string {
  const sha = (data: string) => createHash('sha256').update(data).digest('hex');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const canonical = [
    method,
    url.pathname,
    '',
    ...names.map((h) => `${h}:${lower[h]}`),
    '',
    names.join(';'),
    sha(body),
  ].join('\n');
  const scope = '20150830/us-east-1/execute-api/aws4_request';
  const toSign = ['AWS4-HMAC-SHA256', '20150830T123600Z', scope, sha(canonical)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, '20150830');
  for (const part of ['us-east-1', 'execute-api', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('SigV4 signing of load-test requests', () => {
  for (const [method, body] of [
    ['GET', ''],
    ['POST', '{"inputs":[]}'],
  ] as const) {
    it(`signs a ${method} as the specification computes it`, async () => {
      const url = new URL('https://abc123.execute-api.us-east-1.amazonaws.com/v2/models/iris/infer');
      const headers = await signRequest(method, url, body, {
        region: 'us-east-1',
        service: 'execute-api',
        credentials,
        date,
      });
      const authorization = headers.authorization ?? '';
      const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
      assert.ok(signedNames.includes('host') && signedNames.includes('x-amz-date'), authorization);
      assert.equal(headers['x-amz-date'], '20150830T123600Z');
      const signedHeaders: Record<string, string> = { host: url.host };
      for (const name of signedNames) if (name !== 'host') signedHeaders[name] = headers[name] ?? '';
      const signature = /Signature=([0-9a-f]{64})/.exec(authorization)?.[1];
      assert.equal(signature, expectedSignature(method, url, signedHeaders, body));
      assert.match(
        authorization,
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/us-east-1\/execute-api\/aws4_request, /,
      );
    });
  }

  it('changes the signature when the body changes', async () => {
    const url = new URL('https://abc123.execute-api.us-east-1.amazonaws.com/v2/models/iris/infer');
    const options = { region: 'us-east-1', service: 'execute-api', credentials, date };
    const a = await signRequest('POST', url, '{"inputs":[1]}', options);
    const b = await signRequest('POST', url, '{"inputs":[2]}', options);
    assert.notEqual(a.authorization, b.authorization);
  });
});
