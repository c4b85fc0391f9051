#!/bin/sh
# Writes this install's public URL into Studio's built files, where Next.js
# inlined the build-time placeholder, then starts Studio.
set -eu
placeholder="https://supaplane-public-url.invalid"
url="${SUPAPLANE_PUBLIC_URL:?set SUPAPLANE_PUBLIC_URL to the URL Studio is served at}"
case "$url" in
  http://*|https://*) ;;
  *) echo "SUPAPLANE_PUBLIC_URL must start with http:// or https://" >&2; exit 1 ;;
esac
# The URL goes into sed as a literal: escape what sed treats specially.
escaped=$(printf '%s' "${url%/}" | sed 's/[&|\\]/\\&/g')
grep -rlF "$placeholder" /app/apps/studio/.next /app/apps/studio/server.js 2>/dev/null \
  | while read -r file; do sed -i "s|$placeholder|$escaped|g" "$file"; done
exec "$@"
