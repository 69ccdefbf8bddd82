/** Confidentiality levels of documents, lowest first. */
export const Levels = ['public', 'internal', 'confidential', 'secret'] as const;
export type Level = (typeof Levels)[number];

export const Roles = {
  MANUFACTURER: 'MANUFACTURER',
  OWNER: 'OWNER',
  MAINTAINER: 'MAINTAINER',
  AUDITOR: 'AUDITOR',
  DEVICE_AGENT: 'DEVICE_AGENT',
  /** Granted to '*' (every MSP of the channel) at creation: the paper's "read for everyone". */
  READER: 'READER',
} as const;
export type Role = (typeof Roles)[keyof typeof Roles];
export const ROLE_NAMES: readonly Role[] = Object.values(Roles);

export const Permissions = {
  SPEC_READ: 'spec:read',
  SPEC_WRITE: 'spec:write',
  FEED_READ: 'feed:read',
  FEED_REGISTER: 'feed:register',
  PROGRAM_CALL: 'program:call',
  /** Acknowledging program calls: the device agent's alone. */
  PROGRAM_ACK: 'program:ack',
  GRANTS_MANAGE: 'grants:manage',
  /**
   * Proposing, approving and rejecting changes of safety content (README "Safety rules");
   * spec:write alone never changes it.
   */
  SAFETY_WRITE: 'safety:write',
} as const;

export const docRead = (l: Level): string => `doc:read:${l}`;
export const docWrite = (l: Level): string => `doc:write:${l}`;

export const ALL_PERMISSIONS: readonly string[] = [
  ...Object.values(Permissions),
  ...Levels.map(docRead),
  ...Levels.map(docWrite),
];

const upTo = (max: Level, f: (l: Level) => string): string[] => Levels.slice(0, Levels.indexOf(max) + 1).map(f);

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly string[]>> = {
  OWNER: [
    Permissions.SPEC_READ,
    Permissions.SPEC_WRITE,
    ...upTo('secret', docRead),
    ...upTo('secret', docWrite),
    Permissions.FEED_READ,
    Permissions.FEED_REGISTER,
    Permissions.PROGRAM_CALL,
    Permissions.GRANTS_MANAGE,
    Permissions.SAFETY_WRITE,
  ],
  MAINTAINER: [
    Permissions.SPEC_READ,
    Permissions.SPEC_WRITE,
    ...upTo('confidential', docRead),
    ...upTo('confidential', docWrite),
    Permissions.FEED_READ,
    Permissions.FEED_REGISTER,
    Permissions.PROGRAM_CALL,
  ],
  // The manufacturer knows the machine's limits: by default it is the second organization that
  // approves the owner's safety changes (and may propose its own, which the owner approves).
  MANUFACTURER: [Permissions.SPEC_READ, ...upTo('confidential', docRead), Permissions.FEED_READ, Permissions.SAFETY_WRITE],
  AUDITOR: [Permissions.SPEC_READ, ...upTo('confidential', docRead), Permissions.FEED_READ],
  DEVICE_AGENT: [
    Permissions.SPEC_READ,
    Permissions.SPEC_WRITE,
    docRead('public'),
    Permissions.FEED_READ,
    Permissions.FEED_REGISTER,
    Permissions.PROGRAM_ACK,
  ],
  READER: [Permissions.SPEC_READ, docRead('public'), Permissions.FEED_READ],
};

export function isRole(s: string): s is Role {
  return (ROLE_NAMES as readonly string[]).includes(s);
}

export function isPermission(s: string): boolean {
  return ALL_PERMISSIONS.includes(s);
}

export function isLevel(s: string): s is Level {
  return (Levels as readonly string[]).includes(s);
}

/** What a grant to every MSP ('*') may confer: reading only. */
export function isReadOnly(roleOrPermission: string): boolean {
  if (roleOrPermission === Roles.READER) return true;
  return roleOrPermission === Permissions.SPEC_READ || roleOrPermission === Permissions.FEED_READ || roleOrPermission.startsWith('doc:read:');
}
