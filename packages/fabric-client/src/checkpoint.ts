import fabricGateway from '@hyperledger/fabric-gateway';
import type { Checkpointer } from '@hyperledger/fabric-gateway';

/** A checkpoint persisted in a file: a restarted event consumer resumes with no loss or repeat. */
export function checkpointFile(path: string): Promise<Checkpointer> {
  return fabricGateway.checkpointers.file(path);
}

export function checkpointInMemory(): Checkpointer {
  return fabricGateway.checkpointers.inMemory();
}
