/**
 * Requests with binary tensor data for the benchmarks: the API Gateway event a client's binary
 * request becomes (base64 body, `inference-header-content-length`), and the decode/encode cost of
 * the binary path for a payload (section 2).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as ortNode from 'onnxruntime-node';
import {
  attachBinaryInputs,
  BINARY_HEADER,
  encodeBinaryResponse,
  splitBinaryBody,
} from '../../src/codec/binary.ts';
import { decodeInputs } from '../../src/codec/decode.ts';
import { encodeOutputs } from '../../src/codec/encode.ts';
import { parseInferenceRequest, parseJsonBody } from '../../src/codec/parse-request.ts';
import type { TensorSpec } from '../../src/types.ts';
import { summarize } from './common.ts';
import type { Row } from './report.ts';

/** A request body whose one FP32 input travels as bytes, every output asked for as bytes. */
export function binaryRequestBody(
  input: string,
  shape: readonly number[],
  data: Float32Array,
): { body: Buffer; jsonLength: number } {
  const json = Buffer.from(
    JSON.stringify({
      inputs: [{ name: input, shape, datatype: 'FP32', parameters: { binary_data_size: data.byteLength } }],
      parameters: { binary_data_output: true },
    }),
  );
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { body: Buffer.concat([json, bytes]), jsonLength: json.byteLength };
}

/** The API Gateway v2 event of a binary request: API Gateway base64-encodes non-text bodies. */
export function binaryEvent(
  base: APIGatewayProxyEventV2,
  body: Buffer,
  jsonLength: number,
): APIGatewayProxyEventV2 {
  return {
    ...base,
    headers: {
      ...base.headers,
      'content-type': 'application/octet-stream',
      [BINARY_HEADER]: String(jsonLength),
    },
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

/**
 * Section 2, binary path: what the server does with a binary request (base64 decode as from
 * API Gateway, split, JSON part parsed, bytes checked and copied into the tensor) and a binary
 * response (bytes after the JSON part, base64-encoded for API Gateway), per request.
 */
export function binaryPayloadSpeed(
  spec: TensorSpec,
  shape: readonly number[],
  data: Float32Array,
  repeats: number,
): { rows: Row[]; decodeMs: number; encodeMs: number } {
  const { body, jsonLength } = binaryRequestBody(spec.name, shape, data);
  const base64 = body.toString('base64');
  const tensor = new ortNode.Tensor('float32', data, [...shape]);
  const decodeTimes: number[] = [];
  const encodeTimes: number[] = [];
  for (let i = 0; i < repeats + 2; i++) {
    let t = performance.now();
    const bytes = Buffer.from(base64, 'base64');
    const { json, binary } = splitBinaryBody(bytes, String(jsonLength));
    const request = parseInferenceRequest(parseJsonBody(new TextDecoder().decode(json)));
    attachBinaryInputs(request, binary);
    const feeds = decodeInputs(request.inputs, [spec]);
    const decoded = performance.now() - t;
    if (feeds[spec.name]?.size !== data.length) throw new Error('binary decode lost elements');
    t = performance.now();
    const results = { out: tensor };
    const response = { model_name: 'bench', id: 'bench', outputs: encodeOutputs(results) };
    const encodedResponse = encodeBinaryResponse(response, new Set(['out']), results);
    const wire = Buffer.concat([Buffer.from(encodedResponse.json), encodedResponse.binary]).toString(
      'base64',
    );
    const encoded = performance.now() - t;
    if (wire.length < data.byteLength) throw new Error('binary encode lost bytes');
    if (i >= 2) {
      decodeTimes.push(decoded);
      encodeTimes.push(encoded);
    }
  }
  const d = summarize(decodeTimes);
  const e = summarize(encodeTimes);
  const mb = body.byteLength / 1e6;
  return {
    rows: [
      {
        section: '2 payload',
        what: `binary decode, same tensor (${mb.toFixed(2)} MB body, ${(base64.length / 1e6).toFixed(2)} MB as base64 in the event)`,
        ours: { summary: summarize(decodeTimes.map((ms) => mb / (ms / 1000))), unit: 'MB/s' },
        note: `${d.median.toFixed(2)} ms per request`,
      },
      {
        section: '2 payload',
        what: 'binary encode, same tensor as an output (base64 for the Lambda response)',
        ours: { summary: summarize(encodeTimes.map((ms) => mb / (ms / 1000))), unit: 'MB/s' },
        note: `${e.median.toFixed(2)} ms per response`,
      },
    ],
    decodeMs: d.median,
    encodeMs: e.median,
  };
}
