{{/* The prefix of every object's name: the release, unless it already says spaces-operator. */}}
{{- define "spaces-operator.fullname" -}}
{{- if contains "spaces-operator" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-spaces-operator" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "spaces-operator.serviceAccount" -}}
{{- include "spaces-operator.fullname" . }}-controller-manager
{{- end -}}

{{- define "spaces-operator.labels" -}}
app.kubernetes.io/name: spaces-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "spaces-operator.selector" -}}
app.kubernetes.io/name: spaces-operator
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end -}}

{{/*
The namespaces the manager reads and writes in with watchNamespaces set:
those, and the release namespace (the accounts' Secrets, leader election).
*/}}
{{- define "spaces-operator.roleNamespaces" -}}
{{- $all := append (.Values.watchNamespaces | default list) .Release.Namespace -}}
{{- uniq $all | toJson -}}
{{- end -}}
