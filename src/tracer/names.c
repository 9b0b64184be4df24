/* names.c -- the one rule between Python's str and the bytes of a .tms
 * string (filenames, metric names, meta, header text).
 *
 * Bytes are UTF-8.  A str that is not valid UTF-8 text is stored as
 * os.fsencode stores a path: a lone surrogate U+DC80..U+DCFF (what
 * os.fsdecode makes of an undecodable byte) becomes that byte 0x80..0xFF
 * ("surrogateescape").  Any other lone surrogate, which no path decodes
 * to, is kept as its 3-byte form ("surrogatepass") rather than lost.
 * Reading is the inverse: strict UTF-8; else "surrogatepass" if that
 * explains every byte without producing U+DC80..U+DCFF; else
 * "surrogateescape", which accepts any bytes (SPEC 1.3: a reader never
 * rejects a string for not being UTF-8).  So bytes -> str -> bytes is
 * exact, and str -> bytes -> str is exact unless one string mixes both
 * kinds of lone surrogate.
 *
 * The encoder runs inside the allocator hooks: it reads the str's
 * canonical representation and allocates nothing through Python, runs
 * no codec and raises nothing (PyUnicode_AsUTF8AndSize would do all
 * three, and under CPython's tracemalloc that deadlocked; issue 10). */
#include "core.h"

#include "tmt_alloc.h"

/* Bytes of one code point under the rule. */
static inline size_t cp_len(Py_UCS4 c)
{
    if (c < 0x80)
        return 1;
    if (c < 0x800)
        return 2;
    if (c >= 0xDC80 && c <= 0xDCFF)
        return 1;
    return c < 0x10000 ? 3 : 4;
}

static inline char *cp_put(char *d, Py_UCS4 c)
{
    if (c < 0x80) {
        *d++ = (char)c;
    } else if (c < 0x800) {
        *d++ = (char)(0xC0 | (c >> 6));
        *d++ = (char)(0x80 | (c & 0x3F));
    } else if (c >= 0xDC80 && c <= 0xDCFF) {
        *d++ = (char)(c - 0xDC00);
    } else if (c < 0x10000) {
        *d++ = (char)(0xE0 | (c >> 12));
        *d++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *d++ = (char)(0x80 | (c & 0x3F));
    } else {
        *d++ = (char)(0xF0 | (c >> 18));
        *d++ = (char)(0x80 | ((c >> 12) & 0x3F));
        *d++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *d++ = (char)(0x80 | (c & 0x3F));
    }
    return d;
}

/* 1 if str's characters can be read in place without any call that might
 * allocate.  Before 3.12 a str made by the deprecated wchar_t API may not
 * be "ready"; making it ready allocates, so such a str is refused
 * (code objects' filenames are always ready). */
static int readable(PyObject *str)
{
    if (str == NULL || !PyUnicode_Check(str))
        return 0;
#if PY_VERSION_HEX < 0x030C0000
    if (!PyUnicode_IS_READY(str))
        return 0;
#endif
    return 1;
}

size_t tmt_name_encode(PyObject *str, char *dst, size_t cap)
{
    if (!readable(str))
        return SIZE_MAX;
    Py_ssize_t n = PyUnicode_GET_LENGTH(str);
    if (PyUnicode_IS_ASCII(str)) {
        size_t k = (size_t)n < cap ? (size_t)n : cap;
        if (dst != NULL)
            memcpy(dst, PyUnicode_DATA(str), k);
        return k;
    }
    int kind = PyUnicode_KIND(str);
    const void *data = PyUnicode_DATA(str);
    size_t used = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        size_t l = cp_len(c);
        if (used + l > cap)
            break; /* truncate on a character boundary */
        if (dst != NULL)
            cp_put(dst + used, c);
        used += l;
    }
    return used;
}

char *tmt_name_copy(PyObject *str, size_t max, uint32_t *len)
{
    size_t n = tmt_name_encode(str, NULL, max);
    if (n == SIZE_MAX || n > UINT32_MAX)
        return NULL;
    char *d = tmt_malloc(n + 1);
    if (d == NULL)
        return NULL;
    tmt_name_encode(str, d, n);
    d[n] = '\0';
    *len = (uint32_t)n;
    return d;
}

PyObject *tmt_name_bytes(PyObject *str)
{
    if (!readable(str)) {
        PyErr_Format(PyExc_TypeError, "expected a str, not %.100s",
                     Py_TYPE(str)->tp_name);
        return NULL;
    }
    size_t n = tmt_name_encode(str, NULL, (size_t)PY_SSIZE_T_MAX);
    PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (b != NULL)
        tmt_name_encode(str, PyBytes_AS_STRING(b), n);
    return b;
}

/* 1 if u holds a character in U+DC80..U+DCFF. */
static int has_escape(PyObject *u)
{
    int kind = PyUnicode_KIND(u);
    const void *data = PyUnicode_DATA(u);
    if (kind == PyUnicode_1BYTE_KIND)
        return 0;
    for (Py_ssize_t i = 0, n = PyUnicode_GET_LENGTH(u); i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= 0xDC80 && c <= 0xDCFF)
            return 1;
    }
    return 0;
}

PyObject *tmt_name_decode(const char *data, size_t len)
{
    PyObject *u = PyUnicode_DecodeUTF8(data, (Py_ssize_t)len, NULL);
    if (u != NULL || !PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        return u;
    PyErr_Clear();
    u = PyUnicode_DecodeUTF8(data, (Py_ssize_t)len, "surrogatepass");
    if (u != NULL && !has_escape(u))
        return u;
    if (u == NULL && !PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        return NULL;
    Py_XDECREF(u);
    PyErr_Clear();
    return PyUnicode_DecodeUTF8(data, (Py_ssize_t)len, "surrogateescape");
}
