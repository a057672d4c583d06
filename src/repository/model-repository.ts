import { ModelUnavailableError, NotFoundError, ServingError } from '../errors.ts';
import type {
  ObjectInfo,
  ObjectStore,
  ObjectStream,
  StoredObject,
  StreamingObjectStore,
} from '../ports/object-store.ts';
import { readValidationRecord, type ValidationRecord } from './metadata.ts';
import { type ModelConfig, parseModelConfig } from './model-config.ts';
import { METADATA_FILE } from './model-key.ts';
import { assertModelName, MODEL_NAME_PATTERN, type VersionSelector, versionOfFolder } from './names.ts';
import { primaryTarget, routeTraffic } from './traffic.ts';

export const MODELS_PREFIX = 'models/';
export const DEFAULT_REFRESH_INTERVAL_MS = 30_000;
/** Shortest gap between two out-of-turn refreshes of one model (see `resolve`). */
export const DEFAULT_MIN_REFRESH_INTERVAL_MS = 1_000;
/** A config.json larger than this is refused rather than downloaded. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** A metadata.json larger than this is not read (and the version counts as not validated). */
export const MAX_METADATA_BYTES = 1024 * 1024;
/** Models whose listing is remembered at once, found or not; the oldest are forgotten first. */
export const DEFAULT_MAX_CACHED_MODELS = 1_000;

/** A model version chosen for a request: what the loader needs, plus the model's config. */
export interface ResolvedModel {
  name: string;
  version: number;
  /** Object key of the model file, `models/{name}/{version}/model.onnx`. */
  key: string;
  /** ETag of the model file in the listing, so that a replaced file is reloaded. */
  etag?: string;
  /** Size of the model file in the listing (the loader reads large files in parallel parts). */
  size?: number;
  config: ModelConfig;
  /** Unknown fields of config.json, for a log line. */
  configWarnings: string[];
  /** The `traffic` target (version or alias) the request was routed to, when a split chose it. */
  routedTo?: string;
  /** Why the current config.json was refused (the previous one stays in force), for a log line and a metric. */
  configRejected?: string;
  /**
   * Median milliseconds of one-row runs measured by model validation, when the version has a
   * verdict for its current file (batch scoring estimates a file's duration from it).
   */
  validatedLatencyMs?: number;
}

/** How a request is routed when it names no version. */
export interface RouteOptions {
  /** The request id (or batch input key): the same key always reaches the same version of a split. */
  routingKey?: string;
}

export interface ModelRepositoryOptions {
  store: ObjectStore;
  /** How long a listing or config is trusted before the store is asked again (default 30 s). */
  refreshIntervalMs?: number;
  /** Floor between refreshes caused by a request for a version the listing lacks (default 1 s). */
  minRefreshIntervalMs?: number;
  maxCachedModels?: number;
  /** Milliseconds clock; injected by tests. */
  now?: () => number;
  /**
   * Serve a version only with a `valid` verdict of model validation for its current upload
   * (default true: fail closed). `false` serves versions nobody validated (buckets without the
   * validation function); versions found invalid are refused either way.
   */
  requireValidation?: boolean;
}

/** A version as the repository index shows it. */
export interface VersionState {
  version: number;
  /** Why validation refused the version. */
  invalidReason?: string;
  /** Why a version validation did not refuse is not served yet (no verdict for its upload). */
  pendingReason?: string;
}

/** Thrown for a version with no verdict of validation for its current upload (fail closed). */
export class ModelNotValidatedError extends ServingError {
  constructor(message: string) {
    super(503, 'ModelNotValidated', message, { headers: { 'retry-after': '5' } });
  }
}

/** One version folder holding a model.onnx. */
interface VersionEntry {
  version: number;
  key: string;
  etag?: string;
  size: number;
  /** The version's metadata.json (written by model validation), as listed. */
  metadata?: ObjectInfo;
}

/** A version's metadata.json as read, remembered by its ETag; `record` undefined: not a record. */
interface CachedValidation {
  etag?: string;
  record: ValidationRecord | undefined;
}

