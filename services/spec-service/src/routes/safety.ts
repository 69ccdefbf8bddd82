import type { ServiceApp } from '@twinledger/service-kit';
import { PageOf, PageQueryProperties, Type, withErrors } from '@twinledger/service-kit';
import { ProposalStatuses, type SafetyChange } from '@twinledger/ledger';
import { readAmlFragment } from '@twinledger/aml';
import type { RouteDeps } from '../context.js';
import { LedgerRecord, TwinId, TwinParams, committed } from '@twinledger/ledger-gateway';
import { ElementId } from '../schemas.js';

const ProposalParams = Type.Object({ twinId: TwinId, proposalId: Type.Integer({ minimum: 1, maximum: 999_999_999_999 }) });
const Reason = Type.String({ maxLength: 4096, description: 'Why: shown to the reviewers and kept on the ledger' });
const Status = Type.Union(ProposalStatuses.map((s) => Type.Literal(s)));

const SafetyElement = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('program'), Type.Literal('interlock'), Type.Literal('safeState')]),
  name: Type.String(),
});

/** The chaincode's SafetyProposal: the documented fields, more kept as they are. */
const Proposal = Type.Object(
  {
    twinId: Type.String(),
    proposalId: Type.Integer(),
    operation: Type.Union([Type.Literal('insertAML'), Type.Literal('removeAML'), Type.Literal('replaceAML')]),
    change: LedgerRecord,
    reason: Type.String(),
    baseRevision: Type.String({ description: 'The specification revision the change was planned against; approval needs it unchanged' }),
    impact: Type.Object(
      {
        removed: Type.Array(SafetyElement),
        inserted: Type.Array(SafetyElement),
        programsRemoved: Type.Array(LedgerRecord, { description: 'Program definitions (parameters, bounds) the change removes' }),
        programsInserted: Type.Array(LedgerRecord, { description: 'Program definitions the change puts in place' }),
      },
      { additionalProperties: true },
    ),
    status: Status,
    proposedBy: LedgerRecord,
    proposedAt: Type.String(),
    txId: Type.String(),
    decision: Type.Optional(LedgerRecord),
  },
  { additionalProperties: true },
);
const CommittedProposal = Type.Object({ transactionId: Type.String(), blockNumber: Type.Integer(), result: Proposal });

/** A program with a bounded parameter: the documented replaceAML example. */
const PROGRAM_EXAMPLE =
  '<InternalElement Name="SetConveyorSpeed" ID="prog-set-conveyor-speed"><Attribute Name="speed" AttributeDataType="xs:double" Unit="m/s">' +
  '<Constraint Name="SpeedRange"><OrdinalScaledType><RequiredMaxValue>2</RequiredMaxValue><RequiredMinValue>0</RequiredMinValue></OrdinalScaledType></Constraint>' +
  '</Attribute><RoleRequirements RefBaseRoleClassPath="TwinLedgerRoleClassLib/Program"/></InternalElement>';

const Fragment = (max: number) => Type.String({ minLength: 1, maxLength: max, description: 'AML fragment: one or more InternalElements (or InstanceHierarchies)' });

/**
 * Safety changes (chaincode README "Safety rules"): programs, interlocks and safe states change
 * only by a proposal of a safety:write holder and the approval of one of another organization.
 * Every decision is the chaincode's; these routes only carry it.
 */
