/**
 * Applies the serving processes' V8 settings (lib/v8-flags.ts) on import: cli/main.ts imports this
 * module first, so that it runs before any other module of the command.
 */
import { applyServerV8Flags } from '../lib/v8-flags.js';

applyServerV8Flags();
