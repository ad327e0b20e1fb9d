# Sourced by scripts/test.sh and scripts/demo.sh: one build folder outside the clone, shared by
# every step (tests, the binaries the tests start, the app) and reused by the next run or the
# next clone when it is there, as hosted CI caches are. An empty folder is a cold run and must
# pass as well. CARGO_TARGET_DIR set by the caller wins.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pos-target}

# A cache is worth nothing if the build then runs out of disk: a full build of every step
# needs about POS_BUILD_SPACE_GB of free space (measured with an empty folder). When the disk
# holds less, the cache is dropped and the run starts cold; when even that is not enough, the
# run stops here with the figures instead of failing later inside a compiler.
POS_BUILD_SPACE_GB=${POS_BUILD_SPACE_GB:-25}
free_gb() {
  local dir=$1
  while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
  df -Pk "$dir" | awk 'NR == 2 { print int($4 / 1048576) }'
}
if [ "$(free_gb "$CARGO_TARGET_DIR")" -lt "$POS_BUILD_SPACE_GB" ] && [ -d "$CARGO_TARGET_DIR" ]; then
  echo "=== build folder: only $(free_gb "$CARGO_TARGET_DIR") GiB free, $POS_BUILD_SPACE_GB needed: dropping the cache $CARGO_TARGET_DIR"
  rm -rf "$CARGO_TARGET_DIR"
fi
if [ "$(free_gb "$CARGO_TARGET_DIR")" -lt "$POS_BUILD_SPACE_GB" ]; then
  echo "=== build folder: only $(free_gb "$CARGO_TARGET_DIR") GiB free on the disk of $CARGO_TARGET_DIR; a build needs about $POS_BUILD_SPACE_GB GiB" >&2
  exit 1
fi
