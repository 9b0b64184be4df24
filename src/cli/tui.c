/* tui.c -- see tui.h.  Modelled on htop's CRT_init/CRT_done. */
#include "tui.h"

#include "tms.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

static int active;
static int utf8;
static volatile sig_atomic_t stop_signal;
static int saved_stderr = -1;
static FILE *captured;           /* stderr while curses runs */
static struct termios saved_tio;
static int have_tio;
/* What the crash handler writes: leave the alternate screen, show the
 * cursor, plain attributes.  Computed at init (the handler cannot). */
static char crash_restore[256];
static size_t crash_restore_len;

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction old_crash[5], old_stop[3];

static attr_t role_attr[TUI_NROLES];

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* Async-signal-safe: termios and write only, then die of the signal. */
static void on_crash(int sig)
{
    if (have_tio)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
    if (crash_restore_len)
        (void)!write(STDOUT_FILENO, crash_restore, crash_restore_len);
    if (saved_stderr >= 0)
        dup2(saved_stderr, STDERR_FILENO);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void add_cap(const char *name)
{
    char *s = tigetstr((char *)name);
    if (s == NULL || s == (char *)-1)
        return;
    size_t n = strlen(s);
    if (crash_restore_len + n < sizeof crash_restore) {
        memcpy(crash_restore + crash_restore_len, s, n);
        crash_restore_len += n;
    }
}

static void setup_colors(tm_color_mode mode)
{
    const char *no_color = getenv("NO_COLOR");
    int want = mode == TM_COLOR_ALWAYS ||
               (mode == TM_COLOR_AUTO && (no_color == NULL || no_color[0] == '\0'));
    /* Monochrome: attributes only. */
    role_attr[TUI_TITLE] = A_BOLD;
    role_attr[TUI_LABEL] = A_NORMAL;
    role_attr[TUI_TABLE_HEAD] = A_REVERSE;
    role_attr[TUI_SELECTED] = A_REVERSE | A_BOLD;
    role_attr[TUI_GROWTH] = A_BOLD;
    role_attr[TUI_SHRINK] = A_NORMAL;
    role_attr[TUI_SPARK] = A_NORMAL;
    role_attr[TUI_KEY] = A_BOLD;
    role_attr[TUI_ERROR] = A_BOLD | A_REVERSE;
    role_attr[TUI_INFO] = A_BOLD;
    if (!want || !has_colors() || start_color() == ERR)
        return;
    use_default_colors();
    static const struct { tui_role r; short fg, bg; attr_t extra; } scheme[] = {
        { TUI_TITLE, COLOR_CYAN, -1, A_BOLD },
        { TUI_LABEL, COLOR_CYAN, -1, 0 },
        { TUI_TABLE_HEAD, COLOR_BLACK, COLOR_GREEN, 0 },
        { TUI_SELECTED, COLOR_BLACK, COLOR_CYAN, 0 },
        { TUI_GROWTH, COLOR_RED, -1, A_BOLD },
        { TUI_SHRINK, COLOR_GREEN, -1, 0 },
        { TUI_SPARK, COLOR_YELLOW, -1, 0 },
        { TUI_KEY, COLOR_CYAN, -1, A_BOLD },
        { TUI_ERROR, COLOR_WHITE, COLOR_RED, A_BOLD },
        { TUI_INFO, COLOR_YELLOW, -1, A_BOLD },
    };
    for (size_t i = 0; i < sizeof scheme / sizeof *scheme; i++) {
        short pair = (short)(i + 1);
        if (init_pair(pair, scheme[i].fg, scheme[i].bg) == ERR)
            continue;
        role_attr[scheme[i].r] = COLOR_PAIR(pair) | scheme[i].extra;
    }
}

int tui_init(tm_color_mode color)
{
    if (active)
        return 0;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        tm_error("watch needs a terminal (use 'tmtool top --pid' or "
                 "'tmtool save --pid' in scripts)");
        return -1;
    }
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    utf8 = cs != NULL && strcmp(cs, "UTF-8") == 0;
    have_tio = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
    /* newterm, not initscr: a bad TERM is an error to report, not an
     * exit() inside curses. */
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (scr == NULL) {
        const char *term = getenv("TERM");
        tm_error("cannot use the terminal '%s'", term ? term : "(unset)");
        return -1;
    }
    set_term(scr);
    crash_restore_len = 0;
    add_cap("rmcup");
    add_cap("cnorm");
    add_cap("sgr0");
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    setup_colors(color);

    stop_signal = 0;
    struct sigaction sa = { 0 };
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;   /* no SA_RESTART: getch returns at once */
    for (size_t i = 0; i < 3; i++)
        sigaction(stop_signals[i], &sa, &old_stop[i]);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < 5; i++)
        sigaction(crash_signals[i], &sa, &old_crash[i]);

    /* Messages written while curses owns the screen would tear it: keep
     * them and replay them after (htop does this in debug builds). */
    fflush(stderr);
    captured = tmpfile();
    saved_stderr = captured ? fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3) : -1;
    if (saved_stderr >= 0)
        dup2(fileno(captured), STDERR_FILENO);
    active = 1;
    return 0;
}

