/** One relayed ledger event as clients and Kafka see it. */
export interface RelayedEvent {
  /** `<blockNumber>:<txId>`: the SSE id and the resume position. */
  readonly id: string;
  readonly eventName: string;
  readonly transactionId: string;
  readonly blockNumber: number;
  /** Absent for channel-wide events (PartyRegistered, DiagPut). */
  readonly twinId?: string;
  readonly payload: unknown;
}

export type Subscriber = (event: RelayedEvent) => void;

/**
 * Fan-out of relayed events to SSE clients, with a bounded replay buffer so a client that
 * reconnects with Last-Event-ID gets what it missed (as long as it is still buffered).
 */
export interface EventHub {
  publish(event: RelayedEvent): void;
  /** Events after `lastEventId` still in the buffer (all buffered when unknown), then live ones. */
  subscribe(subscriber: Subscriber, lastEventId?: string): { replay: RelayedEvent[]; unsubscribe: () => void };
  readonly subscribers: number;
}

export function createEventHub(capacity = 1000): EventHub {
  const buffer: RelayedEvent[] = [];
  const subs = new Set<Subscriber>();
  return {
    publish(event) {
      buffer.push(event);
      if (buffer.length > capacity) buffer.shift();
      for (const s of subs) s(event);
    },
    subscribe(subscriber, lastEventId) {
      let replay: RelayedEvent[] = [];
      if (lastEventId !== undefined) {
        const at = buffer.findIndex((e) => e.id === lastEventId);
        replay = at >= 0 ? buffer.slice(at + 1) : [...buffer];
      }
      subs.add(subscriber);
      return { replay, unsubscribe: () => void subs.delete(subscriber) };
    },
    get subscribers() {
      return subs.size;
    },
  };
}
