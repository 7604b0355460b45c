/* EAL start-up with a one-line error. DPDK explains a failure across several lines of log
 * (and sometimes a usage text); we capture that chatter and report the line that names the
 * problem, so that a typo in an EAL argument reads as one clear error. */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_pdump.h>

#include "engine_internal.h"

/* Lines that name the cause, best first; the first match in the captured log wins. */
static const char *const cause_markers[] = {
	"unrecognized option", "invalid option", "unknown option", "requires an argument",
	"Invalid", "invalid", "failed to initialize", "Cannot", "cannot", "not supported",
	"Error", "error", "failed",
};

static void pick_cause(FILE *log, char *out, size_t outlen)
{
	char line[384];
	size_t best = sizeof(cause_markers) / sizeof(cause_markers[0]);

	out[0] = '\0';
	rewind(log);
	while (fgets(line, sizeof(line), log) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		for (size_t i = 0; i < best; i++) {
			if (strstr(line, cause_markers[i]) != NULL) {
				snprintf(out, outlen, "%.*s", (int)(outlen - 1), line);
				best = i;
				break;
			}
		}
	}
}

static void replay(FILE *log)
{
	char buf[4096];
	size_t n;

	rewind(log);
	while ((n = fread(buf, 1, sizeof(buf), log)) > 0)
		fwrite(buf, 1, n, stderr);
}

/* EAL's runtime directory, removed at exit. DPDK unlinks its telemetry socket in an atexit()
 * handler of its own; ours is registered before rte_eal_init() registers that one, so it runs
 * after it (atexit order is reversed) and finds the directory empty. */
static char runtime_dir[PATH_MAX];
static bool pdump_on;   /* rte_pdump_init() succeeded: dpdk-dumpcap can attach */

static void remove_runtime_dir(void)
{
	if (runtime_dir[0] != '\0')
		rmdir(runtime_dir);
}

int dpw_eal_init(int argc, char **argv, char *err, size_t errlen)
{
	static bool atexit_done;
	FILE *log = tmpfile();
	int saved_out = -1, saved_err = -1;
	int ret, eal_errno;
	char cause[400];

	if (!atexit_done) {
		atexit(remove_runtime_dir);
		atexit_done = true;
	}

	/* Route everything EAL prints (its log, getopt's complaints, its usage text) into a
	 * temporary file for the duration of rte_eal_init(). */
	if (log != NULL) {
		fflush(stdout);
		fflush(stderr);
		saved_out = dup(STDOUT_FILENO);
		saved_err = dup(STDERR_FILENO);
		dup2(fileno(log), STDOUT_FILENO);
		dup2(fileno(log), STDERR_FILENO);
	}
	ret = rte_eal_init(argc, argv);
	eal_errno = rte_errno;
	/* Known even when initialisation failed part way (the directory may exist by then). */
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	if (log != NULL) {
		fflush(stdout);
		fflush(stderr);
		dup2(saved_out, STDOUT_FILENO);
		dup2(saved_err, STDERR_FILENO);
		close(saved_out);
		close(saved_err);
	}

	if (ret < 0) {
		cause[0] = '\0';
		if (log != NULL)
			pick_cause(log, cause, sizeof(cause));
		if (getenv("DPW_VERBOSE") != NULL && log != NULL)
			replay(log);
		dpw_set_err(err, errlen, "EAL initialisation failed (%s)%s%s",
			    rte_strerror(eal_errno), cause[0] ? ": " : "", cause);
		if (log != NULL)
			fclose(log);
		return -1;
	}
	if (log != NULL) {
		if (getenv("DPW_VERBOSE") != NULL)
			replay(log);
		fclose(log);
	}
	dpw_sys_init();
	/* dpdk-dumpcap and dpdk-pdump attach as secondary processes and ask the primary, over
	 * EAL's multi-process channel, to copy its ports' frames to them. That channel exists
	 * only with a shared configuration (no --no-shconf, hugepages: see the README); without
	 * it this fails with ENOTSUP, and captures are --capture's. */
	pdump_on = rte_pdump_init() == 0;
	return ret;
}

bool dpw_eal_pdump_enabled(void)
{
	return pdump_on;
}

void dpw_eal_cleanup(void)
{
	char dir[PATH_MAX];

	if (pdump_on) {
		rte_pdump_uninit();
		pdump_on = false;
	}
	/* EAL creates its runtime directory even with --no-shconf and leaves it behind; remove
	 * it when it is empty, so that a run leaves nothing on the machine. */
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (dir[0] != '\0')
		rmdir(dir);
}