/** What the store said about one model at `fetchedAt`. */
interface ModelSnapshot {
  fetchedAt: number;
  /** When this snapshot was taken out of turn, for a version the previous one lacked. */
  forcedAt?: number;
  /** Anything at all under `models/{name}/`. */
  exists: boolean;
  versions: ReadonlyMap<number, VersionEntry>;
  /** The config in force: config.json as read, or the last good one when the new one was rejected. */
  config: ModelConfig;
  configWarnings: string[];
  /** config.json as read from the store (kept by its ETag). */
  file: ConfigRead;
  /** A broken config.json and no good one before it: the model cannot be served until it is fixed. */
  configError?: ModelUnavailableError;
  /** Why the current config.json was refused while the previous good one stays in force. */
  configRejected?: string;
  /** metadata.json of the versions read so far (read on first need, not with the listing). */
  validations: Map<number, CachedValidation>;
}

/** The validated latency of `entry`, when its verdict is about its current file. */
function latencyOf(snapshot: ModelSnapshot, entry: VersionEntry): { validatedLatencyMs?: number } {
  const record = snapshot.validations.get(entry.version)?.record;
  if (record?.latencyMs === undefined || record.status !== 'valid') return {};
  if (entry.etag !== undefined && record.etag !== undefined && record.etag !== entry.etag) return {};
  return { validatedLatencyMs: record.latencyMs };
}

/** config.json as read: parsed, or why not. */
interface ConfigRead {
  config: ModelConfig;
  warnings: string[];
  etag?: string;
  error?: ModelUnavailableError;
}

/** config.json as read next to the first listing: its body, absent, or why it could not be read. */
type EarlyConfig = { close(): void } & (
  | { body: Promise<StoredObject | undefined> }
  | { missing: true }
  | { error: unknown }
);

function isStreaming(store: ObjectStore): store is StreamingObjectStore {
  return typeof (store as Partial<StreamingObjectStore>).getStream === 'function';
}

/**
 * Reads an opened config.json whole, unless it is larger than `MAX_CONFIG_BYTES`: then it is
 * closed unread and counts as missing (the listing decides what that means). A failure while
 * reading surfaces where `body` is awaited.
 */
function earlyConfig(stream: ObjectStream): EarlyConfig {
  if (stream.size > MAX_CONFIG_BYTES) {
    stream.close();
    return { missing: true, close() {} };
  }
  const body = (async (): Promise<StoredObject> => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream.body) chunks.push(chunk);
    const { body: _stream, close: _close, ...info } = stream;
    return { ...info, body: Buffer.concat(chunks) };
  })();
  // Read as it arrives; an error is rethrown where `body` is awaited, never unhandled.
  body.catch(() => undefined);
  return { body, close: () => stream.close() };
}

type Choice =
  | { ok: true; entry: VersionEntry; routedTo?: string }
  | { ok: false; error: ServingError; refreshable: boolean };

/**
 * The model repository on an object store, in Triton's layout
 * (`models/{name}/{version}/model.onnx`, optional `models/{name}/config.json`).
 *
 * Listings and configs are cached for `refreshIntervalMs`, so a newly uploaded version becomes the
 * default within that delay without a restart; unknown names are cached the same way, so a
 * client asking again and again for a missing model does not reach the store each time. A request
 * naming a version the cached listing lacks refreshes that model at once (at most once per
 * `minRefreshIntervalMs`), so a version requested right after its upload is served immediately.
 * Store failures are never cached, and concurrent refreshes of one model share one request.
 *
 * Versions that model validation marked invalid (`models/{name}/{version}/metadata.json` with
 * `status: 'invalid'` for the listed model file's ETag) are never served: the default policy
 * falls back to the highest other valid version, and any other request for one gets a 422
 * naming the reason. A version without metadata.json (not validated yet) is served. A version's
 * metadata.json is read the first time that version is chosen and then kept by its ETag, so it
 * costs no request per inference.
 *
 * @example
 * ```ts
 * const repository = new ModelRepository({ store, refreshIntervalMs: 30_000 });
 * const ref = await repository.resolve('iris', parseVersionSelector(undefined));
 * // { name: 'iris', version: 3, key: 'models/iris/3/model.onnx', config: { … }, … }
 * ```
 */
export class ModelRepository {
  readonly #store: ObjectStore;
  readonly #ttl: number;
  readonly #minRefresh: number;
  readonly #maxCached: number;
  readonly #now: () => number;
  readonly #requireValidation: boolean;
  readonly #snapshots = new Map<string, ModelSnapshot>();
  readonly #refreshing = new Map<string, Promise<ModelSnapshot>>();
  readonly #validating = new Map<string, Promise<ValidationRecord | undefined>>();
  #index: { names: string[]; fetchedAt: number } | undefined;
  #indexing: Promise<string[]> | undefined;

