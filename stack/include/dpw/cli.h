/* Command-line handling shared by every dpwsk program: the port, the address, the EAL.
 *
 *   prog [program options] [--iface NAME | --port DEVICE] --ip A.B.C.D/N [--gw A.B.C.D]
 *        [--lcores LIST] [--rx-desc N] [--tx-desc N] [--verbose] [-- EAL arguments...]
 *
 * --iface attaches a Linux interface through net_af_packet (the namespace topology);
 * --port names an ethdev created by the EAL arguments (a PCI address with -a, a --vdev).
 * Without EAL arguments the defaults need no hugepages and no PCI access. */
#ifndef DPW_CLI_H
#define DPW_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "dpw/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A program's own option. set() returns 0, or -1 with a reason in err. */
struct dpw_cli_opt {
	const char *name;  /* without the leading "--" */
	bool has_arg;
	const char *arg_name;
	const char *help;
	int (*set)(void *ctx, const char *val, char *err, size_t errlen);
};

#define DPW_CLI_MAX_EAL_ARGS 64

struct dpw_cli {
	const char *prog;
	const char *iface;
	const char *port;
	const char *lcores;
	bool verbose;
	bool help;
	struct dpw_engine_config engine;
	int eal_argc;
	char *eal_argv[DPW_CLI_MAX_EAL_ARGS + 1];
	char storage[4][256];  /* built EAL arguments live here */
};

/* Parse argv into cli (and the program's options through opts, terminated by a NULL name).
 * Returns 0, or -1 with a one-line reason in err. cli->help is set for --help/-h. */
int dpw_cli_parse(int argc, char **argv, const struct dpw_cli_opt *opts, void *ctx,
		  struct dpw_cli *cli, char *err, size_t errlen);
void dpw_cli_usage(const struct dpw_cli *cli, const char *synopsis,
		   const struct dpw_cli_opt *opts);

/* Start EAL and the engine from the parsed options. On failure nothing is left running
 * (EAL cleaned up) and err holds the reason. */
struct dpw_engine *dpw_cli_start(struct dpw_cli *cli, char *err, size_t errlen);
/* Shut the engine down, print the final stats line to stdout, clean up EAL. */
void dpw_cli_finish(struct dpw_cli *cli, struct dpw_engine *e);

/* SIGINT/SIGTERM stop this engine's loop; SIGUSR1 asks dpw_cli_run() to print the stats
 * line ("dpwsk: stats key=value ...") to stdout. */
void dpw_cli_stop_on_signals(struct dpw_engine *e);
/* The programs' loop: dpw_engine_poll() until stopped, answering SIGUSR1. */
void dpw_cli_run(struct dpw_engine *e);
void dpw_cli_print_stats(struct dpw_engine *e);

/* Parse "A.B.C.D/N" (addr and mask in network byte order). 0 or -1. */
int dpw_parse_ipv4_prefix(const char *s, uint32_t *addr, uint32_t *mask);
int dpw_parse_ipv4(const char *s, uint32_t *addr);
/* "ADDR/64" (the prefix may be left out): a global unicast IPv6 address; 0 or -1. */
int dpw_parse_ipv6_prefix(const char *s, uint8_t addr[16]);

#ifdef __cplusplus
}
#endif
#endif /* DPW_CLI_H */
