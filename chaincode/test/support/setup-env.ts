// fabric-contract-api logs every decorator at info level when the contracts load.
process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
