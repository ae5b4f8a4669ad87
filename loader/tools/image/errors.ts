/**
 * The codes of `aiges image`'s errors (ToolError; printed as `[CODE]`, documented in
 * docs/images.md) so that scripts and tests recognise the failure without parsing prose. These
 * are build-time errors of the CLI, not request errors, so they are not in the loader's numeric
 * catalog (loader/errors.ts).
 */
import { ToolError } from '../errors.js';

export const ImageCodes = {
  /** Neither a docker daemon nor buildah is available (or the one asked for is not). */
  NO_BUILDER: 'IMAGE_NO_BUILDER',
  /** The plugin project folder does not exist or is not a folder. */
  NO_PROJECT: 'IMAGE_NO_PROJECT',
  /** The project has no aiges.toml and no plugin entry the generated one could name. */
  NO_PLUGIN: 'IMAGE_NO_PLUGIN',
  /** aiges.toml names a plugin path outside the project folder, which the image would not hold. */
  PATH_OUTSIDE: 'IMAGE_PATH_OUTSIDE',
  /** aiges.toml names a plugin path that does not exist (e.g. a native library not built yet). */
  PATH_MISSING: 'IMAGE_PATH_MISSING',
  /** The project's aiges.toml is not valid TOML. */
  BAD_CONFIG: 'IMAGE_BAD_CONFIG',
  /** The loader checkout is not built (dist/ or the native host addon is missing). */
  NOT_BUILT: 'IMAGE_NOT_BUILT',
  /** Installing the production dependencies into the staged context failed. */
  STAGE_FAILED: 'IMAGE_STAGE_FAILED',
  /** A bad flag value (variant, build argument). */
  BAD_ARGUMENT: 'IMAGE_BAD_ARGUMENT',
  /** docker or buildah ran and failed. */
  BUILD_FAILED: 'IMAGE_BUILD_FAILED',
} as const;

export type ImageCode = (typeof ImageCodes)[keyof typeof ImageCodes];

/**
 * An `aiges image` error. The build itself failing exits 1; every other code means the build
 * could not be started as asked and exits 2.
 */
export function imageError(code: ImageCode, message: string): ToolError<ImageCode> {
  return new ToolError(code, message, { exitCode: code === ImageCodes.BUILD_FAILED ? 1 : 2 });
}
