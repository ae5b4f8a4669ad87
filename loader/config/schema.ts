/**
 * The loader's settings: one schema with defaults, validated once at startup, then frozen.
 *
 * AIGes equivalents: [server] ≈ the service section (host, port), [limits].capacity ≈ [fc] max,
 * [limits].session_idle_timeout_ms ≈ [fc] ttl, [wrapper] = [wrapper], [log] = [log],
 * [polaris] ≈ AIGes's companion (polaris/finder) settings.
 *
 * [wrapper], [limits] and [log] are also the sections a pushed config version may change while the
 * loader runs (see hot.ts); the sections are exported one by one for that.
 */
import { z } from 'zod';
import { BUILT_IN_ISOLATIONS } from '../plugin/isolation.js';
import { BUILT_IN_KINDS } from '../plugin/kinds.js';
import { ExecutionProvidersSetting } from '../models/onnx-wrapper.js';

const port = z.number().int().min(0).max(65535);

const itemSpec = z
  .object({
    type: z.enum(['text', 'audio', 'image', 'video', 'other']),
    required: z.boolean().optional(),
    encodings: z.array(z.string()).optional(),
    description: z.string().optional(),
  })
  .strict();

const paramSpec = z
  .object({
    type: z.enum(['string', 'integer', 'number', 'boolean']),
    description: z.string().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    required: z.boolean().optional(),
    enum: z.array(z.string()).optional(),
    pattern: z.string().optional(),
    minLength: z.number().int().optional(),
    maxLength: z.number().int().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
  })
  .strict();

/** A schema written in config, for plugins that cannot declare one (native libraries). */
export const SchemaConfig = z
  .object({
    input: z.record(z.string(), itemSpec),
    output: z.record(z.string(), itemSpec),
    params: z.record(z.string(), paramSpec).optional(),
  })
  .strict();
/** The longest a Node timer waits (a longer delay fires at once): every duration's upper bound. */
const MAX_MS = 2 ** 31 - 1;
const ms = z.number().int().max(MAX_MS, `at most ${MAX_MS} ms (about 24.8 days), the longest a timer waits`);
const positiveMs = ms.positive();

/** Free key/values handed to the plugin's init (AIGes [wrapper]). */
export const WrapperSection = z.record(z.string(), z.unknown());

export const LimitsSection = z
  .object({
    /** Once calls plus open sessions admitted at a time (AIGes [fc] max). */
    capacity: z.number().int().positive().default(64),
    /** Deadline of a once call when the client sets none. */
    default_deadline_ms: positiveMs.default(30_000),
    /** Longest a session may live when the client sets no deadline. */
    session_deadline_ms: positiveMs.default(600_000),
    /** A session with no input and no output for this long fails with 10019 (AIGes [fc] ttl). */
    session_idle_timeout_ms: positiveMs.default(10_000),
    /**
     * Largest request message (gRPC) or decoded payload (HTTP) accepted. Fixed at startup: the
     * transports are built with it, so a pushed config may not change it.
     */
    max_message_bytes: z
      .number()
      .int()
      .positive()
      .default(16 * 1024 * 1024),
    /** At shutdown (and when a hot config change retires a plugin set), how long calls may take to finish. */
    drain_grace_ms: ms.min(0).default(15_000),
    /**
     * A once call abandoned at its deadline (or cancel) whose exec still runs this long after is
     * stuck; when every exec slot of a plugin is held by a stuck call, the loader reports not ready.
     */
    hang_grace_ms: positiveMs.default(10_000),
  })
  .strict();

/**
 * AIGes's own `[aiges]` keys that mean the same here (AIGes users carry them over from aiges.toml).
 * Only those this loader honours are accepted.
 */
export const AigesSection = z
  .object({
    /**
     * Sessions of AIGes C wrappers (sync): true reads the wrapper's results after every input
     * frame, as they come; false reads them only after the last frame (non-real-time services).
     */
    realTimeRlt: z.boolean().default(true),
  })
  .strict();

