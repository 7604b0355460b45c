/* Shared command line for dpwsk programs (see dpw/cli.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dpw/cli.h"

/* The af_packet vdev that --iface creates. */
#define IFACE_PORT_NAME "net_af_packet0"
/* Frames in each of its kernel rings (PMD default 512). A burst of small segments (a connect
 * storm, a load generator's RSTs) overflows 512 while the lcore is busy, and the kernel drops
 * them; 4096 frames of 2 KiB is 8 MiB per direction. Drops still show as rx_missed. */
#define IFACE_FRAMES 4096u

int dpw_parse_ipv4(const char *s, uint32_t *addr)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*addr = a.s_addr;
	return 0;
}

int dpw_parse_ipv4_prefix(const char *s, uint32_t *addr, uint32_t *mask)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *slash = s ? strchr(s, '/') : NULL;
	char *end;
	long prefix;

	if (slash == NULL || (size_t)(slash - s) >= INET_ADDRSTRLEN)
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (dpw_parse_ipv4(buf, addr) != 0)
		return -1;
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	if (errno != 0 || end == slash + 1 || *end != '\0' || prefix < 1 || prefix > 32)
		return -1;
	*mask = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	return 0;
}

int dpw_parse_ipv6_prefix(const char *s, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	size_t len = s == NULL ? 0 : slash ? (size_t)(slash - s) : strlen(s);
	struct in6_addr a;

	if (s == NULL || len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* lwIP decides what is on the link by the first 64 bits, whatever the prefix says. */
	if (slash != NULL && strcmp(slash + 1, "64") != 0)
		return -1;
	if (inet_pton(AF_INET6, buf, &a) != 1 || IN6_IS_ADDR_UNSPECIFIED(&a) ||
	    IN6_IS_ADDR_MULTICAST(&a) || IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_LOOPBACK(&a) ||
	    IN6_IS_ADDR_V4MAPPED(&a))
		return -1;
	memcpy(addr, &a, 16);
	return 0;
}

static int parse_u16(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || v > UINT16_MAX)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int add_eal_arg(struct dpw_cli *cli, char *arg, char *err, size_t errlen)
{
	if (cli->eal_argc >= DPW_CLI_MAX_EAL_ARGS) {
		snprintf(err, errlen, "too many EAL arguments (at most %d)", DPW_CLI_MAX_EAL_ARGS);
		return -1;
	}
	cli->eal_argv[cli->eal_argc++] = arg;
	cli->eal_argv[cli->eal_argc] = NULL;
	return 0;
}

static const struct dpw_cli_opt *find_opt(const struct dpw_cli_opt *opts, const char *name)
{
	for (; opts != NULL && opts->name != NULL; opts++)
		if (strcmp(opts->name, name) == 0)
			return opts;
	return NULL;
}

/* Common options: returns 1 if handled (and *used_arg set), 0 if not ours, -1 on error. */
static int common_opt(struct dpw_cli *cli, const char *name, const char *val, bool *used_arg,
		      char *err, size_t errlen)
{
	static const char *const with_arg[] = { "iface", "port", "ip", "ip6", "gw", "lcores",
						"rx-desc", "tx-desc", "mtu" };
	bool takes_arg = false;

	for (size_t i = 0; i < sizeof(with_arg) / sizeof(with_arg[0]); i++)
		takes_arg |= strcmp(name, with_arg[i]) == 0;
	if (takes_arg && val == NULL) {
		snprintf(err, errlen, "--%s needs a value", name);
		return -1;
	}
	*used_arg = takes_arg;

	if (strcmp(name, "iface") == 0) {
		cli->iface = val;
	} else if (strcmp(name, "port") == 0) {
		cli->port = val;
	} else if (strcmp(name, "ip") == 0) {
		if (dpw_parse_ipv4_prefix(val, &cli->engine.ipv4_addr,
					  &cli->engine.ipv4_netmask) != 0) {
			snprintf(err, errlen, "bad --ip '%s': expected A.B.C.D/PREFIX", val);
			return -1;
		}
	} else if (strcmp(name, "ip6") == 0) {
		if (dpw_parse_ipv6_prefix(val, cli->engine.ipv6_addr) != 0) {
			snprintf(err, errlen, "bad --ip6 '%s': expected a global IPv6 address, "
				 "ADDR/64 (lwIP's links are /64)", val);
			return -1;
		}
	} else if (strcmp(name, "gw") == 0) {
		if (dpw_parse_ipv4(val, &cli->engine.ipv4_gateway) != 0) {
			snprintf(err, errlen, "bad --gw '%s': expected A.B.C.D", val);
			return -1;
		}
	} else if (strcmp(name, "lcores") == 0) {
		cli->lcores = val;
	} else if (strcmp(name, "rx-desc") == 0 || strcmp(name, "tx-desc") == 0 ||
		   strcmp(name, "mtu") == 0) {
		uint16_t *dst = name[0] == 'r' ? &cli->engine.rx_desc :
				name[0] == 't' ? &cli->engine.tx_desc : &cli->engine.mtu;
		if (parse_u16(val, dst) != 0) {
			snprintf(err, errlen, "bad --%s '%s': expected a number 1-65535", name, val);
			return -1;
		}
	} else if (strcmp(name, "verbose") == 0) {
		cli->verbose = true;
	} else if (strcmp(name, "help") == 0) {
		cli->help = true;
	} else {
		return 0;
	}
	return 1;
}

int dpw_cli_parse(int argc, char **argv, const struct dpw_cli_opt *opts, void *ctx,
		  struct dpw_cli *cli, char *err, size_t errlen)
{
	int i, user_eal_first = -1;

	memset(cli, 0, sizeof(*cli));
	cli->prog = argc > 0 ? argv[0] : "dpwsk";
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val;
		const struct dpw_cli_opt *o;
		char name[64];
		bool used = false;
		int r;

		if (strcmp(arg, "--") == 0) {
			user_eal_first = i + 1;
			break;
		}
		if (strcmp(arg, "-h") == 0) {
			cli->help = true;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s' (EAL arguments go after --)",
				 arg);
			return -1;
		}
		/* --name=value or --name value */
		val = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s",
			 (int)(val ? (size_t)(val - arg - 2) : strlen(arg + 2)), arg + 2);
		if (val != NULL)
			val++;
		o = find_opt(opts, name);
		if (o != NULL) {
			if (o->has_arg && val == NULL) {
				if (i + 1 >= argc) {
					snprintf(err, errlen, "--%s needs a value", name);
					return -1;
				}
				val = argv[++i];
			} else if (!o->has_arg && val != NULL) {
				snprintf(err, errlen, "--%s takes no value", name);
				return -1;
			}
			if (o->set(ctx, val, err, errlen) != 0)
				return -1;
			continue;
		}
		if (val == NULL && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
			r = common_opt(cli, name, argv[i + 1], &used, err, errlen);
		else
			r = common_opt(cli, name, val, &used, err, errlen);
		if (r < 0)
			return -1;
		if (r == 0) {
			snprintf(err, errlen, "unknown option '--%s' (see --help)", name);
			return -1;
		}
		if (used && val == NULL)
			i++;
	}
	if (cli->help)
		return 0;

	if (cli->iface != NULL && cli->port != NULL) {
		snprintf(err, errlen, "give either --iface or --port, not both");
		return -1;
	}
	if (cli->iface == NULL && cli->port == NULL) {
		snprintf(err, errlen, "no port: give --iface NAME or --port DEVICE");
		return -1;
	}
	if (cli->engine.ipv4_addr == 0) {
		snprintf(err, errlen, "no address: give --ip A.B.C.D/PREFIX");
		return -1;
	}
	/* An interface that does not exist would otherwise surface as a vague EAL probe error. */
	if (cli->iface != NULL && if_nametoindex(cli->iface) == 0) {
		snprintf(err, errlen, "interface '%s' does not exist (in this network namespace)",
			 cli->iface);
		return -1;
	}

	/* Build the EAL argument list: program name, then the user's EAL arguments or our
	 * defaults, then the af_packet vdev for --iface. */
	cli->eal_argc = 0;
	if (add_eal_arg(cli, (char *)cli->prog, err, errlen) != 0)
		return -1;
	if (user_eal_first >= 0) {
		for (i = user_eal_first; i < argc; i++)
			if (add_eal_arg(cli, argv[i], err, errlen) != 0)
				return -1;
	} else {
		/* No hugepages, no PCI scan, no shared config: runs anywhere, leaves no files
		 * (DPDK removes its telemetry socket at exit, eal.c the directory). */
		static char *defaults[] = { "--no-huge", "--no-pci", "--no-shconf", "-m", "512",
					    "--log-level=*:warning" };
		for (size_t k = 0; k < sizeof(defaults) / sizeof(defaults[0]); k++)
			if (add_eal_arg(cli, defaults[k], err, errlen) != 0)
				return -1;
		snprintf(cli->storage[0], sizeof(cli->storage[0]), "--file-prefix=dpwsk-%d",
			 (int)getpid());
		if (add_eal_arg(cli, cli->storage[0], err, errlen) != 0)
			return -1;
		snprintf(cli->storage[1], sizeof(cli->storage[1]), "-l%s",
			 cli->lcores ? cli->lcores : "0");
		if (add_eal_arg(cli, cli->storage[1], err, errlen) != 0)
			return -1;
	}
	if (cli->iface != NULL) {
		snprintf(cli->storage[2], sizeof(cli->storage[2]),
			 "--vdev=" IFACE_PORT_NAME ",iface=%s,qpairs=1,framecnt=%u", cli->iface,
			 IFACE_FRAMES);
		if (add_eal_arg(cli, cli->storage[2], err, errlen) != 0)
			return -1;
		cli->engine.port_name = IFACE_PORT_NAME;
	} else {
		cli->engine.port_name = cli->port;
	}
	return 0;
}

