/** A committed write as the ledger recorded it: what was done, in which transaction and block. */
export function Receipt({ what, transactionId, blockNumber }: { what: string; transactionId: string; blockNumber: number | null }) {
  return (
    <p role="status" className="receipt" data-testid="receipt" data-tx={transactionId} data-block={blockNumber ?? ''}>
      <strong>{what}</strong> in transaction <code className="wrap">{transactionId}</code>, block {blockNumber ?? '(not yet known)'}.
    </p>
  );
}
