import { MSP_ID } from '@twinledger/dht';
import { Sha256Hex, Type } from '@twinledger/service-kit';

/** An ACL party: the DHT's own rule for MSP IDs (acl-record.ts), so the schema refuses what the record would. */
export const MspId = Type.String({ pattern: MSP_ID.source, description: 'Fabric MSP id' });
export const RefParams = Type.Object({ ref: Sha256Hex }, { additionalProperties: false });