  constructor(options: ModelRepositoryOptions) {
    this.#store = options.store;
    this.#ttl = options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    this.#minRefresh = Math.min(options.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS, this.#ttl);
    this.#maxCached = options.maxCachedModels ?? DEFAULT_MAX_CACHED_MODELS;
    this.#now = options.now ?? Date.now;
    this.#requireValidation = options.requireValidation ?? true;
    for (const [name, value] of Object.entries({
      refreshIntervalMs: this.#ttl,
      minRefreshIntervalMs: this.#minRefresh,
    })) {
      if (!(Number.isFinite(value) && value >= 0)) {
        throw new RangeError(`${name} must be a non-negative number`);
      }
    }
    if (!(Number.isInteger(this.#maxCached) && this.#maxCached > 0)) {
      throw new RangeError('maxCachedModels must be a positive integer');
    }
  }

  /** Names of the models in the repository, sorted; folders with invalid names are ignored. */
  async listModels(): Promise<string[]> {
    if (this.#index !== undefined && this.#isFresh(this.#index.fetchedAt)) return [...this.#index.names];
    this.#indexing ??= this.#fetchIndex().finally(() => {
      this.#indexing = undefined;
    });
    return [...(await this.#indexing)];
  }

  /** Versions of `name` holding a model.onnx, ascending; empty for an unknown model. */
  async listVersions(name: string): Promise<number[]> {
    assertModelName(name);
    const { snapshot } = await this.#current(name);
    return [...snapshot.versions.keys()];
  }

  /** The model's config.json, validated; `{}` when there is none. */
  async getConfig(name: string): Promise<ModelConfig> {
    assertModelName(name);
    const { snapshot } = await this.#current(name);
    if (snapshot.configError !== undefined) throw snapshot.configError;
    return snapshot.config;
  }

  /**
   * Chooses the version a request means. An explicit number must exist (404 otherwise, listing
   * the versions there are); an alias comes from config.json (404 for an unknown alias); the
   * default is config.json's `default_version` when set, else the highest version present.
   * A version named by the model's own config but absent is the owner's mistake: 422.
   * A version that failed validation is 422, except that the plain default (highest version)
   * skips it for the highest valid one.
   */
  async resolve(
    name: string,
    selector: VersionSelector = { kind: 'default' },
    options: RouteOptions = {},
  ): Promise<ResolvedModel> {
    assertModelName(name);
    let { snapshot, fresh } = await this.#current(name);
    let choice = this.#choose(name, snapshot, selector, options.routingKey);
    if (!choice.ok && choice.refreshable && !fresh && this.#mayForceRefresh(snapshot)) {
      snapshot = await this.#refresh(name, snapshot, true);
      choice = this.#choose(name, snapshot, selector, options.routingKey);
    }
    if (!choice.ok) throw choice.error;
    let entry: VersionEntry;
    try {
      entry = await this.#servable(name, snapshot, choice.entry, selector);
    } catch (error) {
      // The verdict may have been written since the listing: look once more, at once.
      if (!(error instanceof ModelNotValidatedError) || fresh || !this.#mayForceRefresh(snapshot))
        throw error;
      snapshot = await this.#refresh(name, snapshot, true);
      choice = this.#choose(name, snapshot, selector);
      if (!choice.ok) throw choice.error;
      entry = await this.#servable(name, snapshot, choice.entry, selector);
    }
    return {
      name,
      version: entry.version,
      key: entry.key,
      etag: entry.etag,
      size: entry.size,
      config: snapshot.config,
      configWarnings: snapshot.configWarnings,
      ...(choice.routedTo === undefined ? {} : { routedTo: choice.routedTo }),
      ...(snapshot.configRejected === undefined ? {} : { configRejected: snapshot.configRejected }),
      ...latencyOf(snapshot, entry),
    };
  }

  /**
   * The rollout in force for a model: its traffic split and shadow versions (as config.json
   * states them, once validated), and why a newer config.json was refused, if it was.
   */
  async rollout(name: string): Promise<{
    traffic?: Record<string, number>;
    shadow?: { versions: number[]; sample_rate: number };
    rejected?: string;
  }> {
    assertModelName(name);
    const { snapshot } = await this.#current(name);
    const { traffic, shadow } = snapshot.config;
    return {
      ...(traffic === undefined ? {} : { traffic: { ...traffic } }),
      ...(shadow === undefined
        ? {}
        : { shadow: { versions: [...shadow.versions], sample_rate: shadow.sample_rate } }),
      ...(snapshot.configRejected === undefined ? {} : { rejected: snapshot.configRejected }),
    };
  }

  /**
   * Every version of a model, for the repository index: with the reason validation refused it, or
   * (when validation is required) why it is not served yet, e.g. `not validated yet (no metadata.json)`.
   */
  async versionStates(name: string): Promise<VersionState[]> {
    assertModelName(name);
    const { snapshot } = await this.#current(name);
    const states: VersionState[] = [];
    for (const entry of snapshot.versions.values()) {
      const reason = await this.#invalidReason(snapshot, entry);
      if (reason !== undefined) {
        states.push({ version: entry.version, invalidReason: reason });
        continue;
      }
      const pending = await this.#pendingReason(snapshot, entry);
      states.push(
        pending === undefined
          ? { version: entry.version }
          : { version: entry.version, pendingReason: pending.replace(/^is /, '') },
      );
    }
    return states;
  }

  /**
   * The chosen version unless validation refused it. Only the plain default policy (no version
   * asked for, none pinned in config.json) falls back to a lower version: an explicit version, an
   * alias or a pinned default is someone's deliberate choice, so it is refused with the reason.
   */
  async #servable(
    name: string,
    snapshot: ModelSnapshot,
    chosen: VersionEntry,
    selector: VersionSelector,
  ): Promise<VersionEntry> {
    const reason = await this.#invalidReason(snapshot, chosen);
    const pending = reason === undefined ? await this.#pendingReason(snapshot, chosen) : undefined;
    if (reason === undefined && pending === undefined) return chosen;
    const refuse = (others: string): never => {
      if (reason !== undefined) {
        throw new ModelUnavailableError(
          `model '${name}' version ${chosen.version} failed validation${others}: ${reason}`,
        );
      }
      throw new ModelNotValidatedError(
        `model '${name}' version ${chosen.version} ${pending}${others}; retry shortly`,
      );
    };
    if (
      selector.kind !== 'default' ||
      snapshot.config.default_version !== undefined ||
      snapshot.config.traffic !== undefined
    )
      refuse('');
    const shadows = snapshot.config.shadow?.versions ?? [];
    const lower = [...snapshot.versions.values()]
      .filter((entry) => entry.version < chosen.version && !shadows.includes(entry.version))
      .reverse();
    for (const entry of lower) {
      if ((await this.#invalidReason(snapshot, entry)) !== undefined) continue;
      if ((await this.#pendingReason(snapshot, entry)) === undefined) return entry;
    }
    return refuse(lower.length > 0 ? ' (and no earlier version passed it)' : '');
  }

  /**
   * Why a version not refused by validation still cannot be served: it has no `valid` verdict for
   * its current upload (only when validation is required; `undefined` when it has one).
   */
  async #pendingReason(snapshot: ModelSnapshot, entry: VersionEntry): Promise<string | undefined> {
    if (!this.#requireValidation) return undefined;
    if (entry.metadata === undefined) return 'is not validated yet (no metadata.json)';
    const record = snapshot.validations.get(entry.version)?.record;
    if (record === undefined) return 'has no readable validation verdict (metadata.json)';
    if (record.status !== 'valid') return 'is not validated';
    if (entry.etag !== undefined && record.etag !== entry.etag) {
      return 'is not validated yet (metadata.json describes an earlier upload)';
    }
    return undefined;
  }

  /** Why validation refused this version, or undefined when it did not (or has not run yet). */
  async #invalidReason(snapshot: ModelSnapshot, entry: VersionEntry): Promise<string | undefined> {
    const object = entry.metadata;
    if (object === undefined) return undefined;
    let cached = snapshot.validations.get(entry.version);
    if (cached === undefined || cached.etag !== object.etag) {
      const slot = `${object.key}\n${object.etag ?? ''}`;
      let reading = this.#validating.get(slot);
      if (reading === undefined) {
        reading = this.#fetchValidation(object).finally(() => this.#validating.delete(slot));
        this.#validating.set(slot, reading);
      }
      cached = { etag: object.etag, record: await reading };
      snapshot.validations.set(entry.version, cached);
    }
    const { record } = cached;
    if (record?.status !== 'invalid') return undefined;
    // A verdict about other bytes: the model file was replaced and is not validated yet.
    if (record.etag !== undefined && entry.etag !== undefined && record.etag !== entry.etag) return undefined;
    return record.reason;
  }

  /** A metadata.json that cannot be read as a validation record counts as "not validated". */
  async #fetchValidation(object: ObjectInfo): Promise<ValidationRecord | undefined> {
    if (object.size > MAX_METADATA_BYTES) return undefined;
    const stored = await this.#store.get(object.key);
    if (stored === undefined) return undefined;
    try {
      return readValidationRecord(JSON.parse(new TextDecoder().decode(stored.body)));
    } catch {
      return undefined;
    }
  }

  #choose(name: string, snapshot: ModelSnapshot, selector: VersionSelector, routingKey?: string): Choice {
    const missing = (error: ServingError, refreshable: boolean): Choice => ({
      ok: false,
      error,
      refreshable,
    });
    const explicit = selector.kind === 'number';
    if (!snapshot.exists) return missing(new NotFoundError(`model '${name}' not found`), explicit);
    if (snapshot.configError !== undefined) return missing(snapshot.configError, false);

    const available = [...snapshot.versions.keys()];
    const listing = available.length > 0 ? available.join(', ') : 'none';
    const pick = (version: number, absent: () => ServingError): Choice => {
      const entry = snapshot.versions.get(version);
      return entry !== undefined ? { ok: true, entry } : missing(absent(), true);
    };

    if (selector.kind === 'number') {
      return pick(
        selector.version,
        () => new NotFoundError(`model '${name}' has no version ${selector.version}; available: ${listing}`),
      );
    }
    const aliases = snapshot.config.aliases ?? {};
    // Own keys only: `constructor` or `toString` must not resolve to Object.prototype's members.
    const aliasVersion = (alias: string) => (Object.hasOwn(aliases, alias) ? aliases[alias] : undefined);
    if (selector.kind === 'alias') {
      const version = aliasVersion(selector.alias);
      if (version === undefined) {
        const known = Object.keys(aliases);
        return missing(
          new NotFoundError(
            `model '${name}' has no alias '${selector.alias}'; ${
              known.length > 0 ? `known aliases: ${known.join(', ')}` : 'it defines no aliases'
            }`,
          ),
          false,
        );
      }
      return pick(
        version,
        () =>
          new ModelUnavailableError(
            `model '${name}' alias '${selector.alias}' points to version ${version}, which does not exist; available: ${listing}`,
          ),
      );
    }

    const { traffic } = snapshot.config;
    if (traffic !== undefined) {
      // Without an id (metadata, readiness) a request describes the split's primary target.
      const target =
        routingKey === undefined ? primaryTarget(traffic) : routeTraffic(name, traffic, routingKey);
      const version = versionOfFolder(target) ?? aliasVersion(target) ?? 0;
      const chosen = pick(
        version,
        () =>
          new ModelUnavailableError(
            `model '${name}' config.json routes traffic to '${target}' (version ${version}), which does not exist; available: ${listing}`,
          ),
      );
      return chosen.ok ? { ...chosen, routedTo: target } : chosen;
    }
    const pinned = snapshot.config.default_version;
    if (pinned !== undefined) {
      // parseModelConfig guarantees that a string default names a defined alias.
      const version = typeof pinned === 'number' ? pinned : (aliasVersion(pinned) ?? 0);
      const via = typeof pinned === 'number' ? '' : ` (alias '${pinned}')`;
      return pick(
        version,
        () =>
          new ModelUnavailableError(
            `model '${name}' config.json pins default_version ${version}${via}, which does not exist; available: ${listing}`,
          ),
      );
    }
    // A shadow version never answers: the plain default is the highest version that is not one.
    const shadows = snapshot.config.shadow?.versions ?? [];
    const latest = available.filter((version) => !shadows.includes(version)).at(-1);
    if (latest === undefined) return missing(new NotFoundError(`model '${name}' has no versions`), false);
    return pick(latest, () => new NotFoundError(`model '${name}' has no versions`));
  }

  #mayForceRefresh(snapshot: ModelSnapshot): boolean {
    return snapshot.forcedAt === undefined || this.#now() - snapshot.forcedAt >= this.#minRefresh;
  }

  #isFresh(fetchedAt: number): boolean {
    return this.#now() - fetchedAt < this.#ttl;
  }

  /** The cached snapshot while fresh, else a new one; `fresh` says this call fetched it. */
  async #current(name: string): Promise<{ snapshot: ModelSnapshot; fresh: boolean }> {
    const cached = this.#snapshots.get(name);
    if (cached !== undefined && this.#isFresh(cached.fetchedAt)) return { snapshot: cached, fresh: false };
    return { snapshot: await this.#refresh(name, cached, false), fresh: true };
  }

  #refresh(name: string, previous: ModelSnapshot | undefined, forced: boolean): Promise<ModelSnapshot> {
    const running = this.#refreshing.get(name);
    if (running !== undefined) return running;
    const refresh = this.#fetchModel(name, previous)
      .then((snapshot) => {
        if (forced) snapshot.forcedAt = snapshot.fetchedAt;
        this.#remember(name, snapshot);
        return snapshot;
      })
      .finally(() => this.#refreshing.delete(name));
    this.#refreshing.set(name, refresh);
    return refresh;
  }

  #remember(name: string, snapshot: ModelSnapshot): void {
    this.#snapshots.delete(name);
    this.#snapshots.set(name, snapshot);
    for (const oldest of this.#snapshots.keys()) {
      if (this.#snapshots.size <= this.#maxCached) break;
      this.#snapshots.delete(oldest);
    }
  }

  async #fetchModel(name: string, previous: ModelSnapshot | undefined): Promise<ModelSnapshot> {
    const prefix = `${MODELS_PREFIX}${name}/`;
    const fetchedAt = this.#now();
    // The first time, config.json is asked for next to the listing instead of after it: one round
    // trip less on a cold start. A refresh does not: the listed ETag usually spares the download.
    const early = previous === undefined ? this.#readConfigEarly(`${prefix}config.json`) : undefined;
    let objects: ObjectInfo[];
    try {
      ({ objects } = await this.#store.list(prefix));
    } catch (error) {
      void early?.then((read) => read?.close());
      throw error;
    }
    const versions = new Map<number, VersionEntry>();
    const metadataObjects = new Map<number, ObjectInfo>();
    let configObject: ObjectInfo | undefined;
    for (const object of objects) {
      const rest = object.key.slice(prefix.length);
      if (rest === 'config.json') {
        configObject = object;
        continue;
      }
      const [folder = '', file, ...deeper] = rest.split('/');
      const version = versionOfFolder(folder);
      if (version === undefined || deeper.length > 0) continue;
      if (file === 'model.onnx') {
        versions.set(version, { version, key: object.key, etag: object.etag, size: object.size });
      } else if (file === METADATA_FILE) {
        metadataObjects.set(version, object);
      }
    }
    const validations = new Map<number, CachedValidation>();
    for (const [version, entry] of versions) {
      entry.metadata = metadataObjects.get(version);
      const known = previous?.validations.get(version);
      if (entry.metadata !== undefined && known !== undefined && known.etag === entry.metadata.etag) {
        validations.set(version, known);
      }
    }
    const sorted = new Map([...versions.entries()].sort(([a], [b]) => a - b));
    const file = await this.#fetchConfig(name, configObject, previous, early);
    const snapshot: ModelSnapshot = {
      fetchedAt,
      exists: objects.length > 0,
      versions: sorted,
      validations,
      file,
      config: {},
      configWarnings: [],
    };
    return Object.assign(snapshot, await this.#settleConfig(name, snapshot, previous));
  }

  /**
   * Opens config.json before the listing says whether it exists, when the store can stream (so
   * that its size is known before the body is read). Never rejects: a failure is kept and only
   * surfaces if the listing shows a config.json.
   */
  #readConfigEarly(key: string): Promise<EarlyConfig | undefined> | undefined {
    const store = this.#store;
    if (!isStreaming(store)) return undefined;
    return store.getStream(key).then(
      (stream) => (stream === undefined ? { missing: true, close() {} } : earlyConfig(stream)),
      (error: unknown) => ({ error, close() {} }),
    );
  }

  async #fetchConfig(
    name: string,
    object: ObjectInfo | undefined,
    previous: ModelSnapshot | undefined,
    early?: Promise<EarlyConfig | undefined>,
  ): Promise<ConfigRead> {
    const read = await early;
    if (object === undefined) {
      read?.close();
      return { config: {}, warnings: [] };
    }
    if (previous?.file.etag !== undefined && previous.file.etag === object.etag) return previous.file;
    const invalid = (message: string, cause?: unknown): ConfigRead => ({
      config: {},
      warnings: [],
      etag: object.etag,
      error: new ModelUnavailableError(`model '${name}' config.json ${message}`, { cause }),
    });
    if (object.size > MAX_CONFIG_BYTES) {
      read?.close();
      return invalid(`is ${object.size} bytes; at most ${MAX_CONFIG_BYTES} are allowed`);
    }
    // The early read stands unless it missed a file the listing shows (uploaded in between) or
    // found one larger than the limit (replaced in between): then read it now, as without it.
    let stored: StoredObject | undefined;
    if (read !== undefined && 'error' in read) throw read.error;
    if (read !== undefined && 'body' in read) stored = await read.body;
    else read?.close();
    stored ??= await this.#store.get(object.key);
    if (stored === undefined) return { config: {}, warnings: [] };
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(stored.body));
    } catch (error) {
      // V8's message quotes the file's text; the position is enough for the owner to find it.
      const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
      return invalid(
        `is not valid UTF-8 JSON${position === undefined ? '' : ` (at byte ${position})`}`,
        error,
      );
    }
    try {
      const { config, warnings } = parseModelConfig(json, name);
      return { config, warnings, etag: stored.etag ?? object.etag };
    } catch (error) {
      if (error instanceof ModelUnavailableError) {
        return { config: {}, warnings: [], etag: stored.etag ?? object.etag, error };
      }
      throw error;
    }
  }

