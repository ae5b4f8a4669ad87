/**
 * `node --import aiges-ts/register ...`: lets Node import TypeScript (through tsx, a dependency of
 * aiges-ts), so a plugin project runs its `.ts` tests with `node --test` and no install of its own.
 */
import 'tsx';
