{{/* Release-scoped names: <release>-<chart> unless the release name already holds the chart name. */}}
{{- define "twinledger.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: <fullname>-<component>. Call with (list $ "spec-service"). */}}
{{- define "twinledger.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "twinledger.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object of the release, less the instance label (see twinledger.labels). */}}
{{- define "twinledger.baseLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: twinledger
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
twinledger.io/msp-id: {{ .Values.org.mspId | quote }}
{{- end -}}

{{/* Labels of release-wide objects. */}}
{{- define "twinledger.labels" -}}
{{ include "twinledger.baseLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one component. Call with (list $ "spec-service"). */}}
{{- define "twinledger.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- end -}}

{{/* All labels of one component's objects. */}}
{{- define "twinledger.componentLabels" -}}
{{ include "twinledger.baseLabels" (index . 0) }}
{{ include "twinledger.selectorLabels" . }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "twinledger.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "twinledger.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* twinledger/<service>:<tag>, tag defaulting to the chart's appVersion. */}}
{{- define "twinledger.image" -}}
{{- $root := index . 0 -}}
{{- $repo := printf "%s/%s" $root.Values.image.repositoryPrefix (index . 1) -}}
{{- if $root.Values.image.registry -}}
{{- $repo = printf "%s/%s" $root.Values.image.registry $repo -}}
{{- end -}}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $root.Values.image.tag) -}}
{{- end -}}

{{/* In-cluster URL of a component's HTTP port. Call with (list $ "dht-gateway" port). */}}
{{- define "twinledger.url" -}}
{{- printf "http://%s:%v" (include "twinledger.componentName" (list (index . 0) (index . 1))) (index . 2) -}}
{{- end -}}

{{/* Pod-level settings shared by every workload. */}}
{{- define "twinledger.podSpecCommon" -}}
serviceAccountName: {{ include "twinledger.serviceAccountName" . }}
# No service needs the Kubernetes API: no token in the pods.
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Container-level settings shared by every container. Call with (list $ component values), or
     (list $ component values p2pPort) for a container that also runs a libp2p DHT node. */}}
{{- define "twinledger.containerCommon" -}}
{{- $root := index . 0 -}}
{{- $c := index . 2 -}}
image: {{ include "twinledger.image" (list $root (index . 1)) }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml $root.Values.containerSecurityContext | nindent 2 }}
resources:
  {{- toYaml $c.resources | nindent 2 }}
ports:
  - name: http
    containerPort: {{ $c.port }}
    protocol: TCP
  {{- if gt (len .) 3 }}
  - name: p2p
    containerPort: {{ index . 3 }}
    protocol: TCP
  {{- if $root.Values.dht.dataChannel.enabled }}
  - name: dht-data
    containerPort: {{ $root.Values.dht.dataChannel.port }}
    protocol: TCP
  {{- end }}
  {{- end }}
startupProbe:
  httpGet: { path: /healthz, port: http }
  {{- toYaml $root.Values.probes.startup | nindent 2 }}
livenessProbe:
  httpGet: { path: /healthz, port: http }
  {{- toYaml $root.Values.probes.liveness | nindent 2 }}
readinessProbe:
  httpGet: { path: /readyz, port: http }
  {{- toYaml $root.Values.probes.readiness | nindent 2 }}
{{- end -}}

{{/* Environment every service reads. Call with (list $ component values). */}}
{{- define "twinledger.envCommon" -}}
{{- $root := index . 0 -}}
{{- $c := index . 2 -}}
# Listen on all pod interfaces (the services default to 127.0.0.1 for local runs).
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ $c.port | int64 | quote }}
- name: LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: MSP_ID
  value: {{ $root.Values.org.mspId | quote }}
{{- end -}}

{{/* No user-facing pod holds the organization's Admin key (issue #17): every fabric.identities
     entry is mounted into spec-service, acl-service and feed-ingest, so none may be an admin.
     What the chart can check (it never reads a Secret's content): the name (Admin, admin,
     Admin@..., case-insensitive), the operator's own `admin: true` flag on an entry, and that no
     entry uses the Secret of adminJobs.registerParty. An admin certificate (OU=admin) stored
     under another name and Secret is the operator's responsibility (docs/operator-guide.md). */}}
{{- define "twinledger.checkIdentities" -}}
{{- $adminSecret := "" -}}
{{- with .Values.adminJobs -}}{{- with .registerParty -}}{{- with .adminIdentity -}}{{- $adminSecret = .existingSecret | default "" -}}{{- end -}}{{- end -}}{{- end -}}
{{- range .Values.fabric.identities -}}
{{- if regexMatch "^(?i)admin($|[^a-z0-9])" .name -}}
{{- fail (printf "fabric.identities: %q looks like the organization's Admin identity; no service pod may hold it (issue #17). Register the party with adminJobs.registerParty instead" .name) -}}
{{- end -}}
{{- if .admin -}}
{{- fail (printf "fabric.identities: %q is marked admin: true; no service pod may hold an admin identity (issue #17). Use adminJobs.registerParty for admin commands" .name) -}}
{{- end -}}
{{- if and $adminSecret (eq .existingSecret $adminSecret) -}}
{{- fail (printf "fabric.identities: %q uses Secret %q, the Admin Secret of adminJobs.registerParty; no service pod may mount it" .name $adminSecret) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Fails unless a service's identity names a fabric.identities entry. Call with (list $ "<values path>" name). */}}
{{- define "twinledger.requireIdentity" -}}
{{- $root := index . 0 -}}
{{- $want := index . 2 -}}
{{- $found := false -}}
{{- range $root.Values.fabric.identities }}{{ if eq .name $want }}{{ $found = true }}{{ end }}{{ end -}}
{{- if not $found -}}
{{- fail (printf "%s %q must name one of fabric.identities" (index . 1) $want) -}}
{{- end -}}
{{- end -}}

{{/* Fabric peer connection env (spec-service, acl-service, feed-ingest). */}}
{{- define "twinledger.envFabric" -}}
- name: FABRIC_IDENTITIES_DIR
  value: /etc/twinledger/fabric/identities
- name: PEER_ENDPOINT
  value: {{ .Values.fabric.peer.endpoint | quote }}
- name: PEER_TLS_ROOT_CERT
  value: /etc/twinledger/fabric/peer-tls/ca.crt
{{- if .Values.fabric.peer.hostAlias }}
- name: PEER_HOST_ALIAS
  value: {{ .Values.fabric.peer.hostAlias | quote }}
{{- end }}
- name: CHANNEL
  value: {{ .Values.fabric.channel | quote }}
- name: CHAINCODE
  value: {{ .Values.fabric.chaincode | quote }}
{{- end -}}

{{/* How spec-service and acl-service probe the peer (PEER_PROBE_*, issue #27). */}}
{{- define "twinledger.envPeerHealth" -}}
{{- $h := .Values.fabric.peer.health | default dict -}}
{{- $interval := $h.probeIntervalMs | default 1000 | int64 -}}
{{- $timeout := $h.probeTimeoutMs | default 400 | int64 -}}
{{- if ge $timeout $interval -}}
{{- fail (printf "fabric.peer.health.probeTimeoutMs (%d) must be below fabric.peer.health.probeIntervalMs (%d)" $timeout $interval) -}}
{{- end -}}
- name: PEER_PROBE_INTERVAL_MS
  value: {{ $interval | quote }}
- name: PEER_PROBE_TIMEOUT_MS
  value: {{ $timeout | quote }}
{{- end -}}

{{/* Fabric volume mounts (identities as <name>/cert.pem + key.pem, the peer's TLS CA). */}}
{{- define "twinledger.fabricMounts" -}}
- name: fabric-identities
  mountPath: /etc/twinledger/fabric/identities
  readOnly: true
- name: peer-tls
  mountPath: /etc/twinledger/fabric/peer-tls
  readOnly: true
{{- end -}}

{{- define "twinledger.fabricVolumes" -}}
- name: fabric-identities
  projected:
    defaultMode: 0440
    sources:
      {{- range .Values.fabric.identities }}
      - secret:
          name: {{ .existingSecret }}
          items:
            - key: {{ .certKey | default "cert.pem" }}
              path: {{ .name }}/cert.pem
            - key: {{ .keyKey | default "key.pem" }}
              path: {{ .name }}/key.pem
      {{- end }}
- name: peer-tls
  secret:
    secretName: {{ .Values.fabric.peer.tlsCa.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.fabric.peer.tlsCa.key }}
        path: ca.crt
{{- end -}}

{{/* The issuer's JWKS. */}}
{{- define "twinledger.jwksVolume" -}}
- name: jwks
  secret:
    secretName: {{ .Values.auth.jwks.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.auth.jwks.key }}
        path: jwks.json
{{- end -}}

{{/* The party registry's source: "ledger" (default) or "static". */}}
{{- define "twinledger.partySource" -}}
{{- .Values.dht.partyRegistry.source | default "ledger" -}}
{{- end -}}

{{/* The fabric.identities entry the DHT services read the party registry as (ledger source). */}}
{{- define "twinledger.registryIdentity" -}}
{{- $want := .Values.dht.partyRegistry.identity -}}
{{- $found := dict -}}
{{- range .Values.fabric.identities }}{{ if eq .name $want }}{{ $found = . }}{{ end }}{{ end -}}
{{- if not $found -}}
{{- fail (printf "dht.partyRegistry.identity %q must name one of fabric.identities" $want) -}}
{{- end -}}
{{- toJson $found -}}
{{- end -}}

{{/* Party registry env of a DHT service: the ledger through the org's peer (PEER_ENDPOINT and a
     client identity; parties followed on PartyRegistered events), or the static list from
     dht.parties. Call with (list $ "<file name in the parties ConfigMap>"). */}}
{{- define "twinledger.envPartyRegistry" -}}
{{- $root := index . 0 -}}
{{- if eq (include "twinledger.partySource" $root) "ledger" }}
- name: PEER_ENDPOINT
  value: {{ $root.Values.fabric.peer.endpoint | quote }}
- name: PEER_TLS_ROOT_CERT
  value: /etc/twinledger/fabric/peer-tls/ca.crt
{{- if $root.Values.fabric.peer.hostAlias }}
- name: PEER_HOST_ALIAS
  value: {{ $root.Values.fabric.peer.hostAlias | quote }}
{{- end }}
- name: CHANNEL
  value: {{ $root.Values.fabric.channel | quote }}
- name: CHAINCODE
  value: {{ $root.Values.fabric.chaincode | quote }}
- name: FABRIC_CERT_FILE
  value: /etc/twinledger/fabric/registry-identity/cert.pem
- name: FABRIC_KEY_FILE
  value: /etc/twinledger/fabric/registry-identity/key.pem
- name: PARTY_REFRESH_MS
  value: {{ $root.Values.dht.partyRegistry.refreshMs | int64 | quote }}
{{- else }}
- name: PARTY_REGISTRY_FILE
  value: /etc/twinledger/parties/{{ index . 1 }}
{{- end }}
{{- end -}}

{{/* DHT key material and the party registry's source (dht-gateway and feed-ingest's embedded node).
     Call with (list $ withPeerTls): feed-ingest mounts the peer's TLS CA with its Fabric volumes. */}}
{{- define "twinledger.dhtVolumes" -}}
{{- $withPeerTls := index . 1 -}}
{{- with index . 0 }}
- name: dht-keys
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ .Values.dht.swarmKey.existingSecret }}
          items:
            - key: {{ .Values.dht.swarmKey.key }}
              path: swarm.key
      - secret:
          name: {{ .Values.dht.encryptionKey.existingSecret }}
          items:
            - key: {{ .Values.dht.encryptionKey.key }}
              path: x25519.key
{{- if eq (include "twinledger.partySource" .) "ledger" }}
{{- $id := include "twinledger.registryIdentity" . | fromJson }}
- name: registry-identity
  secret:
    secretName: {{ $id.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $id.certKey | default "cert.pem" }}
        path: cert.pem
      - key: {{ $id.keyKey | default "key.pem" }}
        path: key.pem
{{- if $withPeerTls }}
- name: peer-tls
  secret:
    secretName: {{ .Values.fabric.peer.tlsCa.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.fabric.peer.tlsCa.key }}
        path: ca.crt
{{- end }}
{{- else }}
- name: parties
  configMap:
    name: {{ include "twinledger.componentName" (list . "parties") }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Call with (list $ withPeerTls), as twinledger.dhtVolumes. */}}
{{- define "twinledger.dhtMounts" -}}
{{- $withPeerTls := index . 1 -}}
{{- with index . 0 }}
- name: dht-keys
  mountPath: /etc/twinledger/dht
  readOnly: true
{{- if eq (include "twinledger.partySource" .) "ledger" }}
- name: registry-identity
  mountPath: /etc/twinledger/fabric/registry-identity
  readOnly: true
{{- if $withPeerTls }}
- name: peer-tls
  mountPath: /etc/twinledger/fabric/peer-tls
  readOnly: true
{{- end }}
{{- else }}
- name: parties
  mountPath: /etc/twinledger/parties
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/* Writable /tmp: the root filesystem is read-only. */}}
{{- define "twinledger.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{- define "twinledger.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Libp2p multiaddr the DHT nodes listen on, inside the pod. */}}
{{/* The data channel's env (ADR-21), the same for every DHT node of the org. */}}
{{- define "twinledger.envDhtData" -}}
- name: DHT_DATA_CHANNEL
  value: {{ .Values.dht.dataChannel.enabled | quote }}
- name: DHT_DATA_CHANNEL_METADATA
  value: {{ .Values.dht.dataChannel.metadata | quote }}
- name: DHT_DATA_PORT
  value: {{ .Values.dht.dataChannel.port | int64 | quote }}
{{- end -}}

{{- define "twinledger.dhtListen" -}}
{{- printf "/ip4/0.0.0.0/tcp/%v" .Values.dht.p2pPort -}}
{{- end -}}

{{/* Scheduling fields of one component. */}}
{{- define "twinledger.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
