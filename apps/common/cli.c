/* The programs' command-line parser (see cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct dpw_cli_opt *find_opt(const struct dpw_cli_opt *opts, const char *name)
{
	for (; opts != NULL && opts->name != NULL; opts++)
		if (strcmp(opts->name, name) == 0)
			return opts;
	return NULL;
}

/* How option NAME is set: through the program's table (*o), through the other hooks, or not
 * at all (-1). Returns its arity: 0 a flag, 1 takes a value. */
static int lookup(const struct dpw_cli *cli, const char *name, const struct dpw_cli_opt **o)
{
	*o = find_opt(cli->opts, name);
	if (*o != NULL)
		return (*o)->has_arg ? 1 : 0;
	return cli->other.arity != NULL ? cli->other.arity(name) : -1;
}

/* An argument that is no option: the program's one operand, or an error. */
static int operand(const struct dpw_cli *cli, const char *arg, bool *seen, char *err,
		   size_t errlen)
{
	if (cli->operand == NULL || arg[0] == '-') {
		/* Programs with an engine take EAL arguments, after "--". */
		snprintf(err, errlen, "unexpected argument '%s'%s", arg,
			 cli->other.finish != NULL ? " (EAL arguments go after --)" : "");
		return -1;
	}
	if (*seen) {
		snprintf(err, errlen, "unexpected argument '%s' (one %s only)", arg,
			 cli->operand_name);
		return -1;
	}
	*seen = true;
	*cli->operand = arg;
	return 0;
}

int dpw_cli_parse(const struct dpw_cli *cli, int argc, char **argv, bool *help, char *err,
		  size_t errlen)
{
	int i, rest = argc;
	bool seen_operand = false;

	*help = false;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val;
		const struct dpw_cli_opt *o;
		char name[64];
		int arity;

		if (strcmp(arg, "--") == 0) {
			rest = i + 1;
			break;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			*help = true;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0) {
			if (operand(cli, arg, &seen_operand, err, errlen) != 0)
				return -1;
			continue;
		}
		/* --name=value or --name value */
		val = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s",
			 (int)(val ? (size_t)(val - arg - 2) : strlen(arg + 2)), arg + 2);
		if (val != NULL)
			val++;
		arity = lookup(cli, name, &o);
		if (arity < 0) {
			snprintf(err, errlen, "unknown option '--%s' (see --help)", name);
			return -1;
		}
		if (arity == 0 && val != NULL) {
			snprintf(err, errlen, "--%s takes no value", name);
			return -1;
		}
		if (arity == 1 && val == NULL) {
			if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
				snprintf(err, errlen, "--%s needs a value", name);
				return -1;
			}
			val = argv[++i];
		}
		if (o != NULL ? o->set(cli->ctx, val, err, errlen)
			      : cli->other.set(cli->other.ctx, name, val, err, errlen))
			return -1;
	}
	if (*help)
		return 0;
	if (cli->other.finish == NULL && rest < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (nothing goes after --)",
			 argv[rest]);
		return -1;
	}
	if (cli->other.finish != NULL &&
	    cli->other.finish(cli->other.ctx, argc - rest, argv + rest, err, errlen) != 0)
		return -1;
	return cli->validate != NULL ? cli->validate(cli->ctx, err, errlen) : 0;
}

void dpw_cli_usage(const struct dpw_cli *cli, const char *prog)
{
	printf("usage: %s %s\n\n", prog, cli->synopsis);
	for (const struct dpw_cli_opt *o = cli->opts; o != NULL && o->name != NULL; o++)
		printf("  --%s%s%-*s %s\n", o->name, o->has_arg ? " " : "",
		       (int)(22 - strlen(o->name) - (o->has_arg ? 1 : 0)),
		       o->has_arg ? o->arg_name : "", o->help);
	if (cli->other.usage != NULL)
		cli->other.usage(stdout);
	fflush(stdout);
}

void dpw_cli_parse_or_exit(const struct dpw_cli *cli, const char *prog, int argc, char **argv)
{
	char err[256];
	bool help;

	if (dpw_cli_parse(cli, argc, argv, &help, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: error: %s\n", prog, err);
		exit(2);
	}
	if (help) {
		dpw_cli_usage(cli, prog);
		exit(0);
	}
}

const char *dpw_cli_prog_name(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	return slash != NULL ? slash + 1 : argv0;
}
