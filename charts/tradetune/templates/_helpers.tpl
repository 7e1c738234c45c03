{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "tradetune.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name: "<release>-tradetune", or the release name when it already
says tradetune. */}}
{{- define "tradetune.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tradetune.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the operator pods; never change them after a release (selectors are
immutable). */}}
{{- define "tradetune.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tradetune.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "tradetune.labels" -}}
helm.sh/chart: {{ include "tradetune.chart" . }}
{{ include "tradetune.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tradetune
{{- end }}

{{- define "tradetune.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tradetune.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "repository:tag" or "repository@digest"; the tag defaults to the chart's appVersion. */}}
{{- define "tradetune.image" -}}
{{- $img := index . 0 }}{{- $ctx := index . 1 }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository (default $ctx.Chart.AppVersion $img.tag) }}
{{- end }}
{{- end }}

{{/* True (non-empty) when the operator watches every namespace. */}}
{{- define "tradetune.clusterWide" -}}
{{- if not .Values.watchNamespaces }}true{{- end }}
{{- end }}

{{/* Name of the kopf peering object; set only when several operator pods run. */}}
{{- define "tradetune.peeringName" -}}
{{- if gt (int .Values.replicaCount) 1 }}{{ include "tradetune.fullname" . }}{{- end }}
{{- end }}

{{/* The operator's API rules: one list, used by the ClusterRole and by every Role. It is the list in
docs/operator.md ("RBAC the operator needs"), which the operator's tests hold equal to the calls it
makes; tests/integration/chart/test_rbac.py holds this list equal to that one. */}}
{{- define "tradetune.rules" -}}
- apiGroups: ["tradetune.dev"]
  resources: ["finetunejobs"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["tradetune.dev"]
  resources: ["finetunejobs/status"]
  verbs: ["patch"]
- apiGroups: ["tradetune.dev"]
  resources: ["modelserves"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["tradetune.dev"]
  resources: ["modelserves/status"]
  verbs: ["patch"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/* kopf peering rights (replicaCount > 1): the cluster-wide kind or the namespaced one. */}}
{{- define "tradetune.peeringVerbs" -}}
["get", "list", "watch", "patch"]
{{- end }}
