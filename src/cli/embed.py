"""Turn a text file into a C array, so tmtool carries its templates
(flame.html) without reading anything at run time.  A byte array, not a
string literal: ISO C only promises literals of 4095 characters.

    python3 embed.py INPUT OUTPUT.c SYMBOL
defines `const char SYMBOL[]` (NUL-terminated) and `const size_t
SYMBOL_len` (without the NUL)."""
import sys


def main(src, out, symbol):
    with open(src, "rb") as f:
        data = f.read()
    if b"\0" in data:
        sys.exit("embed.py: %s contains a NUL byte" % src)
    lines = ["/* Generated from %s by embed.py; do not edit. */" % src.rsplit("/", 1)[-1],
             "#include <stddef.h>",
             "const char %s[] = {" % symbol]
    for k in range(0, len(data), 16):
        lines.append("    " + ", ".join("0x%02x" % b for b in data[k:k + 16]) + ",")
    lines.append("    0x00,\n};")
    lines.append("const size_t %s_len = %d;" % (symbol, len(data)))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: embed.py INPUT OUTPUT.c SYMBOL")
    main(*sys.argv[1:])
