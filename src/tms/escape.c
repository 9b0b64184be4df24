/* escape.c -- the one place text read from a file is made safe to show.
 *
 * Every name in a .tms file (file names, metric names, meta, HEAD text,
 * even a section tag) is hostile: printed raw it could clear the screen,
 * set the terminal title, forge a line of output or split a one-line error
 * in two.  tmtool's text and CSV renderers, its messages and libtms's own
 * messages all pass such text through tms_escape(). */
#include <stdio.h>
#include <string.h>

#include "tms_private.h"

size_t tms_utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    uint8_t b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2, c = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3, c = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4, c = b & 0x07, min = 0x10000;
    } else {
        return 0;   /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* Code points that move the cursor, change the terminal's state or reorder
 * what is shown, although they are valid UTF-8.  (U+2028/2029 are left
 * alone: terminals do not break lines on them.) */
static int unsafe_cp(uint32_t c)
{
    return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) ||
           (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F ||
           c == 0x061C;
}

size_t tms_escape(char *dst, size_t cap, const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t need = 0, out = 0, at = 0;
    int full = 0;
    while (at < len) {
        char esc[12];
        const char *piece = esc;
        size_t plen;
        uint32_t c = 0;
        size_t k = tms_utf8_next(p + at, len - at, &c);
        if (k == 0) {
            plen = (size_t)snprintf(esc, sizeof esc, "\\x%02x", p[at]);
            k = 1;
        } else if (!unsafe_cp(c)) {
            piece = (const char *)p + at;
            plen = k;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
            plen = 2;
        } else if (c < 0x80) {
            plen = (size_t)snprintf(esc, sizeof esc, "\\x%02x", (unsigned)c);
        } else {
            plen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
        }
        /* whole pieces only, and room for the NUL */
        if (!full && out + plen < cap) {
            memcpy(dst + out, piece, plen);
            out += plen;
        } else {
            full = 1;
        }
        need += plen;
        at += k;
    }
    if (cap > 0)
        dst[out] = '\0';
    return need;
}
