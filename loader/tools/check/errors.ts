/**
 * The codes of the errors that stop `aiges check` before any sample runs (ToolError, exit 2). A
 * sample that fails is not an error: it is a FAIL line in the report (exit 1).
 */
export const CheckCodes = {
  /** The argument names no plugin folder, plugin file or aiges.toml. */
  TARGET: 'E_CHECK_TARGET',
  /** The samples file is missing, not TOML, or breaks the samples format. */
  SAMPLES: 'E_CHECK_SAMPLES',
  /** The config is invalid, or the plugin failed to load or init. */
  LOAD: 'E_CHECK_LOAD',
} as const;

export type CheckCode = (typeof CheckCodes)[keyof typeof CheckCodes];