export type AigesSection = z.infer<typeof AigesSection>;

export const LogSection = z
  .object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .strict();

/** "http://a:2379,http://b:2379" (an AIGES_POLARIS_ENDPOINTS value) → an array. */
const endpointList = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : v,
  z.array(z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'must be an http:// or https:// URL (host:port)')).min(1),
);

/**
 * Polaris (etcd): where this loader registers and which config it follows. Absent: standalone.
 * AIGes equivalents: the companion URL / polaris finder settings, service name and version.
 */
export const PolarisSection = z
  .object({
    /** etcd endpoints, e.g. ["http://127.0.0.1:2379"] (or one comma-separated string). */
    endpoints: endpointList,
    /** The service name registered and whose config is followed (default: the plugin's service id). */
    service: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .optional(),
    /** The service version registered (polaris/services/<service>/<version>/...). */
    service_version: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .default('1'),
    /** A stable instance id (e.g. the pod name); default `<hostname>-<pid>-<random>`. */
    instance_id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .optional(),
    /** Lease TTL: a loader that dies vanishes from discovery within about this long. */
    ttl_s: z.number().int().min(1).max(300).default(5),
    /** Free labels registered with the instance (zone, gpu, ...). */
    labels: z.record(z.string(), z.string()).default({}),
    /**
     * The host others dial. Default: the bound host when it is a specific address (127.0.0.1 when
     * the server binds 127.0.0.1), else the first non-internal IPv4 address.
     */
    advertise_host: z.string().min(1).optional(),
    /** TLS to etcd: CA bundle, and client certificate and key for mutual TLS. */
    ca_file: z.string().min(1).optional(),
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    /** etcd user authentication. */
    username: z.string().min(1).optional(),
    password: z.string().optional(),
  })
  .strict()
  .refine((p) => (p.cert_file === undefined) === (p.key_file === undefined), {
    message: 'cert_file and key_file go together',
    path: ['cert_file'],
  })
  .refine((p) => (p.username === undefined) === (p.password === undefined), {
    message: 'username and password go together',
    path: ['username'],
  });

/**
 * `[server.tls]`: TLS on both of the loader's ports, gRPC and HTTP. Absent: plaintext. The files are
 * read at startup (a bad one stops it) and followed while the loader runs: a certificate replaced on
 * disk (or on SIGHUP) serves new connections without a restart; a bad replacement is logged and the
 * old one kept (lib/tls-files.ts). A loader with TLS registers `tls: true` in polaris.
 */
export const ServerTlsSection = z
  .object({
    /** Certificate chain (PEM) the loader presents. */
    cert_file: z.string().min(1),
    /** Its private key (PEM). */
    key_file: z.string().min(1),
    /** CA bundle (PEM): when set, every client must present a certificate that chains to it (mutual TLS). */
    client_ca_file: z.string().min(1).optional(),
  })
  .strict();

/**
 * Who may call: `none` (anyone who reaches the ports), or `aksk`: every HTTP route but health and
 * every gRPC method but grpc.health.v1 needs a request signed with an access key of `keys_file`
 * or of polaris (docs/security.md). Fixed at startup: a pushed config may not change it; the keys file is
 * re-read when it changes.
 */
export const AuthSection = z
  .object({
    mode: z.enum(['none', 'aksk']).default('none'),
    /** Where the keys are: `file` (keys_file) or `polaris` (`aiges keys`, watched: needs [polaris]). */
    keys_source: z.enum(['file', 'polaris']).default('file'),
    /** TOML file of `[[keys]]` tables: access_key, secret_key (base64), optional services, rate, burst. */
    keys_file: z.string().min(1).optional(),
    /** How far a request's `date` may be from the loader's clock; signatures are remembered this long (replay). */
    clock_skew_s: z.number().int().min(1).max(3600).default(300),
    /** Most signatures remembered at once; past it new requests are refused (10208) until old ones age out. */
    replay_cache_max: z.number().int().positive().default(1_000_000),
    /** GET /metrics without a signature (for a Prometheus scraper on a trusted network). */
    open_metrics: z.boolean().default(false),
  })
  .strict()
  .refine((a) => a.mode !== 'aksk' || a.keys_source !== 'file' || a.keys_file !== undefined, {
    message: 'mode "aksk" needs keys_file (or keys_source = "polaris")',
    path: ['keys_file'],
  });

