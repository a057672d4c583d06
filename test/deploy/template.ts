/**
 * Reading a packaged CloudFormation template in tests: resources by type, IAM statements, and
 * intrinsic functions rendered as text (`{ "Fn::GetAtt": ["B", "Arn"] }` → `${B.Arn}`), so that
 * assertions compare plain strings.
 */
import { readFile } from 'node:fs/promises';

export interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: string;
}

export interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
  Conditions?: Record<string, unknown>;
}

export async function readTemplate(file: string): Promise<Template> {
  return JSON.parse(await readFile(file, 'utf8')) as Template;
}

/** The resource with this logical id; fails naming it when absent. */
export function resource(template: Template, logicalId: string, type?: string): Resource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`template has no resource ${logicalId}`);
  if (type !== undefined && found.Type !== type) {
    throw new Error(`${logicalId} is a ${found.Type}, expected ${type}`);
  }
  return found;
}

export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, value]) => value.Type === type);
}

export function props(value: Resource): Record<string, unknown> {
  return value.Properties ?? {};
}

/** Reads a nested property: `at(x, 'A', 0, 'B')`; undefined when any step is missing. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/**
 * Renders a value with CloudFormation intrinsics as text: `Ref` → `${X}`, `Fn::GetAtt` →
 * `${X.Attr}`, `Fn::Sub` → its string (with `${…}` left as written), `Fn::Join` → the joined parts.
 */
export function render(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    if ('Ref' in object) return `\${${String(object.Ref)}}`;
    if ('Fn::GetAtt' in object) {
      const target = object['Fn::GetAtt'];
      return `\${${Array.isArray(target) ? target.join('.') : String(target)}}`;
    }
    if ('Fn::Sub' in object) {
      const sub = object['Fn::Sub'];
      return Array.isArray(sub) ? String(sub[0]) : String(sub);
    }
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** A value or a list of values, as a list. */
export function list<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Principal?: unknown;
}

/** A statement with where it comes from. */
export interface LocatedStatement {
  /** `HttpRole/http#ReadModels` */
  origin: string;
  statement: Statement;
}

/** Every statement of the identity policies in the template (roles' inline and attached policies). */
export function identityStatements(template: Template): LocatedStatement[] {
  const found: LocatedStatement[] = [];
  for (const [id, value] of Object.entries(template.Resources)) {
    const policies: { name: string; document: unknown }[] = [];
    if (value.Type === 'AWS::IAM::Role') {
      for (const policy of list(props(value).Policies as unknown[] | undefined)) {
        policies.push({ name: render(at(policy, 'PolicyName')), document: at(policy, 'PolicyDocument') });
      }
    } else if (value.Type === 'AWS::IAM::Policy' || value.Type === 'AWS::IAM::ManagedPolicy') {
      policies.push({ name: id, document: props(value).PolicyDocument });
    }
    for (const { name, document } of policies) {
      list(at(document, 'Statement') as Statement[] | undefined).forEach((statement, index) => {
        found.push({ origin: `${id}/${name}#${statement.Sid ?? index}`, statement });
      });
    }
  }
  return found;
}

/** The rendered resources of a statement. */
export function statementResources(statement: Statement): string[] {
  return list(statement.Resource as unknown[] | unknown).map(render);
}

export function statementActions(statement: Statement): string[] {
  return list(statement.Action);
}
