/* The programs' command-line parser (apps/common/cli.c), without a network or an engine: the
 * program's options, the other hooks (the engine's, here a stand-in that records its calls),
 * the operand, the order of the checks, and the one-line messages the program tests look for
 * (tests/apps/bad_options.sh, connclose_bad_options.sh, tests/integration/bad_input.sh). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"

/* What the setters and hooks saw, in the order they ran. */
static struct {
	char log[512];
	const char *target;
	int rest_argc;
	char **rest_argv;
} seen;

static void note(const char *what, const char *val)
{
	size_t n = strlen(seen.log);

	snprintf(seen.log + n, sizeof(seen.log) - n, "%s%s%s%s", n ? " " : "", what,
		 val ? "=" : "", val ? val : "");
}

static int set_count(void *ctx, const char *val, char *err, size_t errlen)
{
	(void)ctx;
	if (strcmp(val, "bad") == 0) {
		snprintf(err, errlen, "--count: 'bad' is not a number");
		return -1;
	}
	note("count", val);
	return 0;
}

static int set_json(void *ctx, const char *val, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	note("json", val);
	return 0;
}

static const struct dpw_cli_opt opts[] = {
	{ "count", true, "N", "how many", set_count },
	{ "json", false, NULL, "JSON", set_json },
	{ NULL, false, NULL, NULL, NULL },
};

/* The stand-in engine: --ip takes a value, --verbose does not. */
static int other_arity(const char *name)
{
	return strcmp(name, "ip") == 0 ? 1 : strcmp(name, "verbose") == 0 ? 0 : -1;
}

static int other_set(void *ctx, const char *name, const char *val, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	note(name, val);
	return 0;
}

static int other_finish(void *ctx, int rest_argc, char **rest_argv, char *err, size_t errlen)
{
	(void)ctx;
	seen.rest_argc = rest_argc;
	seen.rest_argv = rest_argv;
	note("finish", NULL);
	if (strstr(seen.log, "ip=") == NULL) {
		snprintf(err, errlen, "no address: give --ip");
		return -1;
	}
	return 0;
}

static int validate(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	note("validate", NULL);
	if (seen.target == NULL) {
		snprintf(err, errlen, "no target given");
		return -1;
	}
	return 0;
}

static const struct dpw_cli with_engine = {
	.synopsis = "[--count N] [--json] TARGET",
	.opts = opts,
	.operand_name = "target",
	.operand = &seen.target,
	.validate = validate,
	.other = { other_arity, other_set, other_finish, NULL, NULL },
};

/* Parse the arguments (a NULL-ended list after the program's name); the return value, with
 * the message in err and the help flag. */
static int parse(const struct dpw_cli *cli, bool *help, char *err, size_t errlen, ...)
{
	char *argv[16] = { "prog" };
	int argc = 1;
	va_list ap;

	memset(&seen, 0, sizeof(seen));
	err[0] = '\0';
	va_start(ap, errlen);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return dpw_cli_parse(cli, argc, argv, help, err, errlen);
}

#define PARSE(cli, ...) parse(cli, &help, err, sizeof(err), __VA_ARGS__, (char *)NULL)

int main(void)
{
	struct dpw_cli plain = { .synopsis = "", .opts = opts };
	char err[256];
	bool help;
	int rc;

	/* Options in argv order, both spellings of a value; the operand; then finish, then
	 * validate, with the EAL part handed to finish. */
	rc = PARSE(&with_engine, "--count", "3", "--ip=1.2.3.4/24", "host:1", "--json", "--",
		   "-l", "0");
	CHECK(rc == 0, "a good line refused: %s", err);
	CHECK(strcmp(seen.log, "count=3 ip=1.2.3.4/24 json finish validate") == 0,
	      "order: '%s'", seen.log);
	CHECK(seen.target != NULL && strcmp(seen.target, "host:1") == 0, "the operand");
	CHECK(seen.rest_argc == 2 && strcmp(seen.rest_argv[0], "-l") == 0,
	      "after --: %d arguments", seen.rest_argc);
	CHECK(!help, "no help asked for");

	/* Each refusal: -1, one line naming the problem, nothing run after it. */
	rc = PARSE(&with_engine, "--ip", "a", "--count");
	CHECK(rc == -1 && strcmp(err, "--count needs a value") == 0, "missing value: '%s'", err);
	rc = PARSE(&with_engine, "--count", "--json");
	CHECK(rc == -1 && strcmp(err, "--count needs a value") == 0,
	      "an option is no value: '%s'", err);
	rc = PARSE(&with_engine, "--json=yes");
	CHECK(rc == -1 && strcmp(err, "--json takes no value") == 0, "flag with value: '%s'", err);
	rc = PARSE(&with_engine, "--verbose=1");
	CHECK(rc == -1 && strcmp(err, "--verbose takes no value") == 0,
	      "other flag with value: '%s'", err);
	rc = PARSE(&with_engine, "--frobnicate");
	CHECK(rc == -1 && strcmp(err, "unknown option '--frobnicate' (see --help)") == 0,
	      "unknown: '%s'", err);
	rc = PARSE(&with_engine, "--count", "bad", "--ip", "a", "t:1");
	CHECK(rc == -1 && strcmp(err, "--count: 'bad' is not a number") == 0 &&
	      strstr(seen.log, "finish") == NULL, "setter's message, then stop: '%s' ('%s')",
	      err, seen.log);
	rc = PARSE(&with_engine, "--ip", "a", "t:1", "t:2");
	CHECK(rc == -1 && strcmp(err, "unexpected argument 't:2' (one target only)") == 0,
	      "two operands: '%s'", err);
	rc = PARSE(&with_engine, "--ip", "a", "-x", "t:1");
	CHECK(rc == -1 && strstr(err, "unexpected argument '-x'") == err, "dash: '%s'", err);
	rc = PARSE(&with_engine, "t:1");
	CHECK(rc == -1 && strcmp(err, "no address: give --ip") == 0 &&
	      strstr(seen.log, "validate") == NULL, "finish fails first: '%s' ('%s')", err,
	      seen.log);
	rc = PARSE(&with_engine, "--ip", "a");
	CHECK(rc == -1 && strcmp(err, "no target given") == 0, "validate: '%s'", err);

	/* --help and -h: 0, the flag, and none of the checks that need a whole line. */
	rc = PARSE(&with_engine, "--count", "2", "--help");
	CHECK(rc == 0 && help && strcmp(seen.log, "count=2") == 0, "--help: %d '%s'", rc,
	      seen.log);
	rc = PARSE(&with_engine, "-h");
	CHECK(rc == 0 && help, "-h");

	/* Without an engine or an operand: no EAL hint, nothing may follow "--". */
	rc = PARSE(&plain, "stray");
	CHECK(rc == -1 && strcmp(err, "unexpected argument 'stray'") == 0, "stray: '%s'", err);
	rc = PARSE(&plain, "--count", "1", "--", "x");
	CHECK(rc == -1 && strcmp(err, "unexpected argument 'x' (nothing goes after --)") == 0,
	      "after --: '%s'", err);
	rc = PARSE(&with_engine, "--ip", "a", "stray", "--", "x");
	CHECK(rc == 0, "an operand, then EAL arguments: '%s'", err);

	CHECK(strcmp(dpw_cli_prog_name("/a/b/dpwsk-echo"), "dpwsk-echo") == 0, "program name");

	printf("%d checks, %d failed\n", checks, failures);
	return failures == 0 ? 0 : 1;
}