export type AuthSettings = z.infer<typeof AuthSection>;

/**
 * `[pipes]`: how `ctx.infer` reaches services of other loaders (docs/plugins.md, "Calling other
 * services"). Fixed at startup.
 */
export const PipesSection = z
  .object({
    /** Sign every remote call with this access key (AK/SK, docs/security.md); with secret_key_file. */
    access_key: z.string().min(1).max(128).optional(),
    /** A file holding the key's secret, base64 as issued (a mounted Secret): never the config itself. */
    secret_key_file: z.string().min(1).optional(),
    /** `grpcs://` addresses: a CA bundle (PEM) to trust instead of Node's roots. */
    ca_file: z.string().min(1).optional(),
    /** `grpcs://` addresses that require client certificates: this certificate (PEM), with key_file. */
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
  })
  .strict()
  .refine((p) => (p.access_key === undefined) === (p.secret_key_file === undefined), {
    message: 'access_key and secret_key_file go together',
    path: ['secret_key_file'],
  })
  .refine((p) => (p.cert_file === undefined) === (p.key_file === undefined), {
    message: 'cert_file and key_file go together',
    path: ['key_file'],
  });

export type PipesSettings = z.infer<typeof PipesSection>;

/**
 * `[repository]`: a folder of ONNX models served with no code, `<path>/<model>/<version>/model.onnx`
 * (docs/models.md). Absent: none. Fixed at startup; its models load and unload at run time.
 */
export const RepositorySection = z
  .object({
    /** The repository folder (`aiges serve --model-repository DIR`). */
    path: z.string().min(1),
    /** How often the folder is checked for new, changed and removed models; 0: never (the repository API only). */
    poll_interval_ms: ms.min(0).default(0),
    /** ONNX Runtime execution providers, in order: "auto", "cpu", "cuda" ("cuda" needs onnxruntime-node's CUDA parts: docs/models.md). */
    execution_providers: ExecutionProvidersSetting,
  })
  .strict();

/** `[plugin.batching]`: overrides of a plugin's `batching` settings; an absent key keeps the plugin's value. */
export const BatchingSection = z
  .object({
    /** The most rows one exec receives; 0 or 1: batching off (also for a plugin that declares it). */
    max_batch_size: z.number().int().min(0).optional(),
    /** How long a request may wait for others to fill its batch; 0: no waiting. */
    max_queue_delay_ms: ms.min(0).optional(),
    /** Batch sizes to form when the queue allows, at once (Triton's preferred_batch_size); [] for none. */
    preferred_batch_sizes: z.array(z.number().int().positive()).optional(),
  })
  .strict();

export type BatchingConfig = z.infer<typeof BatchingSection>;

/** Each built-in kind's own section, `[plugin.<kind>]`, as the kind declares it (plugin/kind-*.ts). */
function kindSections(): Record<string, z.ZodType> {
  const sections: Record<string, z.ZodType> = {};
  for (const kind of BUILT_IN_KINDS) if (kind.section !== undefined) sections[kind.name] = kind.section;
  return sections;
}

/** `plugin.fini_timeout_ms` when absent. */
export const DEFAULT_FINI_TIMEOUT_MS = 10_000;