void tui_done(void)
{
    if (!active)
        return;
    active = 0;
    curs_set(1);
    endwin();
    fflush(stdout);
    for (size_t i = 0; i < 5; i++)
        sigaction(crash_signals[i], &old_crash[i], NULL);
    for (size_t i = 0; i < 3; i++)
        sigaction(stop_signals[i], &old_stop[i], NULL);
    fflush(stderr);
    if (saved_stderr >= 0) {
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        saved_stderr = -1;
    }
    if (captured != NULL) {
        char buf[4096];
        size_t n;
        rewind(captured);
        while ((n = fread(buf, 1, sizeof buf, captured)) > 0)
            fwrite(buf, 1, n, stderr);
        fclose(captured);
        captured = NULL;
    }
}

int tui_signal(void)
{
    return stop_signal;
}

int tui_utf8(void)
{
    return utf8;
}

void tui_role_on(tui_role r)
{
    attron(role_attr[r]);
}

void tui_role_off(tui_role r)
{
    attroff(role_attr[r]);
}

/* Next character of s: its bytes (*len), its cells (0..2); bytes that are
 * not printable text come back as one '?' cell. */
static int draw(int y, int x, int width, const char *s);

static int next_char(const char *s, size_t *len, int *bad)
{
    unsigned char c = (unsigned char)*s;
    *bad = 0;
    if (c < 0x80) {
        *len = 1;
        *bad = c < 0x20 || c == 0x7f;
        return 1;
    }
    if (utf8) {
        mbstate_t st;
        wchar_t wc;
        memset(&st, 0, sizeof st);
        size_t n = mbrtowc(&wc, s, MB_CUR_MAX, &st);
        if (n != (size_t)-1 && n != (size_t)-2 && n > 0 && iswprint((wint_t)wc)) {
            int w = wcwidth(wc);
            *len = n;
            return w < 0 ? 1 : w;
        }
    }
    *len = 1;
    *bad = 1;
    return 1;
}

int tui_text_width(const char *s)
{
    int w = 0;
    size_t len;
    int bad;
    for (; *s; s += len)
        w += next_char(s, &len, &bad);
    return w;
}

/* Text from a file or a process, as the rest of tmtool shows it
 * (tms_escape: controls and invalid UTF-8 as \xNN); NULL on OOM. */
static char *escaped(const char *s)
{
    size_t n = strlen(s), need = tms_escape(NULL, 0, s, n) + 1;
    char *e = malloc(need);
    if (e != NULL)
        tms_escape(e, need, s, n);
    return e;
}

int tui_text(int y, int x, int width, const char *s)
{
    char *e = escaped(s);
    int w = e ? draw(y, x, width, e) : 0;
    free(e);
    return w;
}

static int draw(int y, int x, int width, const char *s)
{
    int w = 0;
    size_t len;
    int bad;
    move(y, x);
    for (; *s && width > 0; s += len) {
        int cw = next_char(s, &len, &bad);
        if (cw > width - w)
            break;
        if (bad)
            addch('?');
        else
            addnstr(s, (int)len);
        w += cw;
    }
    return w;
}

int tui_text_tail(int y, int x, int width, const char *text)
{
    char *e = escaped(text);
    const char *s = e;
    int total = e ? tui_text_width(e) : 0, w;
    if (e == NULL)
        return 0;
    if (total <= width || width < 4) {
        w = draw(y, x, width, total <= width ? e : "...");
        free(e);
        return w;
    }
    /* Skip characters until the rest fits after "...". */
    size_t len;
    int bad;
    int drop = total - (width - 3);
    while (*s && drop > 0) {
        drop -= next_char(s, &len, &bad);
        s += len;
    }
    draw(y, x, 3, "...");
    w = 3 + draw(y, x + 3, width - 3, s);
    free(e);
    return w;
}
