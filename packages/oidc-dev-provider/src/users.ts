import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { ValidationError } from '@twinledger/errors';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/** One person who signs in at an organization's provider. */
export interface ProviderUser {
  /** The login name and the tokens' `sub`. */
  readonly username: string;
  readonly password: string;
  /** The Fabric identity the services sign as for this user (the `fabric_identity` claim, e.g. `User1`). */
  readonly fabricIdentity: string;
  /** Informational roles (the `roles` claim); the ledger decides what the user may do. */
  readonly roles: readonly string[];
  /** Display name (the `name` claim); default the username. */
  readonly name?: string;
}

/** A user as the provider keeps it: the password only as a salted scrypt hash. */
export interface StoredUser {
  readonly username: string;
  readonly fabricIdentity: string;
  readonly roles: readonly string[];
  readonly name: string;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
const KEY_LEN = 32;
/** Shorter passwords are refused at start: the local consortium generates 22 characters. */
export const MIN_PASSWORD_LENGTH = 12;

export async function storeUsers(users: readonly ProviderUser[]): Promise<Map<string, StoredUser>> {
  const out = new Map<string, StoredUser>();
  for (const u of users) {
    if (!NAME.test(u.username) || !NAME.test(u.fabricIdentity) || u.roles.some((r) => !NAME.test(r))) {
      throw new ValidationError(`provider user "${u.username}": username, fabricIdentity and roles must match ${NAME}`);
    }
    if (u.password.length < MIN_PASSWORD_LENGTH) throw new ValidationError(`provider user "${u.username}": password shorter than ${MIN_PASSWORD_LENGTH} characters`);
    if (out.has(u.username)) throw new ValidationError(`provider user "${u.username}" listed twice`);
    const salt = randomBytes(16);
    out.set(u.username, { username: u.username, fabricIdentity: u.fabricIdentity, roles: [...u.roles], name: u.name ?? u.username, salt, hash: await scrypt(u.password, salt, KEY_LEN) });
  }
  return out;
}

/** A fixed salt for unknown usernames, so a wrong name costs the same scrypt as a wrong password. */
const DECOY_SALT = randomBytes(16);

/** The user when the password matches, else undefined; constant work whether or not the name exists. */
export async function checkPassword(users: ReadonlyMap<string, StoredUser>, username: string, password: string): Promise<StoredUser | undefined> {
  const user = users.get(username);
  const candidate = await scrypt(password, user?.salt ?? DECOY_SALT, KEY_LEN);
  if (!user) return undefined;
  return timingSafeEqual(candidate, user.hash) ? user : undefined;
}

/** A random password for a generated local user (base64url, 22 characters = 128 bits). */
export function generatePassword(): string {
  return randomBytes(16).toString('base64url');
}
