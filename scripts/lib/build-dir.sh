# Sourced by scripts/test.sh and scripts/demo.sh: one build folder outside the clone, shared by
# every step (tests, the binaries the tests start, the app) and reused by the next run or the
# next clone when it is there, as hosted CI caches are. An empty folder is a cold run and must
# pass as well. CARGO_TARGET_DIR set by the caller wins.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pos-target}
