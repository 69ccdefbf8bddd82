import { Type } from '@twinledger/service-kit';

export const SyncAction = Type.Object({
  action: Type.Union([Type.Literal('removeAML'), Type.Literal('insertAML'), Type.Literal('addSensorFeed')]),
  componentId: Type.String(),
  txId: Type.Optional(Type.String({ description: 'absent when the ledger already had the change (a resumed sync)' })),
  feedRef: Type.Optional(Type.String()),
  parentId: Type.Optional(Type.String()),
  afterId: Type.Optional(Type.String()),
  exchange: Type.Optional(Type.Object({ attribute: Type.String(), old: Type.String(), new: Type.String() }, { description: 'a same-tag exchange: the identity that changed' })),
});

export const DriftItem = Type.Object({
  type: Type.Union(['MISSING_ON_DEVICE', 'MISSING_IN_TWIN', 'ATTRIBUTE_MISMATCH', 'FEED_MISSING', 'FEED_MISMATCH', 'PARENT_MISSING', 'EXCHANGED', 'UNREACHABLE'].map((t) => Type.Literal(t))),
  componentId: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const DriftReport = Type.Object({
  twinId: Type.String(),
  at: Type.String({ format: 'date-time' }),
  deviceSensors: Type.Array(Type.String()),
  twinSensors: Type.Array(Type.String()),
  items: Type.Array(DriftItem),
});

export const SyncReport = Type.Object({
  twinId: Type.String(),
  reason: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  durationMs: Type.Number(),
  ok: Type.Boolean(),
  actions: Type.Array(SyncAction),
  drift: Type.Optional(DriftReport),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});

const Counts = Type.Object({ EXECUTED: Type.Integer(), FAILED: Type.Integer(), REJECTED: Type.Integer(), EXPIRED: Type.Integer() });

export const AgentStatus = Type.Object({
  twinId: Type.String(),
  device: Type.Object({
    endpoint: Type.String(),
    state: Type.Union(['connecting', 'connected', 'reconnecting', 'closed'].map((s) => Type.Literal(s))),
    // What the session negotiated, and why the last connect failed (DEVICE_UNTRUSTED ...).
    link: Type.Optional(Type.Object({ securityMode: Type.String(), securityPolicy: Type.String(), userIdentity: Type.String(), serverThumbprint: Type.Optional(Type.String()) })),
    lastFailure: Type.Optional(Type.Object({ code: Type.String(), message: Type.String(), at: Type.String() })),
  }),
  events: Type.Object({
    gateway: Type.Union([Type.Boolean(), Type.Null()], { description: 'chaincode event stream connected; null = not used' }),
    kafka: Type.Union([Type.Boolean(), Type.Null()], { description: 'dt.ledger-events consumer running; null = not used' }),
  }),
  lastSync: Type.Union([SyncReport, Type.Null()]),
  syncRunning: Type.Boolean(),
  calls: Counts,
  stream: Type.Union([
    Type.Object({ buffered: Type.Integer(), produced: Type.Integer(), ratePerSecond: Type.Number(), kafkaUp: Type.Boolean() }),
    Type.Null(),
  ]),
});

export const JournalEntry = Type.Object({
  twinId: Type.String(),
  callId: Type.Integer(),
  state: Type.Union([Type.Literal('started'), Type.Literal('done'), Type.Literal('acked')]),
  status: Type.Optional(Type.Union([Type.Literal('EXECUTED'), Type.Literal('FAILED'), Type.Literal('REJECTED'), Type.Literal('EXPIRED')])),
  result: Type.Optional(Type.Unknown()),
  at: Type.String({ format: 'date-time' }),
});