void dpw_cli_usage(const struct dpw_cli *cli, const char *synopsis,
		   const struct dpw_cli_opt *opts)
{
	printf("usage: %s %s\n\n", cli->prog, synopsis);
	for (; opts != NULL && opts->name != NULL; opts++)
		printf("  --%s%s%-*s %s\n", opts->name, opts->has_arg ? " " : "",
		       (int)(22 - strlen(opts->name) - (opts->has_arg ? 1 : 0)),
		       opts->has_arg ? opts->arg_name : "", opts->help);
	printf("\nport and stack:\n"
	       "  --iface NAME             attach Linux interface NAME (net_af_packet)\n"
	       "  --port DEVICE            use an ethdev the EAL arguments create (PCI address, vdev)\n"
	       "  --ip A.B.C.D/N           the stack's address and prefix (required)\n"
	       "  --ip6 ADDR/64            an IPv6 address as well (and a link-local one)\n"
	       "  --gw A.B.C.D             default gateway\n"
	       "  --lcores LIST            EAL lcore list when no EAL arguments are given (default 0)\n"
	       "  --rx-desc N, --tx-desc N queue depths (default 1024)\n"
	       "  --mtu N                  port MTU (default: the device's)\n"
	       "  --verbose                show DPDK's start-up log\n"
	       "  -- EAL ARGS...           EAL arguments, replacing the defaults\n"
	       "                           (--no-huge --no-pci --no-shconf -m 512)\n"
	       "\ncounters: kill -USR1 prints them; while running, also through DPDK telemetry:\n"
	       "  dpdk-telemetry.py -f dpwsk-PID, then /dpwsk/stats (and /dpwsk/wsk)\n");
}

