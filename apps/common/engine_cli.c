/* The engine's options in a program's command line (see engine_cli.h). */
#include "engine_cli.h"

static int set(void *ctx, const char *name, const char *val, char *err, size_t errlen)
{
	return dpw_engine_opt_set(ctx, name, val, err, errlen);
}

static int finish(void *ctx, int rest_argc, char **rest_argv, char *err, size_t errlen)
{
	return dpw_engine_opts_finish(ctx, rest_argc, rest_argv, err, errlen);
}

struct dpw_cli_other dpw_engine_cli(struct dpw_engine_opts *o)
{
	return (struct dpw_cli_other){ dpw_engine_opt_arity, set, finish, dpw_engine_opts_usage,
				       o };
}
