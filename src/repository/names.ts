import { BadRequestError } from '../errors.ts';

/** Model names as the repository layout allows them (docs/model-repository.md); `..` is rejected separately. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const MAX_MODEL_NAME_LENGTH = 128;

/**
 * Version aliases (`stable`, `canary`, `v2.1`). They start with a letter so that they can never
 * be confused with a version number.
 */
export const ALIAS_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const MAX_ALIAS_LENGTH = 64;

/** Largest version number: beyond it, versions would no longer round-trip through a JS number. */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/** How a request selects a version of a model. */
export type VersionSelector =
  | { kind: 'default' }
  | { kind: 'number'; version: number }
  | { kind: 'alias'; alias: string };

/**
 * Throws `BadRequestError` unless `name` is a valid model name. Called before anything touches the
 * store, so a hostile name (`..`, `%2e%2e`, slashes) never becomes part of an S3 key.
 *
 * @example
 * ```ts
 * assertModelName('iris-v2'); // ok
 * assertModelName('../etc');  // throws BadRequestError: model name must not contain '..'
 * ```
 */
export function assertModelName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new BadRequestError('model name must not be empty');
  }
  if (name.length > MAX_MODEL_NAME_LENGTH) {
    throw new BadRequestError(
      `model name is ${name.length} characters long; at most ${MAX_MODEL_NAME_LENGTH} are allowed`,
    );
  }
  if (name.includes('..')) {
    throw new BadRequestError("model name must not contain '..'");
  }
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new BadRequestError(
      `model name must start with a letter or digit and contain only letters, digits, '_', '.' and '-'; ` +
        `found ${describeCharacter(name, /^[A-Za-z0-9]$/, /^[A-Za-z0-9_.-]$/)}`,
    );
  }
}

/**
 * Parses the `{version}` path segment. `undefined` (no version in the URL) selects the default
 * policy; digits select a version number; anything alias-like selects an alias.
 *
 * @example
 * ```ts
 * parseVersionSelector(undefined); // { kind: 'default' }
 * parseVersionSelector('3');       // { kind: 'number', version: 3 }
 * parseVersionSelector('stable');  // { kind: 'alias', alias: 'stable' }
 * parseVersionSelector('007');     // throws BadRequestError
 * ```
 */
export function parseVersionSelector(version: string | undefined): VersionSelector {
  if (version === undefined) return { kind: 'default' };
  if (version.length === 0) throw new BadRequestError('version must not be empty');
  if (/^[0-9]+$/.test(version)) {
    return { kind: 'number', version: parseVersionNumber(version) };
  }
  if (version.length > MAX_ALIAS_LENGTH) {
    throw new BadRequestError(
      `version alias is ${version.length} characters long; at most ${MAX_ALIAS_LENGTH} are allowed`,
    );
  }
  if (ALIAS_PATTERN.test(version)) return { kind: 'alias', alias: version };
  throw new BadRequestError(
    `version must be a positive integer or an alias (a letter, then letters, digits, '_', '.' or '-'); ` +
      `found ${describeCharacter(version, /^[A-Za-z]$/, /^[A-Za-z0-9_.-]$/)}`,
  );
}

/**
 * The version a folder name stands for, or `undefined` when it is not a canonical version folder.
 *
 * @example
 * ```ts
 * versionOfFolder('12');  // 12
 * versionOfFolder('012'); // undefined: `models/x/12/model.onnx` is the only key for version 12
 * ```
 */
export function versionOfFolder(folder: string): number | undefined {
  return /^[1-9][0-9]{0,15}$/.test(folder) && Number(folder) <= MAX_VERSION ? Number(folder) : undefined;
}

/**
 * True for a positive integer the repository can hold as a version.
 *
 * @example
 * ```ts
 * isVersionNumber(3);   // true
 * isVersionNumber(1.5); // false
 * ```
 */
export function isVersionNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function parseVersionNumber(digits: string): number {
  if (digits.length > 1 && digits.startsWith('0')) {
    throw new BadRequestError(`version '${digits.slice(0, 20)}' must not have leading zeros`);
  }
  if (/^0+$/.test(digits)) {
    throw new BadRequestError('version must be a positive integer; 0 is not a version');
  }
  const version = Number(digits);
  if (digits.length > 16 || version > MAX_VERSION) {
    throw new BadRequestError(`version is too large; the largest version is ${MAX_VERSION}`);
  }
  return version;
}

/**
 * Names what is wrong without echoing the whole input: the first character that is not allowed,
 * with its code point, so that look-alikes (Cyrillic 'а') and invisible characters are plain.
 */
function describeCharacter(value: string, first: RegExp, rest: RegExp): string {
  const characters = [...value];
  const index = characters.findIndex((character, at) => !(at === 0 ? first : rest).test(character));
  const character = characters[index];
  if (character === undefined) return 'an invalid value';
  const hex = (character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  return `${JSON.stringify(character)} (U+${hex}) at position ${index + 1}`;
}
