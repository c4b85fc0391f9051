{{/* Names and labels every object shares. */}}
{{- define "supaplane.name" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "supaplane.labels" -}}
app.kubernetes.io/part-of: supaplane
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "supaplane.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Host of Studio, the facade and the dashboard GoTrue. */}}
{{- define "supaplane.host" -}}
{{- default (printf "studio.%s" .Values.baseDomain) .Values.dashboard.host -}}
{{- end -}}

{{- define "supaplane.url" -}}
{{- if .Values.ingress.tls.enabled }}https{{ else }}http{{ end }}://{{ include "supaplane.host" . }}
{{- end -}}

{{- define "supaplane.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* The dashboard Secret's value for a key: kept from the installed
     release (so upgrades never rotate it), generated on first install. */}}
{{- define "supaplane.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace (printf "%s-dashboard" (include "supaplane.name" .root)) -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum .length | b64enc -}}
{{- end -}}
{{- end -}}

{{/* Pod security every container runs with. */}}
{{- define "supaplane.containerSecurity" -}}
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Regions as the facade reads them: code=Name,... */}}
{{- define "supaplane.regions" -}}
{{- $regions := list -}}
{{- range .Values.regions -}}
{{- $regions = append $regions (printf "%s=%s" .code .name) -}}
{{- end -}}
{{- join "," $regions -}}
{{- end -}}

{{/* The gateway's nginx configuration. */}}
{{- define "supaplane.gatewayConfig" -}}
{{- $name := include "supaplane.name" . -}}
server {
  listen 8080;
  client_max_body_size 2m;
  proxy_http_version 1.1;
  proxy_set_header Host $host;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;
  proxy_read_timeout 120s;
  location /auth/v1/ {
    proxy_pass http://{{ $name }}-dashboard-auth:9999/;
  }
  location /platform/ {
    proxy_buffering off;
    proxy_pass http://{{ $name }}-facade:8000;
  }
  location /v1/ {
    proxy_pass http://{{ $name }}-facade:8000;
  }
  location = /openapi.json {
    proxy_pass http://{{ $name }}-facade:8000;
  }
  location / {
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";
    proxy_pass http://{{ $name }}-studio:3000;
  }
}
{{- end -}}
