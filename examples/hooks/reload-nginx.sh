#!/bin/sh
# A demo hook: a real one would run `nginx -t && systemctl reload nginx`.
# cfgfs gives the change in the environment, never in argv or a shell.
# Exit non-zero to fail: the policy's retries and on_failure apply.
echo "revision $CFGFS_REVISION ($CFGFS_PREVIOUS_COMMIT..$CFGFS_COMMIT) changed:"
printf '%s\n' "$CFGFS_PATHS" | sed 's/^/  /'
# Refuse a config that lost its server block, to show on_failure: revert.
for p in $CFGFS_PATHS; do
	case "$p" in
	*.conf) grep -q 'server' "$CFGFS_MOUNT/$p" 2>/dev/null || { echo "no server block in $p" >&2; exit 1; } ;;
	esac
done
echo "would reload nginx now"
