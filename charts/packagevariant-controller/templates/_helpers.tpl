{{/* The chart's name, at most 63 characters. */}}
{{- define "packagevariant-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: the release name when it holds the chart's name (as
`helm install packagevariant-controller ...`, which names the objects as config/default does),
otherwise "<release>-<chart>".
*/}}
{{- define "packagevariant-controller.fullname" -}}
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

{{- define "packagevariant-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "packagevariant-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object (config/default's two, plus Helm's). */}}
{{- define "packagevariant-controller.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "packagevariant-controller.selectorLabels" . }}
app.kubernetes.io/part-of: packagevariant-controller
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The controller's pods. */}}
{{- define "packagevariant-controller.podSelectorLabels" -}}
{{ include "packagevariant-controller.selectorLabels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "packagevariant-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "packagevariant-controller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "packagevariant-controller.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Exactly the API calls the controller makes (controllers/kube-store.ts); docs/deployment.md lists why
each rule is here. The same rules as config/rbac/role.yaml.
*/}}
{{- define "packagevariant-controller.rules" -}}
# PackageVariants: informer (list, watch); finalizers (patch); a PackageVariantSet creates,
# replaces and deletes its variants.
- apiGroups: [packagevariant.dev]
  resources: [packagevariants]
  verbs: [get, list, watch, create, update, patch, delete]
# PackageVariantSets: informer; finalizers (patch).
- apiGroups: [packagevariant.dev]
  resources: [packagevariantsets]
  verbs: [get, list, watch, patch]
# Status is a merge patch on the status subresource.
- apiGroups: [packagevariant.dev]
  resources: [packagevariants/status, packagevariantsets/status]
  verbs: [patch]
# blockOwnerDeletion on a set's variants needs update on the owner's finalizers.
- apiGroups: [packagevariant.dev]
  resources: [packagevariantsets/finalizers]
  verbs: [update]
# Repositories are only read.
- apiGroups: [packagevariant.dev]
  resources: [repositories]
  verbs: [get, list, watch]
# Git credentials: read through an informer, never written.
- apiGroups: ['']
  resources: [secrets]
  verbs: [get, list, watch]
# Config injection sources (ConfigMaps by default) and objectSelector targets of PackageVariantSets.
- apiGroups: ['']
  resources: [configmaps]
  verbs: [get, list, watch]
# core/v1 Events about PackageVariants and PackageVariantSets; repeats raise the count (patch).
- apiGroups: ['']
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* Read access to further injection source and set target kinds (rbac.injectionResources). */}}
{{- define "packagevariant-controller.injectionRules" -}}
{{- range .Values.rbac.injectionResources }}
- apiGroups: {{ required "every rbac.injectionResources entry needs apiGroups" .apiGroups | toJson }}
  resources: {{ required "every rbac.injectionResources entry needs resources" .resources | toJson }}
  verbs: [get, list, watch]
{{- end }}
{{- end }}
