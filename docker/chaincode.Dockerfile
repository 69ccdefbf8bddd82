# The TwinLedger chaincode (contracts spec, acl, diag) as a chaincode service: the peer connects
# to it (Fabric's "chaincode as a service"), so it is deployed like any other workload.
#
#   docker build -f docker/chaincode.Dockerfile -t twinledger/chaincode:0.1.0 .
#
# The build context is the repository root (see .dockerignore); chaincode/ is its own npm
# package with its own lockfile. Run with:
#   CHAINCODE_SERVER_ADDRESS  host:port to listen on (default 0.0.0.0:9999)
#   CHAINCODE_ID              the package id the peer installed (label:hash), required
# TLS between peer and chaincode: pass fabric-chaincode-node's --chaincode-tls-* options as
# extra arguments (they are appended to the command).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /chaincode
COPY chaincode/package.json chaincode/package-lock.json ./
# --ignore-scripts: fabric-shim's dependencies need no install step (grpc-js is pure JS).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY chaincode/tsconfig.json ./
COPY chaincode/src/ src/
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="twinledger/chaincode" \
      org.opencontainers.image.description="TwinLedger chaincode (spec, acl, diag contracts) served to the peers as a chaincode service" \
      org.opencontainers.image.source="https://github.com/twinledger/twinledger" \
      org.opencontainers.image.vendor="TwinLedger" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999
WORKDIR /chaincode
COPY --from=build /chaincode/package.json ./
COPY --from=build /chaincode/node_modules/ node_modules/
COPY --from=build /chaincode/dist/ dist/
USER 1000:1000
EXPOSE 9999
# fabric-chaincode-node reads its options from the command line only: the shell form maps the
# env to them and execs, so node is PID 1 and receives SIGTERM.
ENTRYPOINT ["/bin/sh", "-c", "exec node node_modules/fabric-shim/cli.js server --chaincode-address \"$CHAINCODE_SERVER_ADDRESS\" --chaincode-id \"$CHAINCODE_ID\" --module-path /chaincode \"$@\"", "--"]
