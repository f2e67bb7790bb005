#!/bin/sh
# SVG files td3d writes are well-formed XML with nothing after the document (an XML parser
# reads them) and render (rsvg-convert draws them to PNG).
# usage: svg_valid.sh FILE.svg...
set -eu
command -v python3 >/dev/null || { echo "python3 is needed (tools/deps.sh installs it)" >&2; exit 1; }
for f in "$@"; do
  python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); assert r.tag.endswith("svg"), r.tag' "$f" ||
    { echo "FAIL: $f is not a well-formed SVG document" >&2; exit 1; }
  if command -v rsvg-convert >/dev/null; then
    png=$(mktemp /tmp/td3d_svg.XXXXXX.png)
    if ! rsvg-convert -o "$png" "$f"; then rm -f "$png"; echo "FAIL: rsvg-convert refuses $f" >&2; exit 1; fi
    [ -s "$png" ] || { rm -f "$png"; echo "FAIL: rsvg-convert drew nothing for $f" >&2; exit 1; }
    rm -f "$png"
    echo "ok: $f parses and renders"
  else
    echo "ok: $f parses (rsvg-convert not installed: not rendered; tools/deps.sh installs librsvg2-bin)"
  fi
done
