{{/* Chart name, truncated to a DNS label. */}}
{{- define "brixlet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-brixlet, or the release name when it already contains the chart name. */}}
{{- define "brixlet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "brixlet.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "brixlet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels (stable across upgrades). Takes the root context. */}}
{{- define "brixlet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "brixlet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Standard labels. Takes the root context. */}}
{{- define "brixlet.labels" -}}
helm.sh/chart: {{ include "brixlet.chart" . }}
{{ include "brixlet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: brixlet
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component: (dict "root" . "component" "agent"). */}}
{{- define "brixlet.componentLabels" -}}
{{ include "brixlet.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" . "component" "agent"). */}}
{{- define "brixlet.componentSelectorLabels" -}}
{{ include "brixlet.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Image reference: (dict "root" . "image" .Values.agent.image); the tag defaults to the appVersion. */}}
{{- define "brixlet.image" -}}
{{- $repo := default "ghcr.io/brixlet/brixlet" .image.repository -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{- define "brixlet.agentServiceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (printf "%s-agent" (include "brixlet.fullname" .)) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "brixlet.coordinatorServiceAccountName" -}}
{{- if .Values.coordinator.serviceAccount.create -}}
{{- default (printf "%s-coordinator" (include "brixlet.fullname" .)) .Values.coordinator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.coordinator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "brixlet.chaosServiceAccountName" -}}
{{- if .Values.chaos.serviceAccount.create -}}
{{- default (printf "%s-chaos" (include "brixlet.fullname" .)) .Values.chaos.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.chaos.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Secret holding the cluster secret, and its key. */}}
{{- define "brixlet.clusterSecretName" -}}
{{- default (printf "%s-cluster-secret" (include "brixlet.fullname" .)) .Values.clusterSecret.existingSecret -}}
{{- end -}}

{{- define "brixlet.faultsSecretName" -}}
{{- default (printf "%s-faults" (include "brixlet.fullname" .)) .Values.agent.faults.existingSecret -}}
{{- end -}}

{{/* The coordinator's control URL as agents reach it. */}}
{{- define "brixlet.controlUrl" -}}
{{- printf "http://%s-coordinator.%s.svc:%v" (include "brixlet.fullname" .) (include "brixlet.namespace" .) .Values.coordinator.control.port -}}
{{- end -}}

{{/* Namespace the coordinator's namespaced watches use (engine pods, Deployments). */}}
{{- define "brixlet.kubeNamespace" -}}
{{- default (include "brixlet.namespace" .) .Values.coordinator.kubeNamespace -}}
{{- end -}}

{{- define "brixlet.orchestratorNamespace" -}}
{{- default (include "brixlet.kubeNamespace" .) .Values.coordinator.orchestrator.namespace -}}
{{- end -}}

{{/* Whether agents report to the coordinator. */}}
{{- define "brixlet.agentsReport" -}}
{{- if and .Values.coordinator.enabled .Values.coordinator.control.enabled -}}true{{- end -}}
{{- end -}}

{{/* Whether the coordinator talks to the Kubernetes API. */}}
{{- define "brixlet.coordinatorUsesKube" -}}
{{- $c := .Values.coordinator -}}
{{- if or (and $c.gateway.enabled $c.gateway.engineSelector) (and $c.control.enabled (or $c.control.nodeConditions (eq $c.control.auth "kubernetes"))) (and (ne $c.optimizer.enabled "off") (or $c.optimizer.scale $c.optimizer.deploymentSelector)) $c.orchestrator.enabled -}}true{{- end -}}
{{- end -}}

{{/*
Script of the non-root init container that writes Secret values (passed in env) to 0600 files of
the pod's uid on an in-memory emptyDir: brixlet refuses token files that group or others can read,
and a Secret volume is root-owned 0400 (unreadable to a non-root uid) or group-readable with fsGroup.
Arguments: ENV=FILE writes $ENV to FILE; a bare PATH removes PATH (a file a later step creates anew).
*/}}
{{- define "brixlet.secretFileWriterScript" -}}
const fs = require('node:fs'); const path = require('node:path');
for (const spec of process.argv.slice(1)) {
  if (!spec.includes('=')) { fs.rmSync(spec, { force: true }); continue; }
  const [env, file] = spec.split('=');
  const value = (process.env[env] || '').trim();
  if (value.length < 16) { console.error('brixlet-init: ' + env + ' is empty or shorter than 16 characters'); process.exit(1); }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
}
{{- end -}}
