#!/bin/sh
# The image's entry point: fills in each secret that .env leaves empty from the file the compose `init` service
# generated (`tracker init-env` into the `secrets` volume), then runs the service's command. A value set in
# .env or the environment always wins; without the file (another orchestrator) nothing changes.
set -eu
secrets="${TRACKER_SECRETS_FILE:-/run/tracker/secrets.env}"
if [ -r "$secrets" ]; then
  while IFS='=' read -r name value; do
    case "$name" in
      '' | '#'* | *[!A-Z0-9_]*) continue ;;  # comments, and anything that is not a variable name
    esac
    eval "current=\${$name:-}"
    [ -n "$current" ] || export "$name=$value"
  done < "$secrets"
fi
exec "$@"
