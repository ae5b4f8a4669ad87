/**
 * The loader's settings: one schema with defaults, validated once at startup, then frozen.
 *
 * AIGes equivalents: [server] ≈ the service section (host, port), [limits].capacity ≈ [fc] max,
 * [limits].session_idle_timeout_ms ≈ [fc] ttl, [wrapper] = [wrapper], [log] = [log].
 */
import { z } from 'zod';

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
const positiveMs = z.number().int().positive();

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
      })
      .strict()
      .prefault({}),
    plugin: z
      .object({
        /** Path of the plugin: a module file or a folder holding one. */
        path: z.string().min(1).optional(),
        /** Plugin kind (ts, native, addon); inferred from the path's extension when absent. */
        kind: z.enum(['ts', 'native', 'addon']).optional(),
        /**
         * Request schema for kinds that cannot declare one (native). Without it a native plugin
         * accepts any keys, item types and params.
         */
        schema: SchemaConfig.optional(),
        /** The `native` kind: an AIGes C-ABI shared library. */
        native: z
          .object({
            /** The service id clients name (a C library has none of its own). */
            service: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).default('native'),
            /** Which modes the library implements; decides the symbols it must export. */
            mode: z.enum(['once', 'session']).default('once'),
            /** Use wrapperExecAsync / callback sessions instead of wrapperExec / wrapperRead. */
            async: z.boolean().default(false),
            version: z.string().optional(),
          })
          .strict()
          .prefault({}),
        /** Once calls run in the plugin at a time; 0 means as many as capacity allows. */
        concurrency: z.number().int().min(0).default(0),
        /** How long init may take before startup fails. */
        init_timeout_ms: positiveMs.default(60_000),
        /** How long fini may take at shutdown. */
        fini_timeout_ms: positiveMs.default(10_000),
      })
      .strict()
      .prefault({}),
    /** Free key/values handed to the plugin's init (AIGes [wrapper]). */
    wrapper: z.record(z.string(), z.unknown()).default({}),
    limits: z
      .object({
        /** Once calls plus open sessions admitted at a time (AIGes [fc] max). */
        capacity: z.number().int().positive().default(64),
        /** Deadline of a once call when the client sets none. */
        default_deadline_ms: positiveMs.default(30_000),
        /** Longest a session may live when the client sets no deadline. */
        session_deadline_ms: positiveMs.default(600_000),
        /** A session with no input and no output for this long fails with 10019 (AIGes [fc] ttl). */
        session_idle_timeout_ms: positiveMs.default(10_000),
        /** Largest request message (gRPC) or decoded payload (HTTP) accepted. */
        max_message_bytes: z.number().int().positive().default(16 * 1024 * 1024),
        /** At shutdown, how long in-flight calls and sessions may take to finish. */
        drain_grace_ms: z.number().int().min(0).default(15_000),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type LoaderConfig = z.infer<typeof ConfigSchema>;
export type PluginSection = LoaderConfig['plugin'];
/** Input form: every key optional. */
export type LoaderConfigInput = z.input<typeof ConfigSchema>;
