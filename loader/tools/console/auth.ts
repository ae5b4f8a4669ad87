/**
 * Who may do what in the console. Two roles: `operator` (sees everything, pushes config, rolls
 * back, creates and revokes keys) and `viewer` (sees everything, changes nothing). A user proves a
 * role with a token: one of the operator tokens or viewer tokens the console was started with
 * (`--operator-token-file`, `--viewer-token-file`: one token a line). Logging in with a token sets
 * a session cookie (HttpOnly, SameSite=Strict, random id; the token itself never goes back to the
 * browser); scripts may send `Authorization: Bearer <token>` instead. `--anonymous` makes every
 * visitor without a session a viewer.
 *
 * The server enforces the roles (server.ts refuses every change by a viewer with 403
 * CONSOLE_READ_ONLY); the page only mirrors them.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type Role = 'operator' | 'viewer';

export interface ConsoleAuthOptions {
  operatorTokens: readonly string[];
  viewerTokens: readonly string[];
  /** Visitors without a session are viewers. */
  anonymous: boolean;
  /** How long a session lasts from login (default 12 h). */
  sessionTtlMs?: number;
}

export const SESSION_COOKIE = 'aiges_console';
const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

/** Tokens are compared as SHA-256 digests in constant time, so neither length nor content leaks by timing. */
const digest = (token: string) => createHash('sha256').update(token).digest();

export class ConsoleAuth {
  readonly #tokens: { role: Role; digest: Buffer }[];
  readonly #sessions = new Map<string, { role: Role; expires: number }>();
  readonly #ttlMs: number;

  constructor(readonly options: ConsoleAuthOptions) {
    this.#tokens = [
      ...options.operatorTokens.map((t) => ({ role: 'operator' as const, digest: digest(t) })),
      ...options.viewerTokens.map((t) => ({ role: 'viewer' as const, digest: digest(t) })),
    ];
    this.#ttlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  }

  /** The role a token proves, or undefined. */
  roleOfToken(token: string): Role | undefined {
    const given = digest(token);
    let role: Role | undefined;
    // NOTE: every token is compared, so the time taken says nothing about which one matched.
    for (const t of this.#tokens) if (timingSafeEqual(t.digest, given) && role === undefined) role = t.role;
    return role;
  }

  /** A new session for `role`: its id (the cookie's value). */
  openSession(role: Role): string {
    const now = Date.now();
    // Sessions nobody comes back with are dropped here, so that logins never pile up.
    for (const [id, session] of this.#sessions) if (session.expires <= now) this.#sessions.delete(id);
    const id = randomBytes(24).toString('base64url');
    this.#sessions.set(id, { role, expires: now + this.#ttlMs });
    return id;
  }

  closeSession(id: string): void {
    this.#sessions.delete(id);
  }

  /** The role of a request: its bearer token, else its session, else viewer when anonymous; undefined: not logged in. */
  roleOf(bearer: string | undefined, sessionId: string | undefined): Role | undefined {
    if (bearer !== undefined) return this.roleOfToken(bearer);
    if (sessionId !== undefined) {
      const session = this.#sessions.get(sessionId);
      if (session !== undefined && session.expires > Date.now()) return session.role;
      this.#sessions.delete(sessionId);
    }
    return this.options.anonymous ? 'viewer' : undefined;
  }
}

/** The tokens of a token file: one a line; blank lines and `#` comments skipped. */
export function parseTokenFile(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
