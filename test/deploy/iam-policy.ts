/**
 * Least-privilege rules for the identity policies of the stack. Each violation is one line naming
 * the statement and what is wrong; an empty list means the policies pass.
 *
 * Rules, for every `Allow` statement:
 * - no wildcard in an action (`*`, `s3:*`, `s3:Get*`), no `NotAction`, no `NotResource`;
 * - no resource that is `*` or a whole resource type (`…:function:*`, `…:log-group:*`);
 * - S3 object actions are scoped to a key prefix of a bucket, never to a whole bucket (`bucket/*`);
 * - `s3:ListBucket` carries an `s3:prefix` condition.
 * `Deny` statements may be as broad as they like (the bucket's TLS-only policy denies `s3:*`).
 */
import { type LocatedStatement, type Statement, statementActions, statementResources } from './template.ts';

/** S3 actions on objects (their resource is `arn:aws:s3:::bucket/key`). */
const S3_OBJECT_ACTIONS = new Set([
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectAttributes',
  's3:GetObjectTagging',
  's3:PutObject',
  's3:PutObjectTagging',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
  's3:RestoreObject',
]);

export function findPolicyViolations(statements: readonly LocatedStatement[]): string[] {
  const violations: string[] = [];
  for (const { origin, statement } of statements) {
    if (statement.Effect !== 'Allow') continue;
    for (const problem of statementProblems(statement)) violations.push(`${origin}: ${problem}`);
  }
  return violations;
}

function statementProblems(statement: Statement): string[] {
  const problems: string[] = [];
  if (statement.NotAction !== undefined) problems.push('NotAction in an Allow statement');
  if (statement.NotResource !== undefined) problems.push('NotResource in an Allow statement');
  const actions = statementActions(statement);
  const resources = statementResources(statement);
  if (actions.length === 0) problems.push('no Action');
  if (resources.length === 0) problems.push('no Resource');
  for (const action of actions) {
    if (action.includes('*')) problems.push(`wildcard action ${action}`);
  }
  for (const resource of resources) {
    if (isUnscoped(resource)) problems.push(`unscoped resource ${resource}`);
  }
  const objectActions = actions.filter((action) => S3_OBJECT_ACTIONS.has(action));
  if (objectActions.length > 0) {
    for (const resource of resources) {
      if (!hasKeyPrefix(resource)) {
        problems.push(`${objectActions.join(', ')} on ${resource}: not limited to a key prefix`);
      }
    }
  }
  if (actions.includes('s3:ListBucket') && statement.Condition?.StringLike?.['s3:prefix'] === undefined) {
    problems.push('s3:ListBucket without an s3:prefix condition');
  }
  return problems;
}

/** `*`, or an ARN whose resource part is only a type and a wildcard (`function:*`, `table/*`). */
function isUnscoped(resource: string): boolean {
  if (resource === '*') return true;
  if (!resource.startsWith('arn:')) return false;
  const resourcePart = arnParts(resource).slice(5).join(':');
  return resourcePart === '*' || /^[A-Za-z-]+[:/]\*$/.test(resourcePart);
}

/**
 * Whether an S3 object resource names a key prefix (`${Bucket.Arn}/models/…`,
 * `arn:aws:s3:::b/models/…`) rather than a whole bucket (`${Bucket.Arn}/…*`) or everything.
 */
function hasKeyPrefix(resource: string): boolean {
  let key: string | undefined;
  if (resource.startsWith('${')) {
    const end = resource.indexOf('}');
    key = end > 0 && resource[end + 1] === '/' ? resource.slice(end + 2) : undefined;
  } else if (resource.startsWith('arn:')) {
    const bucketAndKey = arnParts(resource).slice(5).join(':');
    const slash = bucketAndKey.indexOf('/');
    key = slash > 0 ? bucketAndKey.slice(slash + 1) : undefined;
  }
  return key !== undefined && key.length > 0 && !key.startsWith('*');
}

/** Splits an ARN at its colons, leaving `${AWS::Partition}`-style variables whole. */
function arnParts(arn: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  for (let i = 0; i < arn.length; i++) {
    const char = arn[i] as string;
    if (char === '$' && arn[i + 1] === '{') depth += 1;
    else if (char === '}' && depth > 0) depth -= 1;
    if (char === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}
