/* report.h -- everything a command printing "top" reports needs, in one
 * include.  The parts, one job per file:
 *
 *   opts.h      options as data and the one option loop (tm_parse_command)
 *   filters.h   -i/-x/-I/-X and applying them
 *   display.h   --group-by, --count, columns: how a report is shown
 *   pipeline.h  load -> filter -> group -> compare -> sort (libtma)
 *   render.h    a report as text, JSON or CSV, and their pieces
 *   sink.h      one output document per run (JSON collects reports) */
#ifndef HEADER_report
#define HEADER_report

#include "display.h"
#include "filters.h"
#include "input.h"
#include "opts.h"
#include "pipeline.h"
#include "render.h"
#include "sink.h"

#endif
