/* output.h -- everything tmtool writes: messages on stderr (git style:
 * "tmtool: cannot read 'a.tms': truncated file"), colours by role, the
 * output formats, JSON and CSV helpers, a progress line, and the final
 * check that stdout really was written. */
#ifndef HEADER_output
#define HEADER_output

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "tma.h"

/* Version of the JSON documents tmtool prints (format/JSON.md).  Bump the
 * major on any change that could break a reader; add fields freely. */
#define TM_JSON_SCHEMA_VERSION 1

#if defined(__GNUC__)
#  define TM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define TM_PRINTF(a, b)
#endif

/* "tmtool: <message>" on stderr: lowercase, no final full stop, subject in
 * single quotes.  The message is escaped as a whole (tms_escape): names
 * from files and paths from the user cannot break it into two lines or
 * reach the terminal as control sequences. */
void tm_error(const char *fmt, ...) TM_PRINTF(1, 2);
void tm_warning(const char *fmt, ...) TM_PRINTF(1, 2);

typedef enum { TM_FORMAT_TEXT = 0, TM_FORMAT_JSON, TM_FORMAT_CSV } tm_format;
typedef enum { TM_COLOR_AUTO = 0, TM_COLOR_ALWAYS, TM_COLOR_NEVER } tm_color_mode;

/* Both return 0, or -1 after reporting the bad value. */
int tm_format_parse(const char *text, tm_format *out);
int tm_color_parse(const char *text, tm_color_mode *out);

/* Colours are chosen by role (tma_role: TMA_ROLE_TITLE, _NAME, _GROW,
 * _SHRINK, _RANK, _BAD), never by name at the call site; the escapes are
 * libtma's, shared with DisplayTop. */

/* Decide once: ALWAYS, NEVER, or AUTO = stdout is a TTY, NO_COLOR unset or
 * empty, TERM not "dumb". */
void tm_color_setup(tm_color_mode mode);
int tm_color_enabled(void);
/* Escape sequences for a role, "" when colour is off. */
const char *tm_color_on(tma_role role);
const char *tm_color_off(void);

/* Quiet: no progress line. */
void tm_set_quiet(int quiet);
int tm_is_quiet(void);

/* A progress line on stderr for a file that takes more than a moment to
 * read: shown only when stderr is a TTY and not quiet, after 0.4 s, and
 * erased when done.  start returns NULL when there is nothing to show;
 * done accepts NULL. */
typedef struct tm_progress tm_progress;
tm_progress *tm_progress_start(const char *verb, const char *path);
void tm_progress_done(tm_progress *p);

/* JSON: a document with the common head (schema_version, tool,
 * tool_version, command); integers are written exactly (as raw numbers,
 * not through double).  Return NULL / -1 on OOM. */
cJSON *tm_json_doc(const char *command);
int tm_json_add_u64(cJSON *obj, const char *name, uint64_t v);
int tm_json_add_i64(cJSON *obj, const char *name, int64_t v);
/* A string from a file: valid UTF-8 goes in as is (cJSON escapes control
 * characters); otherwise each byte that is not part of valid UTF-8 is
 * written as the lone surrogate \udcXX (PEP 383 "surrogateescape", see
 * format/JSON.md), so the bytes survive: Python's
 * os.fsencode(json.loads(...)) gives them back. */
int tm_json_add_str(cJSON *obj, const char *name, const char *s);
cJSON *tm_json_string(const char *s);
/* Print and free root; -1 on OOM. */
int tm_json_print(cJSON *root);
/* A command's JSON document, its last step: print and free doc if it was
 * built whole (built != 0), else free it and report running out of
 * memory.  TM_EXIT_OK, or TM_EXIT_BADFILE after reporting. */
int tm_json_finish(cJSON *doc, int built);

/* One CSV field (RFC 4180 quoting), then ',' or '\n' when last.  The
 * field is escaped first (tms_escape), so a name from a file cannot carry
 * a newline or a control sequence into the output. */
void tm_csv_field(FILE *f, const char *s, int last);

/* Text from a file (or a path) escaped by tms_escape, as a malloc'd copy
 * (NULL on OOM); to write it, libtma's tma_text_escaped(). */
char *tm_escaped(const char *s);

/* Flush and close stdout.  Returns 0, or -1 after reporting a write error
 * (a closed pipe is not reported: the reader went away on purpose). */
int tm_finish_stdout(void);

#endif
