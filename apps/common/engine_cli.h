/* The engine's options (dpw/engine_opts.h) in a program's command line (cli.h): the hooks
 * through which the parser hands them what the program's own table does not list. */
#ifndef DPW_ENGINE_CLI_H
#define DPW_ENGINE_CLI_H

#include "cli.h"
#include "dpw/engine_opts.h"

/* Hooks for cli->other that set o (made ready with dpw_engine_opts_init). */
struct dpw_cli_other dpw_engine_cli(struct dpw_engine_opts *o);

#endif /* DPW_ENGINE_CLI_H */
