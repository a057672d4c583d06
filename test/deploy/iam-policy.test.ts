import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ref } from './expectations.ts';
import { findPolicyViolations } from './iam-policy.ts';
import type { LocatedStatement, Statement } from './template.ts';

const located = (statement: Statement): LocatedStatement[] => [{ origin: 'Role/policy#0', statement }];
const objects = (key: string) => ({ 'Fn::Sub': `${ref('ModelBucket.Arn')}/${key}` });

// The checker guards the deployment tests: each rule must catch what it names.
describe('least-privilege policy check', () => {
  it('passes prefix-scoped object actions and a prefix-conditioned ListBucket', () => {
    const statements: LocatedStatement[] = [
      {
        origin: 'HttpRole/http#Read',
        statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: objects('models/*') },
      },
      {
        origin: 'HttpRole/http#List',
        statement: {
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: { 'Fn::GetAtt': ['ModelBucket', 'Arn'] },
          Condition: { StringLike: { 's3:prefix': 'models/*' } },
        },
      },
      {
        origin: 'ModelEventsRole/x#Write',
        statement: {
          Effect: 'Allow',
          Action: ['s3:PutObject'],
          Resource: 'arn:aws:s3:::b/models/*/metadata.json',
        },
      },
      {
        origin: 'Bucket#Deny',
        statement: { Effect: 'Deny', Action: 's3:*', Resource: '*' },
      },
    ];

    assert.deepEqual(findPolicyViolations(statements), []);
  });

  const failing: [string, Statement, RegExp][] = [
    ['a "*" action', { Effect: 'Allow', Action: '*', Resource: objects('models/*') }, /wildcard action \*/],
    [
      'a service wildcard',
      { Effect: 'Allow', Action: 's3:*', Resource: objects('models/*') },
      /wildcard action s3:\*/,
    ],
    [
      'a prefix wildcard',
      { Effect: 'Allow', Action: ['s3:Get*'], Resource: objects('models/*') },
      /wildcard action/,
    ],
    [
      'an S3 data action on "*"',
      { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
      /unscoped resource \*/,
    ],
    [
      'an S3 data action on the whole bucket',
      { Effect: 'Allow', Action: 's3:PutObject', Resource: objects('*') },
      /not limited to a key prefix/,
    ],
    [
      'an S3 data action on a whole bucket ARN',
      { Effect: 'Allow', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::bucket/*' },
      /not limited to a key prefix/,
    ],
    [
      'ListBucket without a prefix condition',
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': ['ModelBucket', 'Arn'] } },
      /without an s3:prefix condition/,
    ],
    [
      'every function of the account',
      {
        Effect: 'Allow',
        Action: 'lambda:AddPermission',
        Resource: {
          'Fn::Sub': `arn:${ref('AWS::Partition')}:lambda:${ref('AWS::Region')}:${ref('AWS::AccountId')}:function:*`,
        },
      },
      /unscoped resource/,
    ],
    ['NotAction', { Effect: 'Allow', NotAction: 'iam:*', Resource: objects('x/*') }, /NotAction/],
    ['no resource at all', { Effect: 'Allow', Action: 'sqs:SendMessage' }, /no Resource/],
  ];
  for (const [name, statement, expected] of failing) {
    it(`fails ${name}`, () => {
      const violations = findPolicyViolations(located(statement));

      assert.ok(violations.length > 0, 'a violation');
      assert.match(violations.join('\n'), expected);
      assert.match(violations[0] ?? '', /^Role\/policy#0: /);
    });
  }
});