export function safetyRoutes(deps: RouteDeps) {
  return async (app: ServiceApp): Promise<void> => {
    const max = deps.limits.fragmentBytes;
    app.post(
      '/twins/:twinId/safety-proposals',
      {
        bodyLimit: max + 16 * 1024,
        schema: {
          tags: ['safety'],
          summary: 'Propose a change of safety content (needs safety:write); nothing changes until another organization approves',
          description:
            'operation insertAML {aml, parentId?, afterId?}, removeAML {elementId}, or replaceAML {elementId, aml} (the fragment takes the ' +
            "element's place in one step, so a changed program is never absent). The change must touch safety content (400 VALIDATION_FAILED " +
            'otherwise) and is checked against the current specification at once (AML_INVALID, NOT_FOUND, DUPLICATE_ID). A plain ' +
            'insert/delete of the same content answers 403 SAFETY_APPROVAL_REQUIRED.',
          params: TwinParams,
          body: Type.Union([
            Type.Object(
              { operation: Type.Literal('insertAML'), aml: Fragment(max), parentId: Type.Optional(ElementId), afterId: Type.Optional(ElementId), reason: Type.Optional(Reason) },
              { additionalProperties: false },
            ),
            Type.Object({ operation: Type.Literal('removeAML'), elementId: ElementId, reason: Type.Optional(Reason) }, { additionalProperties: false }),
            Type.Object({ operation: Type.Literal('replaceAML'), elementId: ElementId, aml: Fragment(max), reason: Type.Optional(Reason) }, { additionalProperties: false }),
          ], { examples: [{ operation: 'replaceAML', elementId: 'prog-set-conveyor-speed', aml: PROGRAM_EXAMPLE, reason: 'belt speed limited to 2 m/s' }] }),
          response: withErrors({ 201: CommittedProposal }),
        },
      },
      async (req, reply) => {
        const b = req.body;
        let change: SafetyChange;
        if (b.operation === 'insertAML') {
          readAmlFragment(b.aml);
          change = { operation: 'insertAML', amlFragment: b.aml, ...(b.parentId !== undefined ? { parentID: b.parentId } : {}), ...(b.afterId !== undefined ? { afterID: b.afterId } : {}) };
        } else if (b.operation === 'replaceAML') {
          readAmlFragment(b.aml);
          change = { operation: 'replaceAML', ID: b.elementId, amlFragment: b.aml };
        } else {
          change = { operation: 'removeAML', ID: b.elementId };
        }
        const l = await req.ledger();
        const res = await req.write('proposeSafetyChange', () => l.proposeSafetyChange(req.params.twinId, change, b.reason));
        return reply.code(201).send(committed(res));
      },
    );

    app.get(
      '/twins/:twinId/safety-proposals',
      {
        schema: {
          tags: ['safety'],
          summary: 'Safety change proposals in proposal order, one page (needs spec:read); status filters, none = all',
          params: TwinParams,
          querystring: Type.Object({ status: Type.Optional(Status), ...PageQueryProperties }),
          response: withErrors({ 200: PageOf(Proposal) }),
        },
      },
      async (req) => {
        const { status, ...page } = req.query;
        return (await req.ledger()).listSafetyProposalsPage(req.params.twinId, status, page);
      },
    );

    app.get(
      '/twins/:twinId/safety-proposals/:proposalId',
      { schema: { tags: ['safety'], summary: 'One proposal with its impact and decision', params: ProposalParams, response: withErrors({ 200: Proposal }) } },
      async (req) => (await req.ledger()).getSafetyProposal(req.params.twinId, req.params.proposalId),
    );

    app.post(
      '/twins/:twinId/safety-proposals/:proposalId/approve',
      {
        schema: {
          tags: ['safety'],
          summary: "Approve and apply a pending proposal (needs safety:write, in another organization than the proposer's)",
          description:
            '403 SELF_APPROVAL when the caller belongs to the proposing organization; 409 STALE_PROPOSAL when the specification changed ' +
            'since the proposal (propose again); 409 INVALID_STATE when it is already decided. The result lists the element IDs removed and inserted.',
          params: ProposalParams,
          response: withErrors({ 200: CommittedProposal }),
        },
      },
      async (req) => {
        const l = await req.ledger();
        return committed(await req.write('approveSafetyChange', () => l.approveSafetyChange(req.params.twinId, req.params.proposalId)));
      },
    );

    app.post(
      '/twins/:twinId/safety-proposals/:proposalId/reject',
      {
        schema: {
          tags: ['safety'],
          summary: 'Reject a pending proposal (needs safety:write; the proposing organization may withdraw its own)',
          params: ProposalParams,
          body: Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false }),
          response: withErrors({ 200: CommittedProposal }),
        },
      },
      async (req) => {
        const l = await req.ledger();
        return committed(await req.write('rejectSafetyChange', () => l.rejectSafetyChange(req.params.twinId, req.params.proposalId, req.body.reason)));
      },
    );
  };
}
