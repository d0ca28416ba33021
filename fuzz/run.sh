#!/bin/sh
# Builds the libFuzzer targets in build-fuzz (clang) and runs each for a
# bounded time. Usage: fuzz/run.sh [SECONDS_PER_TARGET]   (default 30)
# Exit status: 0 no crash, 1 a target crashed (its input is saved as
# build-fuzz/fuzz/crash-*), 2 the build failed.
set -u
cd "$(dirname "$0")/.." || exit 2

seconds=${1:-${FUZZ_SECONDS:-30}}
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets="yaml json"

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true || exit 2
else
	meson configure "$build" -Dfuzz=true || exit 2
fi
for t in $targets; do
	ninja -C "$build" "fuzz/fuzz_$t" || exit 2
done

status=0
for t in $targets; do
	# New inputs go to a scratch corpus; the checked-in seeds stay as they are.
	work="$build/fuzz/corpus-$t"
	mkdir -p "$work" || exit 2
	echo "fuzz_$t: ${seconds}s"
	if ! "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$build/fuzz/crash-$t-" "$work" "fuzz/seeds/$t"; then
		echo "fuzz_$t: CRASH (see $build/fuzz/crash-$t-*)" >&2
		status=1
	fi
done
exit $status
