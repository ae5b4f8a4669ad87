/**
 * The codes of `aiges new`'s errors (ToolError, exit 2), which the CLI prints and tests match on.
 * They are authoring-time errors (no request is involved), so they live outside the serving catalog.
 */
export const ScaffoldCodes = {
  /** The project name is not a valid service id / package name. */
  BAD_NAME: 'E_SCAFFOLD_NAME',
  /** --lang names no template. */
  BAD_LANG: 'E_SCAFFOLD_LANG',
  /** The target folder exists and is not empty. */
  DIR_NOT_EMPTY: 'E_SCAFFOLD_DIR_NOT_EMPTY',
  /** A template uses a placeholder the scaffold does not define (a bug in a template). */
  TEMPLATE: 'E_SCAFFOLD_TEMPLATE',
} as const;

export type ScaffoldCode = (typeof ScaffoldCodes)[keyof typeof ScaffoldCodes];
