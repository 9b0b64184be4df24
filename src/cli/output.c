/* output.c -- messages, colours, formats, JSON/CSV helpers, progress and
 * the final stdout check.  Data goes to stdout, everything else to stderr. */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "tma.h"
#include "tms.h"

static int quiet_;
static int color_;

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
    /* One fprintf per line keeps lines whole when stderr is shared; a
     * long message (a long path) gets a buffer of its size, not a cut.
     * The escape keeps it one line whatever a file or a path holds. */
    char small[1024], *buf = small;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= (int)sizeof small && (buf = malloc((size_t)n + 1)) != NULL)
        vsnprintf(buf, (size_t)n + 1, fmt, again);
    va_end(again);
    char *shown = tm_escaped(buf ? buf : small);
    if (shown != NULL) {
        fprintf(stderr, "tmtool: %s%s\n", prefix, shown);
        free(shown);
    } else {
        fprintf(stderr, "tmtool: %s", prefix);
        tma_text_escaped(stderr, buf ? buf : small);
        fputc('\n', stderr);
    }
    if (buf != small)
        free(buf);
}

char *tm_escaped(const char *s)
{
    size_t n = strlen(s), need = tms_escape(NULL, 0, s, n);
    char *e = malloc(need + 1);
    if (e != NULL)
        tms_escape(e, need + 1, s, n);
    return e;
}

void tm_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
}

void tm_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("warning: ", fmt, ap);
    va_end(ap);
}

int tm_format_parse(const char *text, tm_format *out)
{
    if (strcmp(text, "text") == 0)
        *out = TM_FORMAT_TEXT;
    else if (strcmp(text, "json") == 0)
        *out = TM_FORMAT_JSON;
    else if (strcmp(text, "csv") == 0)
        *out = TM_FORMAT_CSV;
    else {
        tm_error("unknown format '%s' (expected text, json or csv)", text);
        return -1;
    }
    return 0;
}

int tm_color_parse(const char *text, tm_color_mode *out)
{
    if (strcmp(text, "auto") == 0)
        *out = TM_COLOR_AUTO;
    else if (strcmp(text, "always") == 0)
        *out = TM_COLOR_ALWAYS;
    else if (strcmp(text, "never") == 0)
        *out = TM_COLOR_NEVER;
    else {
        tm_error("unknown color mode '%s' (expected auto, always or never)",
                 text);
        return -1;
    }
    return 0;
}

void tm_color_setup(tm_color_mode mode)
{
    const char *no_color = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    switch (mode) {
    case TM_COLOR_ALWAYS: color_ = 1; break;
    case TM_COLOR_NEVER: color_ = 0; break;
    case TM_COLOR_AUTO:
        color_ = isatty(STDOUT_FILENO) &&
                 !(no_color != NULL && no_color[0] != '\0') &&
                 !(term != NULL && strcmp(term, "dumb") == 0);
        break;
    }
}

int tm_color_enabled(void)
{
    return color_;
}

const char *tm_color_on(tma_role role)
{
    return tma_color_on(color_, role);
}

const char *tm_color_off(void)
{
    return tma_color_off(color_);
}

void tm_set_quiet(int quiet)
{
    quiet_ = quiet;
}

int tm_is_quiet(void)
{
    return quiet_;
}

/* ---- progress ---------------------------------------------------------- */

struct tm_progress {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int shown;
    char what[300];
};

static void *progress_main(void *arg)
{
    tm_progress *p = arg;
    struct timespec start, now, until;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_mutex_lock(&p->lock);
    long step_ms = 400;   /* nothing for a quick read */
    while (!p->done) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += step_ms * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &until);
        if (p->done)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double secs = (double)(now.tv_sec - start.tv_sec) +
                      (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        fprintf(stderr, "\rtmtool: %s... %.1f s", p->what, secs);
        fflush(stderr);
        p->shown = 1;
        step_ms = 200;
    }
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

tm_progress *tm_progress_start(const char *verb, const char *path)
{
    if (quiet_ || !isatty(STDERR_FILENO))
        return NULL;
    tm_progress *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    snprintf(p->what, sizeof p->what, "%s '%s'", verb, path);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->thread, NULL, progress_main, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
        return NULL;
    }
    return p;
}

