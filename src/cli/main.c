/* main.c -- placeholder: tmtool's dispatcher lands with the CLI work. */
#include <stdio.h>
#include <string.h>

#include "tms.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("tmtool 0.1.0 (libtms %s)\n", tms_version());
        return 0;
    }
    fprintf(stderr, "tmtool: no commands yet\n");
    return 2;
}
