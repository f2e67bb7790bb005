#!/bin/sh
# `td3d export --format c`: the header of each test policy (export_setup.sh) compiles with
# cc -std=c99 -Wall -Wextra -Werror -pedantic into export_c_check.c, whose actions match
# td3d's (export_ref) to 1e-5 on 1000 random observations and stay within the bounds; two
# headers with different --prefix values share one translation unit, unused, without a
# warning; exporting again gives the same bytes; no temporary file is left.
# usage: export_c.sh TD3D SOURCE_DIR WORK_DIR
set -u
td3d=$1 src=$2 work=$3
cc=${CC:-cc}
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v "$cc" >/dev/null 2>&1 || fail "no C compiler ($cc); tools/deps.sh installs build-essential"
out="$work/c"
rm -rf "$out" && mkdir -p "$out" || fail "cannot make $out"
strict="-std=c99 -Wall -Wextra -Werror -pedantic"

check() { # policy prefix
  p=$1 prefix=$2
  up=$(echo "$prefix" | tr 'a-z' 'A-Z')
  if [ "$prefix" = td3d_policy ]; then flag=""; else flag="--prefix $prefix"; fi
  # shellcheck disable=SC2086
  "$td3d" export --policy "$work/$p.td3p" --format c --out "$out/$p.h" $flag ||
    fail "export of $p failed"
  # shellcheck disable=SC2086
  "$td3d" export --policy "$work/$p.td3p" --out "$out/$p.again.h" $flag >/dev/null ||
    fail "export of $p by the .h extension failed"
  cmp -s "$out/$p.h" "$out/$p.again.h" || fail "two exports of $p differ"
  # shellcheck disable=SC2086
  $cc $strict -O2 -I"$out" "-DPOLICY_HEADER=\"$p.h\"" -DP="$prefix" -DPU="$up" \
    -o "$out/check_$p" "$src/tests/export_c_check.c" -lm || fail "$p.h does not compile cleanly"
  "$out/check_$p" "$work/$p.obs" "$work/$p.act" 1000 1e-5 || fail "$p.h's actions differ from td3d's"
}
check synthetic td3d_policy
check trained pendulum_policy

# Both headers in one unit, nothing called: no clash, no unused-variable warning.
printf '#include "synthetic.h"\n#include "trained.h"\nint main(void) { return 0; }\n' >"$out/both.c"
$cc $strict -Wunused -I"$out" -o "$out/both" "$out/both.c" -lm || fail "two headers do not live together"
grep -q '^#define TD3D_POLICY_ENV_ID "td3d-export-test"$' "$out/synthetic.h" || fail "env id macro"
grep -q '^#define PENDULUM_POLICY_ENV_ID "Pendulum-v1"$' "$out/trained.h" || fail "env id macro (prefixed)"
grep -q 'static inline void td3d_policy_act(const float \*obs, float \*action)' "$out/synthetic.h" ||
  fail "td3d_policy_act missing"
leftover=$(find "$out" -name '*.tmp.*')
[ -z "$leftover" ] || fail "temporary file left: $leftover"
echo ok