export const ConfigSchema = z
  .object({
    server: z
      .object({
        /** Interface both servers bind. */
        host: z.string().min(1).default('0.0.0.0'),
        /** gRPC port (aiges.v1.Loader + grpc.health.v1); 0 picks a free port. */
        grpc_port: port.default(5090),
        /** HTTP port (health, metrics, JSON route, OpenAPI); 0 picks a free port. */
        http_port: port.default(8080),
        /**
         * HTTP: how long a request (headers and body) may take to arrive whole; a slower one is
         * answered 408 / 10210 and its connection closed. 0: no limit. Fixed at startup.
         */
        request_timeout_ms: ms.min(0).default(60_000),
        /**
         * Whether a plugin's own error text (an exception's message, a C wrapper's error) reaches
         * clients in 10109 and 109xx answers; when not, they get the code and the sid to find it in
         * the log. Absent: shown unless NODE_ENV is "production" (as in the base images).
         */
        expose_plugin_errors: z.boolean().optional(),
        /** TLS on both ports; absent: plaintext. */
        tls: ServerTlsSection.optional(),
      })
      .strict()
      .prefault({}),
    plugin: z
      .object({
        /** Path of the plugin: a module file or a folder holding one. */
        path: z.string().min(1).optional(),
        /**
         * Where the plugin runs: `none`, in the loader's thread; `worker`, a TS plugin on a pool of
         * worker threads (plugin/worker/); `process`, in a supervised child process (a crash costs
         * the calls in flight there and a restart, not the loader). Isolations register in
         * plugin/isolation.ts.
         */
        isolation: z.enum(BUILT_IN_ISOLATIONS.map((i) => i.name) as [string, ...string[]]).default('none'),
        /** Plugin kind (ts, native, addon); inferred from the path's extension when absent. */
        kind: z.enum(BUILT_IN_KINDS.map((k) => k.name) as [string, ...string[]]).optional(),
        /**
         * Request schema for kinds that cannot declare one (native). Without it a native plugin
         * accepts any keys, item types and params.
         */
        schema: SchemaConfig.optional(),
        ...kindSections(),
        /**
         * Once calls (execs) the plugin runs at a time, for every kind: a native library gets one
         * worker thread per call. 0: `limits.capacity` (every admitted call may run at once, as
         * AIGes runs as many wrapper calls as it has licences).
         */
        concurrency: z.number().int().min(0).default(0),
        /**
         * Dynamic batching of once calls (docs/plugins.md, "Dynamic batching"): each key set here
         * overrides the plugin's own `batching` value. Fixed at startup (a restart applies a change).
         */
        batching: BatchingSection.optional(),
        /** How long init may take before startup fails. */
        init_timeout_ms: positiveMs.default(60_000),
        /** How long fini may take at shutdown. */
        fini_timeout_ms: positiveMs.default(DEFAULT_FINI_TIMEOUT_MS),
      })
      .strict()
      .prefault({}),
    /** Free key/values handed to the plugin's init (AIGes [wrapper]). */
    wrapper: WrapperSection.default({}),
    limits: LimitsSection.prefault({}),
    log: LogSection.prefault({}),
    aiges: AigesSection.prefault({}),
    auth: AuthSection.prefault({}),
    pipes: PipesSection.prefault({}),
    /** Absent: the loader runs standalone. */
    polaris: PolarisSection.optional(),
    /** A folder of ONNX models to serve beside (or instead of) the plugin. */
    repository: RepositorySection.optional(),
  })
  .strict();

export type LoaderConfig = z.infer<typeof ConfigSchema>;
export type PluginSection = LoaderConfig['plugin'];

/** `plugin.concurrency` resolved: 0 means `limits.capacity`. */
export function execConcurrency(config: Pick<LoaderConfig, 'plugin' | 'limits'>): number {
  return config.plugin.concurrency === 0 ? config.limits.capacity : config.plugin.concurrency;
}
export type PolarisSettings = NonNullable<LoaderConfig['polaris']>;
/** Input form: every key optional. */
export type LoaderConfigInput = z.input<typeof ConfigSchema>;

/** Whether plugin error text reaches clients (`server.expose_plugin_errors`, else by NODE_ENV). */
export function exposePluginErrors(config: Readonly<LoaderConfig>, env: NodeJS.ProcessEnv = process.env): boolean {
  return config.server.expose_plugin_errors ?? env['NODE_ENV'] !== 'production';
}