struct dpw_engine *dpw_cli_start(struct dpw_cli *cli, char *err, size_t errlen)
{
	struct dpw_engine *e;

	if (cli->verbose)
		setenv("DPW_VERBOSE", "1", 1);
	if (dpw_eal_init(cli->eal_argc, cli->eal_argv, err, errlen) < 0)
		return NULL;
	e = dpw_engine_create(&cli->engine, err, errlen);
	if (e == NULL)
		dpw_eal_cleanup();
	return e;
}

void dpw_cli_print_stats(struct dpw_engine *e)
{
	struct dpw_engine_stats s;
	char line[1024];

	dpw_engine_get_stats(e, &s);
	dpw_engine_format_stats(&s, line, sizeof(line));
	printf("dpwsk: stats %s\n", line);
	fflush(stdout);
}

void dpw_cli_finish(struct dpw_cli *cli, struct dpw_engine *e)
{
	(void)cli;
	dpw_engine_shutdown(e);
	dpw_cli_print_stats(e);
	dpw_engine_destroy(e);
	dpw_eal_cleanup();
}

static struct dpw_engine *signal_engine;
static volatile sig_atomic_t stats_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1) {
		stats_requested = 1;
		return;
	}
	if (signal_engine != NULL)
		dpw_engine_stop(signal_engine);
}

void dpw_cli_run(struct dpw_engine *e)
{
	while (!dpw_engine_stopping(e)) {
		dpw_engine_poll(e);
		if (stats_requested) {
			stats_requested = 0;
			dpw_cli_print_stats(e);
		}
	}
}

void dpw_cli_stop_on_signals(struct dpw_engine *e)
{
	struct sigaction sa;

	signal_engine = e;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}