void tm_progress_done(tm_progress *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->done = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

/* ---- JSON ---------------------------------------------------------------- */

cJSON *tm_json_doc(const char *command)
{
    cJSON *root = cJSON_CreateObject();
    if (root == NULL ||
        tm_json_add_u64(root, "schema_version", TM_JSON_SCHEMA_VERSION) < 0 ||
        tm_json_add_str(root, "tool", "tmtool") < 0 ||
        tm_json_add_str(root, "tool_version", TMTOOL_VERSION) < 0 ||
        tm_json_add_str(root, "command", command) < 0) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* cJSON stores numbers as double, exact only below 2^53; raw text keeps a
 * 64-bit size or count exact. */
int tm_json_add_u64(cJSON *obj, const char *name, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_AddRawToObject(obj, name, buf) ? 0 : -1;
}

int tm_json_add_i64(cJSON *obj, const char *name, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return cJSON_AddRawToObject(obj, name, buf) ? 0 : -1;
}

/* The JSON text of s with invalid bytes as \udcXX; valid sequences are
 * copied, '"', '\\' and control characters escaped as cJSON would. */
static char *surrogate_literal(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(6 * n + 3), *o = out;
    if (out == NULL)
        return NULL;
    *o++ = '"';
    for (size_t at = 0; at < n;) {
        uint32_t c;
        size_t k = tms_utf8_next((const uint8_t *)s + at, n - at, &c);
        if (k == 0) {
            o += sprintf(o, "\\udc%02x", (unsigned char)s[at]);
            at++;
        } else if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
            at++;
        } else if (c < 0x20) {
            o += sprintf(o, "\\u%04x", (unsigned)c);
            at++;
        } else {
            memcpy(o, s + at, k);
            o += k;
            at += k;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

static int valid_utf8(const char *s)
{
    size_t n = strlen(s);
    uint32_t c;
    for (size_t at = 0, k; at < n; at += k)
        if ((k = tms_utf8_next((const uint8_t *)s + at, n - at, &c)) == 0)
            return 0;
    return 1;
}

cJSON *tm_json_string(const char *s)
{
    if (s == NULL)
        return cJSON_CreateNull();
    if (valid_utf8(s))
        return cJSON_CreateString(s);
    char *lit = surrogate_literal(s);
    cJSON *j = lit ? cJSON_CreateRaw(lit) : NULL;
    free(lit);
    return j;
}

int tm_json_add_str(cJSON *obj, const char *name, const char *s)
{
    cJSON *j = tm_json_string(s);
    if (j == NULL || !cJSON_AddItemToObject(obj, name, j)) {
        cJSON_Delete(j);
        return -1;
    }
    return 0;
}

int tm_json_print(cJSON *root)
{
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL) {
        tm_error("out of memory while writing JSON");
        return -1;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    cJSON_free(text);
    return 0;
}

int tm_json_finish(cJSON *doc, int built)
{
    if (!built) {
        cJSON_Delete(doc);
        tm_error("out of memory");
        return TM_EXIT_BADFILE;
    }
    return tm_json_print(doc) < 0 ? TM_EXIT_BADFILE : TM_EXIT_OK;
}

/* ---- CSV ----------------------------------------------------------------- */

void tm_csv_field(FILE *f, const char *raw, int last)
{
    char *e = tm_escaped(raw ? raw : "");
    const char *s = e;
    if (s == NULL) {           /* out of memory: end the row, no raw text */
        fputs(last ? "?\n" : "?,", f);
        return;
    }
    if (strpbrk(s, ",\"") != NULL) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    free(e);
    fputc(last ? '\n' : ',', f);
}

/* ---- stdout -------------------------------------------------------------- */

int tm_finish_stdout(void)
{
    int failed = fflush(stdout) != 0 || ferror(stdout);
    int saved = errno;
    if (fclose(stdout) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (failed && saved != EPIPE) {
        tm_error("cannot write to standard output: %s", strerror(saved));
        return -1;
    }
    return 0;
}
