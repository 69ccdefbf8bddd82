/** Hyperledger Fabric v3.1.5. The module path has no /v3 suffix, so the commit is the version. */
export const FABRIC_COMMIT = '86c1172bec37e6590c6b1ae6f847833df48d65fc';
export const FABRIC_VERSION = '3.1.5';
export const FABRIC_BINARIES = ['peer', 'orderer', 'osnadmin', 'configtxgen', 'cryptogen'] as const;

/** Apache Kafka in KRaft mode, run from Maven Central jars. kafkajs 2.2.4 was checked against it. */
export const KAFKA_VERSION = '4.1.1';
export const LOG4J_VERSION = '2.24.3';
export const SLF4J_VERSION = '2.0.17';
