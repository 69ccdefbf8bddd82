import { createServer } from 'node:net';
import { PortInUseError } from './errors.js';

/** True if nothing listens on 127.0.0.1:port. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Throws naming every port of `ports` already in use, with what it was meant for. */
export async function assertPortsFree(ports: ReadonlyMap<number, string>): Promise<void> {
  const busy: string[] = [];
  for (const [port, what] of ports) if (!(await isPortFree(port))) busy.push(`${port} (${what})`);
  if (busy.length > 0) {
    throw new PortInUseError(`ports already in use: ${busy.join(', ')}; stop what holds them or choose another basePort`, {
      details: { ports: busy },
    });
  }
}

/** The first base in [from, to) whose `count` consecutive ports are all free. */
export async function findFreeRange(count: number, from = 20_000, to = 40_000, step = 250): Promise<number> {
  for (let base = from; base + count < to; base += step) {
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await isPortFree(p);
    if (ok) return base;
  }
  throw new PortInUseError(`no ${count} free consecutive ports between ${from} and ${to}`);
}
