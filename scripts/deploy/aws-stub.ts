/**
 * A loopback stand-in for the two AWS calls `serverless package` makes, so that packaging works
 * with no AWS account and no network (docs/deploy.md, "Package, deploy, remove"):
 *
 * - CloudFormation `DescribeStacks`: osls asks it when the service has `layers:`, to reuse an
 *   unchanged layer. The stub answers as CloudFormation does for a stack that was never deployed,
 *   a 400 `ValidationError` "Stack with id … does not exist" in the AWS Query XML error format.
 * - STS `GetCallerIdentity`: resolves `${aws:accountId}` (the default bucket name) to a fixed
 *   placeholder account.
 *
 * Anything else is answered with a 400 error naming the action, so an unexpected call fails the
 * packaging loudly instead of hanging on a real endpoint.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The account `${aws:accountId}` resolves to while packaging offline. */
export const OFFLINE_ACCOUNT_ID = '123456789012';

/** Credentials that look real to the SDK; nothing accepts them. */
export const OFFLINE_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIAOFFLINEPACKAGING',
  AWS_SECRET_ACCESS_KEY: 'offline-packaging-secret-key-not-valid-anywhere',
} as const;

const CLOUDFORMATION_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** Requests bodies larger than this are refused: the two calls answered here are tiny. */
const MAX_REQUEST_BYTES = 64 * 1024;

export interface AwsStubCall {
  action: string;
  params: Record<string, string>;
}

export interface AwsStub {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_CLOUDFORMATION` and `_STS`. */
  endpoint: string;
  /** Every call received, in order. */
  calls: AwsStubCall[];
  /** Environment for a child process that should reach this stub instead of AWS. */
  environment(): Record<string, string>;
  close(): Promise<void>;
}

/** A stub's answer: status, and an XML body. */
export interface StubResponse {
  status: number;
  body: string;
}

/**
 * Answers one AWS Query call. Pure, so it can be tested without a server.
 *
 * @example
 * ```ts
 * answerQuery({ action: 'DescribeStacks', params: { StackName: 'onnx-serve-dev' } }).status; // 400
 * ```
 */
export function answerQuery(call: AwsStubCall, requestId: string = randomUUID()): StubResponse {
  if (call.action === 'DescribeStacks') {
    const stack = call.params.StackName ?? '';
    return queryError(
      400,
      CLOUDFORMATION_NS,
      'ValidationError',
      `Stack with id ${stack} does not exist`,
      requestId,
    );
  }
  if (call.action === 'GetCallerIdentity') {
    return {
      status: 200,
      body: [
        `<GetCallerIdentityResponse xmlns="${STS_NS}">`,
        '<GetCallerIdentityResult>',
        `<Arn>arn:aws:iam::${OFFLINE_ACCOUNT_ID}:user/offline-packaging</Arn>`,
        '<UserId>AIDAOFFLINEPACKAGING</UserId>',
        `<Account>${OFFLINE_ACCOUNT_ID}</Account>`,
        '</GetCallerIdentityResult>',
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`,
        '</GetCallerIdentityResponse>',
      ].join(''),
    };
  }
  return queryError(
    400,
    CLOUDFORMATION_NS,
    'InvalidAction',
    `offline packaging stub: ${call.action || '(no Action)'} is not available without AWS`,
    requestId,
  );
}

/** Parses an AWS Query request body (`Action=…&Version=…&…`). */
export function parseQuery(body: string): AwsStubCall {
  const params = Object.fromEntries(new URLSearchParams(body));
  const { Action: action = '', ...rest } = params;
  return { action, params: rest };
}

/** Starts the stub on an ephemeral loopback port. */
export async function startAwsStub(): Promise<AwsStub> {
  const calls: AwsStubCall[] = [];
  const server = createServer((request, response) => {
    handle(request, response, calls).catch((error: unknown) => {
      response.statusCode = 500;
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    calls,
    environment: () => ({
      AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
      AWS_ENDPOINT_URL_STS: endpoint,
    }),
    close: () => closeServer(server),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  calls: AwsStubCall[],
): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) {
      response.writeHead(413).end();
      return;
    }
    chunks.push(chunk as Buffer);
  }
  const call = parseQuery(Buffer.concat(chunks).toString('utf8'));
  calls.push(call);
  const { status, body } = answerQuery(call);
  response.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function queryError(
  status: number,
  namespace: string,
  code: string,
  message: string,
  requestId: string,
): StubResponse {
  return {
    status,
    body: [
      `<ErrorResponse xmlns="${namespace}">`,
      `<Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`,
      `<RequestId>${requestId}</RequestId>`,
      '</ErrorResponse>',
    ].join(''),
  };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
