import { TRANSIENT_WRITE_RETRY, withWriteRetry } from '@twinledger/fabric-client';
import { ChaincodeInvalidStateError, Limits, type AcknowledgementStatus, type ProgramCall, type TwinLedger } from '@twinledger/ledger';
import type { Logger } from '@twinledger/observability';
import type { CallJournal } from './call-journal.js';
import type { DeviceAdapter } from './device.js';
import type { EnvelopeGuard, EnvelopeVerdict } from './envelope.js';
import { DeviceUnavailableError } from './errors.js';
import type { AgentMetrics } from './metrics.js';
import { checkProgramCall, readBackMatches } from './safety.js';

export interface CallOutcome {
  readonly callId: number;
  /** What the agent acknowledged, or `SKIPPED` when it had nothing to do (already finished). */
  readonly status: AcknowledgementStatus | 'SKIPPED' | 'DEFERRED';
  readonly result?: unknown;
}

export interface ProgramExecutorInit {
  readonly twinId: string;
  readonly ledger: TwinLedger;
  readonly adapter: DeviceAdapter;
  readonly journal: CallJournal;
  readonly logger: Logger;
  readonly metrics?: AgentMetrics;
  /**
   * The operator's own envelope, checked after the ledger's rules and before the device is
   * touched. Absent = ledger rules only (tests of the ledger path; main.ts always sets it).
   */
  readonly envelope?: EnvelopeGuard;
  /** Told when the device applied a call (tests and the benchmark measure with it). */
  readonly onExecuted?: (callId: number, at: number) => void;
  /** The agent's clock, epoch ms (default Date.now); expiry is judged by it. */
  readonly now?: () => number;
  /**
   * How far a call's requestedAt may lie ahead of the agent's clock, ms (default 60 000).
   * requestedAt is the caller's proposal timestamp, which Fabric does not check: without this
   * bound a caller could date a call into the future and stretch its expiry at will.
   */
  readonly clockSkewMs?: number;
}

export const DEFAULT_CLOCK_SKEW_MS = 60_000;

/**
 * Why a call must not run at `now`, or undefined if it may. A call without an expiry (queued
 * before calls had one) lives the chaincode's longest lifetime.
 */
export function callTimeRefusal(
  call: Pick<ProgramCall, 'requestedAt' | 'expiresAt'>,
  now: number,
  clockSkewMs: number,
): { status: 'EXPIRED' | 'REJECTED'; result: Record<string, unknown> } | undefined {
  const requestedAt = Date.parse(call.requestedAt);
  const expiresAt = call.expiresAt !== undefined ? Date.parse(call.expiresAt) : requestedAt + Limits.MAX_CALL_TTL_S * 1000;
  const at = new Date(now).toISOString();
  if (!Number.isFinite(requestedAt) || !Number.isFinite(expiresAt)) {
    return { status: 'REJECTED', result: { reason: 'CALL_TIME_INVALID', message: 'the call carries no readable requestedAt/expiresAt', checkedAt: at } };
  }
  if (requestedAt > now + clockSkewMs) {
    return {
      status: 'REJECTED',
      result: { reason: 'REQUESTED_IN_FUTURE', message: `requestedAt lies more than ${clockSkewMs} ms ahead of the agent's clock`, requestedAt: call.requestedAt, checkedAt: at },
    };
  }
  if (now >= expiresAt) {
    return { status: 'EXPIRED', result: { reason: 'EXPIRED', message: 'the call expired before the agent could run it; it was not executed', expiresAt: new Date(expiresAt).toISOString(), checkedAt: at } };
  }
  return undefined;
}

export interface ProgramExecutor {
  /** Queues a call; calls run one at a time, in arrival order. */
  submit(callId: number): Promise<CallOutcome>;
  /** Queues every call the ledger still lists as pending (start-up, periodic catch-up). */
  catchUp(): Promise<CallOutcome[]>;
  readonly counts: Readonly<Record<AcknowledgementStatus, number>>;
}

/**
 * Executes queued program calls on the device: journal check (never twice), on-chain status
 * check (already acknowledged by an earlier run?), safety re-check against the specification,
 * execution, read-back verification, on-chain acknowledgement.
 */
