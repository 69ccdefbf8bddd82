import type { ChaincodeStub } from 'fabric-shim-api';

export interface TxTime {
  seconds: number;
  nanos: number;
  /** ISO 8601, millisecond precision, UTC. */
  iso: string;
  /** Fixed-width sortable form `ssssssssssss.nnnnnnnnn` used inside keys. */
  sortKey: string;
}

type LongLike = number | string | { toString(): string };

/** Timestamps come from the transaction proposal, identical on every endorser (never Date.now()). */
export function txTime(stub: ChaincodeStub): TxTime {
  const ts = stub.getTxTimestamp() as unknown as { seconds: LongLike; nanos: number };
  return timeFrom(ts.seconds, ts.nanos);
}

export function timeFrom(secondsIn: LongLike, nanosIn: number | undefined): TxTime {
  const seconds = typeof secondsIn === 'number' ? secondsIn : Number(secondsIn.toString());
  const nanos = nanosIn ?? 0;
  return {
    seconds,
    nanos,
    iso: new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString(),
    sortKey: sortKeyOf(seconds, nanos),
  };
}

export function sortKeyOf(seconds: number, nanos: number): string {
  return `${String(seconds).padStart(12, '0')}.${String(nanos).padStart(9, '0')}`;
}

/** Parses an ISO 8601 timestamp (with zone) or epoch milliseconds; undefined if neither. */
export function parseTimestamp(s: string): { seconds: number; nanos: number } | undefined {
  let ms: number;
  if (/^\d{1,15}$/.test(s)) {
    ms = Number(s);
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(s)) {
    ms = Date.parse(s);
  } else {
    return undefined;
  }
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}
