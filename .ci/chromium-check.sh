#!/usr/bin/env bash
# Renders a report page in headless Chromium and checks that the screenshot is not blank.
#
#   .ci/chromium-check.sh REPORT_HTML OUT_PNG
#
# Chromium: $HANDPROP_CHROMIUM if set, else `chromium` on PATH, else Debian's package is installed
# (needs root and the package registry). The check needs only python3's standard library: it decodes
# the PNG itself and requires enough non-white pixels and distinct colours to rule out an empty,
# white or error page. The flags keep Chromium off the network (this machine has none) and away
# from any existing profile.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 REPORT_HTML OUT_PNG" >&2
    exit 2
fi
html=$1
out=$2
[ -f "$html" ] || { echo "chromium-check: no such file: $html" >&2; exit 2; }

chromium=${HANDPROP_CHROMIUM:-}
if [ -z "$chromium" ]; then
    chromium=$(command -v chromium || true)
fi
if [ -z "$chromium" ]; then
    echo "chromium-check: installing Debian's chromium" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    chromium=$(command -v chromium)
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
html_abs=$(realpath "$html")
out_abs=$(realpath -m "$out")
rm -f "$out_abs"

timeout 180 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --screenshot="$out_abs" --window-size=1280,4000 \
    "file://$html_abs" >"$profile/chromium.log" 2>&1 || {
    echo "chromium-check: chromium failed; its output:" >&2
    cat "$profile/chromium.log" >&2
    exit 1
}
[ -s "$out_abs" ] || { echo "chromium-check: chromium wrote no screenshot" >&2; cat "$profile/chromium.log" >&2; exit 1; }

python3 - "$out_abs" <<'PY'
"""Decodes an 8-bit RGB/RGBA PNG with the standard library and checks it is not blank."""
import struct, sys, zlib

path = sys.argv[1]
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit(f"chromium-check: {path} is not a PNG")
pos, idat, ihdr = 8, [], None
while pos < len(data):
    (length,) = struct.unpack(">I", data[pos:pos + 4])
    kind = data[pos + 4:pos + 8]
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat.append(body)
    pos += 12 + length
width, height, depth, colour_type, _, _, interlace = ihdr
if depth != 8 or colour_type not in (2, 6) or interlace != 0:
    sys.exit(f"chromium-check: unsupported PNG (depth {depth}, colour type {colour_type}, interlace {interlace})")
bpp = 3 if colour_type == 2 else 4
raw = zlib.decompress(b"".join(idat))
stride = width * bpp
prev = bytearray(stride)
non_white = 0
colours = set()
for y in range(height):
    f = raw[y * (stride + 1)]
    row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 1:
        for i in range(bpp, stride):
            row[i] = (row[i] + row[i - bpp]) & 255
    elif f == 2:
        row = bytearray((a + b) & 255 for a, b in zip(row, prev))
    elif f == 3:
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + ((left + prev[i]) >> 1)) & 255
    elif f == 4:
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            row[i] = (row[i] + pr) & 255
    prev = row
    # Count every second pixel of every second row: plenty to tell a page from a blank one.
    if y % 2 == 0:
        for x in range(0, stride, 2 * bpp):
            px = bytes(row[x:x + 3])
            if px != b"\xff\xff\xff":
                non_white += 1
            colours.add(px)
sampled = ((height + 1) // 2) * ((width + 1) // 2)
share = non_white / sampled
print(f"chromium-check: {path}: {width}x{height}, {share:.1%} non-white, {len(colours)} distinct colours")
if share < 0.02 or len(colours) < 32:
    sys.exit("chromium-check: the screenshot looks blank (need >= 2% non-white pixels and >= 32 colours)")
PY