  /**
   * The config in force once config.json is read: the file's when it is valid and its `traffic`
   * and `shadow` name versions that exist and passed validation; otherwise the previous good config
   * stays in force (`configRejected` says why), or, with none before it, the model is unavailable.
   */
  async #settleConfig(
    name: string,
    snapshot: ModelSnapshot,
    previous: ModelSnapshot | undefined,
  ): Promise<Pick<ModelSnapshot, 'config' | 'configWarnings' | 'configError' | 'configRejected'>> {
    const { file } = snapshot;
    const error = file.error ?? (await this.#rolloutProblem(name, snapshot, file.config));
    if (error === undefined) return { config: file.config, configWarnings: file.warnings };
    if (
      previous !== undefined &&
      previous.configError === undefined &&
      (await this.#rolloutProblem(name, snapshot, previous.config)) === undefined
    ) {
      return {
        config: previous.config,
        configWarnings: previous.configWarnings,
        configRejected: `${error.message}; the previous config.json stays in force`,
      };
    }
    return { config: {}, configWarnings: [], configError: error };
  }

  /** A `traffic` or `shadow` entry naming a version that is absent or failed validation. */
  async #rolloutProblem(
    name: string,
    snapshot: ModelSnapshot,
    config: ModelConfig,
  ): Promise<ModelUnavailableError | undefined> {
    const available = [...snapshot.versions.keys()].join(', ') || 'none';
    const check = async (version: number, what: string) => {
      const entry = snapshot.versions.get(version);
      if (entry === undefined) {
        return new ModelUnavailableError(
          `model '${name}' config.json ${what} names version ${version}, which does not exist; available: ${available}`,
        );
      }
      const reason = await this.#invalidReason(snapshot, entry);
      if (reason === undefined) return undefined;
      return new ModelUnavailableError(
        `model '${name}' config.json ${what} names version ${version}, which failed validation: ${reason}`,
      );
    };
    for (const [key, weight] of Object.entries(config.traffic ?? {})) {
      if (weight <= 0) continue;
      const version = versionOfFolder(key) ?? config.aliases?.[key] ?? 0;
      const problem = await check(version, `'traffic.${key}'`);
      if (problem !== undefined) return problem;
    }
    for (const version of config.shadow?.versions ?? []) {
      const problem = await check(version, "'shadow'");
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  async #fetchIndex(): Promise<string[]> {
    const fetchedAt = this.#now();
    // No delimiter: s3rver's delimited listing misses folders holding only sub-folders, and the
    // full listing works the same on every S3-compatible store.
    const { objects } = await this.#store.list(MODELS_PREFIX);
    const names = new Set<string>();
    for (const { key } of objects) {
      const name = key.slice(MODELS_PREFIX.length).split('/')[0] ?? '';
      if (key.includes('/', MODELS_PREFIX.length) && MODEL_NAME_PATTERN.test(name) && !name.includes('..')) {
        names.add(name);
      }
    }
    const sorted = [...names].sort();
    this.#index = { names: sorted, fetchedAt };
    return sorted;
  }
}
