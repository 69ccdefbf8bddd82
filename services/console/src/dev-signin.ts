import { createDevIssuer, type DevIssuer } from '@twinledger/service-kit';
import { ValidationError } from '@twinledger/errors';
import { UnknownDevUserError } from './errors.js';

/** One user the local network's console may mint tokens for. */
export interface DevUser {
  /** The sign-in name shown on the sign-in page and used as the token subject. */
  readonly name: string;
  /** The Fabric identity the services sign as for this user (e.g. `User1`, `Admin`). */
  readonly fabricIdentity: string;
  /** Informational roles put in the token; the ledger decides what the user may do. */
  readonly roles: readonly string[];
}

export interface DevSignIn {
  readonly users: readonly DevUser[];
  /** Signs a token for a listed user, exactly like the organization's issuer would. */
  issue(name: string): Promise<{ token: string; expiresInSeconds: number }>;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Parses DEV_SIGNIN_USERS: `name=FabricIdentity[:ROLE+ROLE]` entries, e.g.
 * `maintainer=User1:MAINTAINER,auditor=User2:AUDITOR`.
 */
export function parseDevUsers(entries: readonly string[]): DevUser[] {
  const users: DevUser[] = [];
  for (const entry of entries) {
    const m = /^([^=]+)=([^:]+)(?::(.*))?$/.exec(entry.trim());
    const [, name, fabricIdentity, roles] = m ?? [];
    if (!name || !fabricIdentity || !NAME.test(name) || !NAME.test(fabricIdentity)) {
      throw new ValidationError(`DEV_SIGNIN_USERS entry "${entry}" is not name=FabricIdentity[:ROLE+ROLE]`);
    }
    const roleList = roles ? roles.split('+').filter((r) => r.length > 0) : [];
    if (roleList.some((r) => !NAME.test(r))) throw new ValidationError(`DEV_SIGNIN_USERS entry "${entry}" has a bad role`);
    if (users.some((u) => u.name === name)) throw new ValidationError(`DEV_SIGNIN_USERS names "${name}" twice`);
    users.push({ name, fabricIdentity, roles: roleList });
  }
  return users;
}

export interface DevSignInInit {
  readonly issuer: string;
  readonly audience: string;
  /** The organization (MSP ID) put in the tokens' `org` claim. */
  readonly mspId: string;
  /** The issuer's private JWK, shared with the local network's dev issuer. */
  readonly privateJwk: Parameters<typeof createDevIssuer>[1];
  readonly users: readonly DevUser[];
  /** Token lifetime; default 3600 s. */
  readonly ttlSeconds?: number;
}

export async function createDevSignIn(init: DevSignInInit): Promise<DevSignIn> {
  const issuer: DevIssuer = await createDevIssuer(init.issuer, init.privateJwk);
  const ttl = init.ttlSeconds ?? 3600;
  return {
    users: init.users,
    async issue(name) {
      const user = init.users.find((u) => u.name === name);
      if (!user) throw new UnknownDevUserError(name);
      const token = await issuer.issue({
        sub: user.name,
        org: init.mspId,
        fabricIdentity: user.fabricIdentity,
        roles: [...user.roles],
        audience: init.audience,
        expiresIn: `${ttl}s`,
      });
      return { token, expiresInSeconds: ttl };
    },
  };
}
