/* The engine's options, by name: the port, the address, the EAL. A program's command-line
 * parser (apps/common/cli.h) hands every option it does not know itself to these functions,
 * so that every dpwsk program takes the same port options:
 *
 *   [--iface NAME | --memif ROLE:PATH | --port DEVICE] --ip A.B.C.D/N [--ip6 ADDR/64] [--gw A.B.C.D]
 *   [--lcores LIST] [--rx-desc N] [--tx-desc N] [--mtu N] [--verbose] [-- EAL arguments...]
 *
 * --iface attaches a Linux interface through net_af_packet (the namespace topology);
 * --memif joins two dpwsk processes through net_memif (shared memory, no kernel in the path);
 * --port names an ethdev created by the EAL arguments (a PCI address with -a, a --vdev).
 * Without EAL arguments the defaults need no hugepages and no PCI access.
 *
 * The engine does not parse argv itself: walking a command line (program options, operands,
 * --help) is the programs' business, and the engine library must not depend on them. */
#ifndef DPW_ENGINE_OPTS_H
#define DPW_ENGINE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "dpw/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DPW_ENGINE_MAX_EAL_ARGS 64

struct dpw_engine_opts {
	const char *prog;
	const char *iface;
	const char *memif;       /* --memif's socket path; memif_server: this end creates it */
	bool memif_server;
	const char *port;
	const char *lcores;
	bool verbose;
	struct dpw_engine_config engine;
	int eal_argc;
	char *eal_argv[DPW_ENGINE_MAX_EAL_ARGS + 1];
	char storage[3][256];  /* built EAL arguments live here */
};

/* Empty options for program prog (argv[0], the EAL's first argument). */
void dpw_engine_opts_init(struct dpw_engine_opts *o, const char *prog);

/* Is --NAME one of the engine's options? -1: no; 0: yes, a flag; 1: yes, it takes a value. */
int dpw_engine_opt_arity(const char *name);

/* Set option NAME (without "--") to val (NULL for a flag). 0, or -1 with a one-line reason
 * in err ("bad --ip '...': expected A.B.C.D/PREFIX"). */
int dpw_engine_opt_set(struct dpw_engine_opts *o, const char *name, const char *val, char *err,
		       size_t errlen);

/* After the last option: check that they make an engine (a port, an address, an interface
 * that exists) and build the EAL argument list, from the user's EAL arguments (those after
 * "--"; eal_argc 0 for the defaults) or the defaults. 0, or -1 with a reason in err. */
int dpw_engine_opts_finish(struct dpw_engine_opts *o, int eal_argc, char **eal_argv, char *err,
			   size_t errlen);

/* The options' part of a usage text. */
void dpw_engine_opts_usage(FILE *f);

/* Start EAL and the engine from finished options. On failure nothing is left running (EAL
 * cleaned up) and err holds the reason. */
struct dpw_engine *dpw_engine_opts_start(struct dpw_engine_opts *o, char *err, size_t errlen);
/* For an engine started otherwise (a group's first): wait for what the options need up
 * before the program goes on, as dpw_engine_opts_start does (a memif client's link, 10 s at
 * most). 0, or -1 with the reason in err. */
int dpw_engine_opts_ready(const struct dpw_engine_opts *o, struct dpw_engine *e, char *err,
			  size_t errlen);
/* The end of a started engine: shut it down, print the final stats line to stdout, destroy it,
 * clean up EAL. */
void dpw_engine_opts_stop(struct dpw_engine *e);

/* "dpwsk: stats key=value ..." on stdout. */
void dpw_engine_print_stats(struct dpw_engine *e);

/* Parse "A.B.C.D/N" (addr and mask in network byte order). 0 or -1. */
int dpw_parse_ipv4_prefix(const char *s, uint32_t *addr, uint32_t *mask);
int dpw_parse_ipv4(const char *s, uint32_t *addr);
/* "ADDR/64" (the prefix may be left out): a global unicast IPv6 address; 0 or -1. */
int dpw_parse_ipv6_prefix(const char *s, uint8_t addr[16]);

#ifdef __cplusplus
}
#endif
#endif /* DPW_ENGINE_OPTS_H */
