#!/bin/sh
# Checks that .ci/run runs exactly the README's test command (the sh block that runs ctest).
# usage: check_readme.sh REPO_ROOT
set -eu
root=$1
readme_cmd=$(awk '/^```sh$/{f=1; next} /^```$/{f=0} f' "$root/README.md" | grep -m 1 'ctest')
ci_cmd=$(grep -v '^#' "$root/.ci/run" | grep -v -e '^set ' -e '^cd ' -e '^$' | tail -n 1)
if [ -z "$readme_cmd" ] || [ "$readme_cmd" != "$ci_cmd" ]; then
  echo "README test command:  $readme_cmd" >&2
  echo ".ci/run command:      $ci_cmd" >&2
  echo "they differ: .ci/run must run exactly the README's test command" >&2
  exit 1
fi
echo "ok: $ci_cmd"
