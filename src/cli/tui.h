/* tui.h -- the terminal while a full-screen view runs (htop's CRT): one
 * init/done pair, colours by role, and restoration on every way out.
 *
 * tui_init takes the terminal (curses, no echo, keypad, hidden cursor,
 * colours when the terminal has them and NO_COLOR is unset), catches
 * SIGINT/SIGTERM/SIGHUP (the view's loop sees tui_signal() and ends
 * normally) and the crash signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT: the terminal is restored from the handler, then the signal
 * kills the process as it would have), and sends stderr to a temporary
 * file.  tui_done restores all of it and replays what was written to
 * stderr meanwhile; it is idempotent. */
#ifndef HEADER_tui
#define HEADER_tui

#include <stddef.h>

#include "output.h"

/* Colour roles: drawing names a role, never a colour (htop's
 * ColorElements); each has a monochrome fallback. */
typedef enum {
    TUI_NORMAL = 0,
    TUI_TITLE,        /* the header's first line */
    TUI_LABEL,        /* "traced", "RSS" ... */
    TUI_TABLE_HEAD,   /* column titles */
    TUI_SELECTED,     /* the cursor row */
    TUI_GROWTH,       /* a positive change */
    TUI_SHRINK,       /* a negative change */
    TUI_SPARK,        /* the sparkline */
    TUI_KEY,          /* a key in the footer */
    TUI_ERROR,        /* status: something is wrong */
    TUI_INFO,         /* status: something happened */
    TUI_NROLES
} tui_role;

/* 0, or -1 (message reported on stderr) when there is no usable
 * terminal.  color: the --color setting. */
int tui_init(tm_color_mode color);
void tui_done(void);
/* The signal that asked the view to end (SIGINT, SIGTERM, SIGHUP) or 0. */
int tui_signal(void);
/* 1 when the terminal shows UTF-8 (block characters for the sparkline). */
int tui_utf8(void);
/* Start drawing in a role (attron) / back to normal. */
void tui_role_on(tui_role r);
void tui_role_off(tui_role r);
/* Draw text at (y, x) in at most width cells: control characters and
 * invalid bytes become '?', nothing wraps; returns cells drawn. */
int tui_text(int y, int x, int width, const char *s);
/* The same, cutting from the left ("...tail") when it does not fit, so
 * that the end of a path (file name, line) stays visible. */
int tui_text_tail(int y, int x, int width, const char *s);
/* Cells the text takes on screen (as tui_text counts them). */
int tui_text_width(const char *s);

#endif
