/* The programs' command-line parser: one pass over argv, in order.
 *
 *   prog [--opt VALUE | --opt=VALUE | --flag]... [OPERAND] [-- EAL ARGS...]
 *
 * An argument is one of the program's options (its table), else one of the options the
 * "other" hooks know (the engine's, dpw/engine_opts.h), else the program's one operand
 * (HOST:PORT), else an error. An option's value is the next argument unless that starts with
 * "--". After the last argument, the other hooks' finish, then the program's validate hook,
 * run the checks that need everything (both ports off, a target and --listen, the target's
 * syntax). Everything after "--" goes to the other hooks' finish (the EAL's arguments); a
 * program without such hooks refuses it. --help or -h asks for the usage (dpw_cli_usage);
 * the checks after the last argument are then skipped.
 *
 * Plain C, no DPDK: the engine's options come in through the hooks, and linux-connclose uses
 * the parser without them. Every error is one line in err, meant for "prog: error: <err>" and
 * exit status 2. */
#ifndef DPW_CLI_H
#define DPW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A program's own option. set() returns 0, or -1 with a reason in err. val is NULL for an
 * option without a value. */
struct dpw_cli_opt {
	const char *name;  /* without the leading "--" */
	bool has_arg;
	const char *arg_name;
	const char *help;
	int (*set)(void *ctx, const char *val, char *err, size_t errlen);
};

/* Options the program does not list (the engine's), asked by name. */
struct dpw_cli_other {
	/* -1: not one of them; 0: a flag; 1: takes a value. */
	int (*arity)(const char *name);
	int (*set)(void *ctx, const char *name, const char *val, char *err, size_t errlen);
	/* After the last argument, with the arguments after "--" (0, NULL if none). */
	int (*finish)(void *ctx, int rest_argc, char **rest_argv, char *err, size_t errlen);
	void (*usage)(FILE *f);
	void *ctx;
};

struct dpw_cli {
	const char *synopsis;             /* the usage line after the program's name */
	const struct dpw_cli_opt *opts;   /* ended by a NULL name; NULL: none */
	void *ctx;                        /* for opts' setters, set_operand and validate */
	/* The one operand, stored as given in *operand; NULL: the program takes none. Whether
	 * it is required, and its syntax, are validate's to check. */
	const char *operand_name;   /* "target", for messages */
	const char **operand;
	/* After everything else: the checks across options and operand. NULL: none. */
	int (*validate)(void *ctx, char *err, size_t errlen);
	struct dpw_cli_other other;       /* all NULL: no other options */
};

/* Parse argv with cli. Returns 0, or -1 with a one-line reason in err. *help is set for
 * --help or -h (then 0 is returned once every argument was read). */
int dpw_cli_parse(const struct dpw_cli *cli, int argc, char **argv, bool *help, char *err,
		  size_t errlen);
/* The usage text on stdout: "usage: prog synopsis", the options, the other hooks' part. */
void dpw_cli_usage(const struct dpw_cli *cli, const char *prog);
/* The programs' way: parse once; a bad command line is "prog: error: <reason>" on stderr and
 * exit status 2, before anything starts; --help prints the usage and exits 0. */
void dpw_cli_parse_or_exit(const struct dpw_cli *cli, const char *prog, int argc, char **argv);

/* A program's name for messages: argv[0] without its directory. */
const char *dpw_cli_prog_name(const char *argv0);

#endif /* DPW_CLI_H */
