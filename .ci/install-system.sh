#!/usr/bin/env bash
# System packages mlpgrade needs: bubblewrap (the default sandbox) and Chromium (the pages'
# browser tests drive Debian's build through Playwright; no `playwright install`). Idempotent
# and quiet when everything is there already.
set -euo pipefail
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v ldd >/dev/null 2>&1 || need+=(libc-bin)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "please install: ${need[*]} (apt-get install -y ${need[*]})" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
