{{/* The chart name, or nameOverride. */}}
{{- define "kubectl-pki-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified app name: the release name if it already contains the
chart name, else RELEASE-CHART (63 characters at most, a DNS label).
*/}}
{{- define "kubectl-pki-exporter.fullname" -}}
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

{{/* The name of the DaemonSet reading node files (and of its Service). */}}
{{- define "kubectl-pki-exporter.hostPathsName" -}}
{{- printf "%s-hostpaths" (include "kubectl-pki-exporter.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart label: name-version. */}}
{{- define "kubectl-pki-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "kubectl-pki-exporter.labels" -}}
helm.sh/chart: {{ include "kubectl-pki-exporter.chart" . }}
{{ include "kubectl-pki-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubectl-pki
{{- end }}

{{/* Labels that select the release's pods and Services (add a component). */}}
{{- define "kubectl-pki-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubectl-pki-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the Deployment runs as. */}}
{{- define "kubectl-pki-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubectl-pki-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image: repository:tag (tag defaults to appVersion), or @digest. */}}
{{- define "kubectl-pki-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* true when the exporter watches only some namespaces (Roles, -n). */}}
{{- define "kubectl-pki-exporter.namespaced" -}}
{{- if or .Values.rbac.namespaced .Values.watchNamespaces }}true{{ end }}
{{- end }}

{{/* The namespaces watched in namespaced mode: watchNamespaces, else the release namespace. */}}
{{- define "kubectl-pki-exporter.watchNamespaces" -}}
{{- $list := .Values.watchNamespaces | default (list .Release.Namespace) }}
{{- toJson (uniq $list) }}
{{- end }}

{{/* get/list/watch: the only verbs the chart ever grants. */}}
{{- define "kubectl-pki-exporter.readVerbs" -}}
verbs: ["get", "list", "watch"]
{{- end }}

{{/*
RBAC rules, read-only. Call with (dict "root" $ "secrets" BOOL "pods" BOOL):
secrets, and with tenants.enabled the TenantControlPlanes, the pki-rotate-*
Leases (a rotation in progress) and, where "pods", the Kamaji controller's
pods (its start time dates the certificates it issues).
*/}}
{{- define "kubectl-pki-exporter.rules" -}}
{{- $tenants := .root.Values.tenants.enabled }}
{{- if .secrets }}
- apiGroups: [""]
  resources: ["secrets"]
  {{- include "kubectl-pki-exporter.readVerbs" . | nindent 2 }}
{{- end }}
{{- if and $tenants .secrets }}
- apiGroups: ["kamaji.clastix.io"]
  resources: ["tenantcontrolplanes"]
  {{- include "kubectl-pki-exporter.readVerbs" . | nindent 2 }}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  {{- include "kubectl-pki-exporter.readVerbs" . | nindent 2 }}
{{- end }}
{{- if and $tenants .pods }}
- apiGroups: [""]
  resources: ["pods"]
  {{- include "kubectl-pki-exporter.readVerbs" . | nindent 2 }}
{{- end }}
{{- end }}
