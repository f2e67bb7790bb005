#!/bin/sh
# Runs `promtool check metrics` on the exposition test_status scraped from a live learner
# (argument: the file). Exits 77 (skipped) when promtool is not installed.
set -u
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found (Debian package 'prometheus'): skipping the exposition check"
  exit 77
fi
if [ ! -s "$1" ]; then
  echo "no scraped exposition at $1 (test_status writes it)" >&2
  exit 1
fi
out=$(promtool check metrics < "$1" 2>&1)
rc=$?
echo "$out"
# Warnings (lint problems) are failures too: promtool prints them and may still exit 0.
if [ $rc -ne 0 ] || [ -n "$out" ]; then exit 1; fi
echo "promtool: no problems"
