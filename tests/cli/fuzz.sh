#!/bin/bash
# Fuzz the profile loader with libFuzzer (clang, ASan + UBSan):
#   tests/cli/fuzz.sh [SECONDS]        default 60
# Builds fuzz_profile in $FS_FUZZ_BUILD_DIR (default build-fuzz), seeds it
# with the shipped profiles, tests/cli/bad-profiles and the hostile corpus,
# and runs it for SECONDS.  Exits non-zero on a crash, leak, sanitizer
# report or broken promise (see fuzz_profile.cpp); the input is left in
# the build directory as crash-*.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
b=${FS_FUZZ_BUILD_DIR:-$src/build-fuzz}
if ! command -v clang++ >/dev/null; then
	echo "fuzz.sh: clang++ not found (scripts/install-deps.sh installs clang)" >&2
	exit 1
fi
cmake -S "$src" -B "$b" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFASTSOCKET_FUZZ=ON >/dev/null
cmake --build "$b" -j2 --target fuzz_profile
corpus=$b/fuzz-corpus
mkdir -p "$corpus"
for f in "$src"/etc/fastsocket/profiles/*.yaml "$src"/tests/cli/bad-profiles/*.yaml \
	"$src"/tests/cli/hostile/*.yaml; do
	cp "$f" "$corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
done
cd "$b"
# -rss_limit_mb: the loader must stay small whatever the input.
"$b/tests/cli/fuzz_profile" -max_total_time="$secs" -max_len=65536 -timeout=5 \
	-rss_limit_mb=512 -print_final_stats=1 "$corpus"