export function createProgramExecutor(init: ProgramExecutorInit): ProgramExecutor {
  const log = init.logger.child({ component: 'program-executor', twinId: init.twinId });
  const { ledger, journal, twinId } = init;
  const counts: Record<AcknowledgementStatus, number> = { EXECUTED: 0, FAILED: 0, REJECTED: 0, EXPIRED: 0 };
  const now = init.now ?? Date.now;
  const skew = init.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  /** Acknowledges the call as EXPIRED (or REJECTED when dated ahead) if it must not run now. */
  const refuseByTime = (callId: number, call: ProgramCall): Promise<CallOutcome> | undefined => {
    const late = callTimeRefusal(call, now(), skew);
    if (!late) return undefined;
    log.warn({ callId, requestedAt: call.requestedAt, expiresAt: call.expiresAt, refusal: late.result }, 'program call past its time: not executed');
    return finish(callId, late.status, late.result);
  };
  let chain: Promise<unknown> = Promise.resolve();

  async function acknowledge(callId: number, status: AcknowledgementStatus, result: unknown): Promise<CallOutcome> {
    try {
      await withWriteRetry(() => ledger.acknowledgeProgramCall(twinId, callId, status, result), TRANSIENT_WRITE_RETRY);
    } catch (err) {
      // Finished already: an earlier run acknowledged it and crashed before journaling that.
      if (!(err instanceof ChaincodeInvalidStateError)) throw err;
    }
    await journal.record({ twinId, callId, state: 'acked', status, result });
    counts[status] += 1;
    init.metrics?.programCalls.inc({ status });
    log.info({ callId, status, result }, 'program call acknowledged');
    return { callId, status, result };
  }

  async function finish(callId: number, status: AcknowledgementStatus, result: unknown): Promise<CallOutcome> {
    await journal.record({ twinId, callId, state: 'done', status, result });
    return acknowledge(callId, status, result);
  }

  async function handle(callId: number): Promise<CallOutcome> {
    const seen = journal.get(twinId, callId);
    if (seen?.state === 'acked') return { callId, status: 'SKIPPED' };
    if (seen?.state === 'done' && seen.status) return acknowledge(callId, seen.status, seen.result);

    const call = await ledger.getProgramCall(twinId, callId);
    if (call.status !== 'PENDING') {
      await journal.record({ twinId, callId, state: 'acked', ...(call.acknowledgement ? { status: call.acknowledgement.status } : {}) });
      return { callId, status: 'SKIPPED' };
    }
    if (seen?.state === 'started') {
      // We were executing it when we stopped: the device may or may not have applied it.
      // Executing again could apply it twice, so report it instead.
      return finish(callId, 'FAILED', { reason: 'INTERRUPTED', message: 'the agent stopped during execution; the call was not repeated' });
    }

    // Before anything else: a call past its expiry is never executed, connected or not.
    const late = refuseByTime(callId, call);
    if (late) return late;

    const programs = await ledger.listPrograms(twinId);
    const program = programs.find((p) => p.elementId === call.programElementId);
    const verdict = checkProgramCall(program, call.parameters);
    if (!verdict.ok || !program) {
      const refusal = verdict.ok ? { code: 'UNKNOWN_PROGRAM', reason: 'no program' } : verdict;
      log.warn({ callId, program: call.programElementId, parameters: call.parameters, refusal }, 'program call outside the safety rules: rejected');
      return finish(callId, 'REJECTED', { reason: refusal.code, message: refusal.reason, ...('parameter' in refusal && refusal.parameter ? { parameter: refusal.parameter } : {}) });
    }
    const refuse = (v: Exclude<EnvelopeVerdict, { ok: true }>): Promise<CallOutcome> => {
      log.warn({ callId, program: program.name, parameters: verdict.parameters, refusal: v }, 'program call outside the operator envelope: rejected');
      const { ok: _ok, code, reason, ...rest } = v;
      return finish(callId, 'REJECTED', { reason: code, message: reason, source: 'envelope', ...rest });
    };
    const limits = init.envelope?.checkParameters(program.name, verdict.parameters);
    if (limits && !limits.ok) return refuse(limits);
    const element = await ledger.getElement(twinId, program.elementId);
    if (init.adapter.state !== 'connected') {
      throw new DeviceUnavailableError('device not connected; the call stays pending', { retryAfterSeconds: 1, details: { callId } });
    }
    if (init.envelope) {
      // State is read right before the call; a lost connection here defers the call (pending).
      const st = await init.envelope.checkState(program.name, (conds) => init.adapter.readState(conds));
      if (!st.ok) return refuse(st);
      const rate = init.envelope.takeRate(program.name);
      if (!rate.ok) return refuse(rate);
    }
    // The checks above may have waited on the device: judge the expiry again at the last moment.
    const lateNow = refuseByTime(callId, call);
    if (lateNow) return lateNow;
    await journal.record({ twinId, callId, state: 'started' });
    let status: AcknowledgementStatus;
    let result: unknown;
    try {
      const exec = await init.adapter.callProgram(element.parentId, program.name, verdict.parameters);
      init.onExecuted?.(callId, Date.now());
      if (readBackMatches(verdict.parameters, exec.readBack)) {
        status = 'EXECUTED';
        result = { component: element.parentId, program: program.name, readBack: exec.readBack };
      } else {
        status = 'FAILED';
        result = { reason: 'READBACK_MISMATCH', component: element.parentId, requested: verdict.parameters, readBack: exec.readBack };
      }
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown; details?: unknown };
      status = 'FAILED';
      result = { reason: typeof e.code === 'string' ? e.code : 'DEVICE_ERROR', message: String(e.message ?? err), ...(e.details ? { details: e.details } : {}) };
    }
    return finish(callId, status, result);
  }

  function submit(callId: number): Promise<CallOutcome> {
    const run = chain.then(() => handle(callId)).catch((err: unknown) => {
      if (err instanceof DeviceUnavailableError) return { callId, status: 'DEFERRED' as const };
      log.warn({ err, callId }, 'program call not finished; retried by the next catch-up');
      throw err;
    });
    chain = run.catch(() => undefined);
    return run;
  }

  return {
    submit,
    async catchUp() {
      const pending = await ledger.listPendingProgramCalls(twinId);
      const outcomes = await Promise.allSettled(pending.map((c) => submit(c.callId)));
      return outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    },
    get counts() {
      return { ...counts };
    },
  };
}
