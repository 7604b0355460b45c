/* The engine's options, by name (see dpw/engine_opts.h). */
#define _GNU_SOURCE   /* sched_getaffinity */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sched.h>

#include <rte_eal.h>
#include <rte_ethdev.h>

#include "dpw/engine_opts.h"

/* The af_packet vdev that --iface creates, and the memif vdev that --memif creates. */
#define IFACE_PORT_NAME "net_af_packet0"
#define MEMIF_PORT_NAME "net_memif0"
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

/* --memif ROLE:PATH. The server end creates the socket PATH, the client end connects to it;
 * the two processes then share packet rings in memory and no kernel is in the data path. */
static int parse_memif(struct dpw_engine_opts *o, const char *val, char *err, size_t errlen)
{
	const char *path = strchr(val, ':');
	size_t role_len = path ? (size_t)(path - val) : 0;
	struct sockaddr_un sun;

	if (path == NULL || !((role_len == 6 && strncmp(val, "server", 6) == 0) ||
			      (role_len == 6 && strncmp(val, "client", 6) == 0))) {
		snprintf(err, errlen, "bad --memif '%s': expected server:PATH or client:PATH", val);
		return -1;
	}
	path++;
	if (path[0] != '/' || strlen(path) >= sizeof(sun.sun_path) || strchr(path, ',') != NULL) {
		snprintf(err, errlen, "bad --memif '%s': PATH must be absolute, without commas, "
			 "at most %zu characters (a unix socket's name)", val,
			 sizeof(sun.sun_path) - 1);
		return -1;
	}
	o->memif = path;
	o->memif_server = val[0] == 's';
	return 0;
}

static int add_eal_arg(struct dpw_engine_opts *o, char *arg, char *err, size_t errlen)
{
	if (o->eal_argc >= DPW_ENGINE_MAX_EAL_ARGS) {
		snprintf(err, errlen, "too many EAL arguments (at most %d)",
			 DPW_ENGINE_MAX_EAL_ARGS);
		return -1;
	}
	o->eal_argv[o->eal_argc++] = arg;
	o->eal_argv[o->eal_argc] = NULL;
	return 0;
}

void dpw_engine_opts_init(struct dpw_engine_opts *o, const char *prog)
{
	memset(o, 0, sizeof(*o));
	o->prog = prog != NULL ? prog : "dpwsk";
}

int dpw_engine_opt_arity(const char *name)
{
	static const char *const with_value[] = { "iface", "port", "ip", "ip6", "gw", "lcores",
						  "rx-desc", "tx-desc", "mtu", "capture",
						  "capture-limit", "memif", "queues",
						  "steering" };

	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (strcmp(name, with_value[i]) == 0)
			return 1;
	return strcmp(name, "verbose") == 0 || strcmp(name, "no-offloads") == 0 ||
	       strcmp(name, "no-zero-copy") == 0 || strcmp(name, "busy-cpu") == 0 ? 0 : -1;
}

int dpw_engine_opt_set(struct dpw_engine_opts *o, const char *name, const char *val, char *err,
		       size_t errlen)
{
	int arity = dpw_engine_opt_arity(name);

	if (arity < 0) {
		snprintf(err, errlen, "unknown option '--%s' (see --help)", name);
		return -1;
	}
	if (arity == 1 && val == NULL) {
		snprintf(err, errlen, "--%s needs a value", name);
		return -1;
	}
	if (strcmp(name, "iface") == 0) {
		o->iface = val;
	} else if (strcmp(name, "memif") == 0) {
		if (parse_memif(o, val, err, errlen) != 0)
			return -1;
	} else if (strcmp(name, "port") == 0) {
		o->port = val;
	} else if (strcmp(name, "ip") == 0) {
		if (dpw_parse_ipv4_prefix(val, &o->engine.ipv4_addr, &o->engine.ipv4_netmask) != 0) {
			snprintf(err, errlen, "bad --ip '%s': expected A.B.C.D/PREFIX", val);
			return -1;
		}
	} else if (strcmp(name, "ip6") == 0) {
		if (dpw_parse_ipv6_prefix(val, o->engine.ipv6_addr) != 0) {
			snprintf(err, errlen, "bad --ip6 '%s': expected a global IPv6 address, "
				 "ADDR/64 (lwIP's links are /64)", val);
			return -1;
		}
	} else if (strcmp(name, "gw") == 0) {
		if (dpw_parse_ipv4(val, &o->engine.ipv4_gateway) != 0) {
			snprintf(err, errlen, "bad --gw '%s': expected A.B.C.D", val);
			return -1;
		}
	} else if (strcmp(name, "lcores") == 0) {
		o->lcores = val;
	} else if (strcmp(name, "capture") == 0) {
		if (val[0] == '\0') {
			snprintf(err, errlen, "--capture needs a file name");
			return -1;
		}
		o->engine.capture_path = val;
	} else if (strcmp(name, "capture-limit") == 0) {
		char *end;
		unsigned long long mb;

		errno = 0;
		mb = strtoull(val, &end, 10);
		if (errno != 0 || end == val || *end != '\0' || mb == 0 || mb > 1000000 ||
		    val[0] == '-') {
			snprintf(err, errlen, "bad --capture-limit '%s': expected megabytes, 1-1000000",
				 val);
			return -1;
		}
		o->engine.capture_limit = mb * 1000 * 1000;
	} else if (strcmp(name, "rx-desc") == 0 || strcmp(name, "tx-desc") == 0 ||
		   strcmp(name, "mtu") == 0) {
		uint16_t *dst = name[0] == 'r' ? &o->engine.rx_desc :
				name[0] == 't' ? &o->engine.tx_desc : &o->engine.mtu;
		if (parse_u16(val, dst) != 0) {
			snprintf(err, errlen, "bad --%s '%s': expected a number 1-65535", name, val);
			return -1;
		}
	} else if (strcmp(name, "queues") == 0) {
		uint16_t n;

		if (parse_u16(val, &n) != 0 || n > 16) {
			snprintf(err, errlen, "bad --queues '%s': expected 1-16", val);
			return -1;
		}
		o->engine.queues = n;
	} else if (strcmp(name, "steering") == 0) {
		static const char *const names[] = { "auto", "software", "rss", "toeplitz" };
		size_t i = 0;

		while (i < sizeof(names) / sizeof(names[0]) && strcmp(val, names[i]) != 0)
			i++;
		if (i == sizeof(names) / sizeof(names[0])) {
			snprintf(err, errlen, "bad --steering '%s': expected auto, software, rss or "
				 "toeplitz", val);
			return -1;
		}
		o->engine.steering = (enum dpw_steering)i;
	} else if (strcmp(name, "no-offloads") == 0) {
		o->engine.no_offloads = true;
	} else if (strcmp(name, "no-zero-copy") == 0) {
		o->engine.no_zero_copy = true;
	} else if (strcmp(name, "busy-cpu") == 0) {
		o->engine.busy_cpu = true;
	} else {
		o->verbose = true;
	}
	return 0;
}

/* The CPUs this process may run on (sched_getaffinity: taskset, cgroups), as a list of
 * ranges ("0-3,6"); -1 if it does not fit. */
static int allowed_cpus(char *buf, size_t len)
{
	cpu_set_t set;
	size_t used = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		int last = c;
		int n;

		if (!CPU_ISSET(c, &set))
			continue;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set))
			last++;
		n = last > c ? snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", c, last)
			     : snprintf(buf + used, len - used, "%s%d", used ? "," : "", c);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
		c = last;
	}
	return used > 0 ? 0 : -1;
}

/* The lcores when the user gave no EAL arguments. --lcores LIST pins them as the EAL does
 * (-l: lcore n on CPU n). Without it, one lcore per engine, each free to run on any CPU the
 * process may use ("(0-1)@(0-3)"): a program started beside others (tests, a shared machine,
 * taskset) is placed by the scheduler instead of polling on CPU 0 whatever else is there. */
static int lcores_arg(struct dpw_engine_opts *o, char *err, size_t errlen)
{
	char cpus[200];
	unsigned n = o->engine.queues > 1 ? o->engine.queues : 1;

	if (o->lcores != NULL) {
		snprintf(o->storage[1], sizeof(o->storage[1]), "-l%s", o->lcores);
	} else {
		if (allowed_cpus(cpus, sizeof(cpus)) != 0) {
			snprintf(err, errlen, "cannot list the CPUs this process may use: give "
				 "--lcores");
			return -1;
		}
		if (n == 1)
			snprintf(o->storage[1], sizeof(o->storage[1]), "--lcores=0@(%s)", cpus);
		else
			snprintf(o->storage[1], sizeof(o->storage[1]), "--lcores=(0-%u)@(%s)",
				 n - 1, cpus);
	}
	return add_eal_arg(o, o->storage[1], err, errlen);
}

int dpw_engine_opts_finish(struct dpw_engine_opts *o, int eal_argc, char **eal_argv, char *err,
			   size_t errlen)
{
	if ((o->iface != NULL) + (o->port != NULL) + (o->memif != NULL) > 1) {
		snprintf(err, errlen, "give one of --iface, --memif and --port");
		return -1;
	}
	if (o->iface == NULL && o->port == NULL && o->memif == NULL) {
		snprintf(err, errlen, "no port: give --iface NAME, --memif ROLE:PATH or --port DEVICE");
		return -1;
	}
	if (o->engine.ipv4_addr == 0) {
		snprintf(err, errlen, "no address: give --ip A.B.C.D/PREFIX");
		return -1;
	}
	if (o->engine.queues > 1 && o->memif != NULL) {
		snprintf(err, errlen, "--queues with --memif is not supported (both ends would have "
			 "to agree on the queues)");
		return -1;
	}
	if (o->engine.capture_limit != 0 && o->engine.capture_path == NULL) {
		snprintf(err, errlen, "--capture-limit without --capture FILE");
		return -1;
	}
	/* An interface that does not exist would otherwise surface as a vague EAL probe error. */
	if (o->iface != NULL && if_nametoindex(o->iface) == 0) {
		snprintf(err, errlen, "interface '%s' does not exist (in this network namespace)",
			 o->iface);
		return -1;
	}

	/* The EAL argument list: program name, then the user's EAL arguments or our defaults,
	 * then the af_packet vdev for --iface. */
	o->eal_argc = 0;
	if (add_eal_arg(o, (char *)o->prog, err, errlen) != 0)
		return -1;
	if (eal_argc > 0) {
		for (int i = 0; i < eal_argc; i++)
			if (add_eal_arg(o, eal_argv[i], err, errlen) != 0)
				return -1;
	} else {
		/* No hugepages, no PCI scan, no shared config: runs anywhere, leaves no files
		 * (DPDK removes its telemetry socket at exit, eal.c the directory). */
		static char *defaults[] = { "--no-huge", "--no-pci", "--no-shconf", "-m", "512",
					    "--log-level=*:warning" };
		for (size_t k = 0; k < sizeof(defaults) / sizeof(defaults[0]); k++)
			if (add_eal_arg(o, defaults[k], err, errlen) != 0)
				return -1;
		snprintf(o->storage[0], sizeof(o->storage[0]), "--file-prefix=dpwsk-%d",
			 (int)getpid());
		if (add_eal_arg(o, o->storage[0], err, errlen) != 0)
			return -1;
		if (lcores_arg(o, err, errlen) != 0)
			return -1;
	}
	if (o->iface != NULL) {
		snprintf(o->storage[2], sizeof(o->storage[2]),
			 "--vdev=" IFACE_PORT_NAME ",iface=%s,qpairs=%u,framecnt=%u", o->iface,
			 o->engine.queues > 1 ? o->engine.queues : 1, IFACE_FRAMES);
		if (add_eal_arg(o, o->storage[2], err, errlen) != 0)
			return -1;
		o->engine.port_name = IFACE_PORT_NAME;
	} else if (o->memif != NULL) {
		snprintf(o->storage[2], sizeof(o->storage[2]),
			 "--vdev=" MEMIF_PORT_NAME ",role=%s,socket=%s",
			 o->memif_server ? "server" : "client", o->memif);
		if (add_eal_arg(o, o->storage[2], err, errlen) != 0)
			return -1;
		o->engine.port_name = MEMIF_PORT_NAME;
	} else {
		o->engine.port_name = o->port;
	}
	return 0;
}

void dpw_engine_opts_usage(FILE *f)
{
	fprintf(f,
		"\nport and stack:\n"
		"  --iface NAME             attach Linux interface NAME (net_af_packet)\n"
		"  --memif ROLE:PATH        shared memory with another dpwsk process (net_memif):\n"
		"                           ROLE server creates the unix socket PATH, client joins it\n"
		"                           (and waits up to 10 s for the link to come up)\n"
		"  --port DEVICE            use an ethdev the EAL arguments create (PCI address, vdev)\n"
		"  --ip A.B.C.D/N           the stack's address and prefix (required)\n"
		"  --ip6 ADDR/64            an IPv6 address as well (and a link-local one)\n"
		"  --gw A.B.C.D             default gateway\n"
		"  --lcores LIST            EAL lcore list when no EAL arguments are given, lcore N\n"
		"                           on CPU N (default: one lcore per engine, each free to\n"
		"                           run on any CPU the process may use)\n"
		"  --queues N               N engines on the port, one per queue pair and thread\n"
		"                           (dpwsk-rawecho: the per-thread build; default 1)\n"
		"  --steering MODE          with --queues, how frames find their engine: rss (the\n"
		"                           port's own hash puts each TCP flow on its engine's\n"
		"                           queue; connects pick ports that hash there), software\n"
		"                           (the stack's rules hand frames on), toeplitz (rss's\n"
		"                           rules with a key of our own, for ports without RSS),\n"
		"                           auto (rss where the port has it; the default)\n"
		"  --rx-desc N, --tx-desc N queue depths (default 1024)\n"
		"  --mtu N                  port MTU (default: the device's)\n"
		"  --no-offloads            every checksum in software, even where the device\n"
		"                           offers to compute and check them (the default)\n"
		"  --no-zero-copy           copy every frame into a fresh mbuf on its way out\n"
		"                           (the default sends lwIP's segments in place)\n"
		"  --busy-cpu               count busy_cpu_ns: the CPU time of the loop passes that\n"
		"                           moved a frame, which, unlike busy_cycles, excludes time\n"
		"                           spent waiting for a CPU (a system call per pass)\n"
		"  --capture FILE           write what the port receives and the stack sends to\n"
		"                           FILE, pcapng (Wireshark, tcpdump -r)\n"
		"  --capture-limit MB       stop writing at MB megabytes (default 100)\n"
		"  --verbose                show DPDK's start-up log\n"
		"  -- EAL ARGS...           EAL arguments, replacing the defaults\n"
		"                           (--no-huge --no-pci --no-shconf -m 512)\n"
		"\ncounters: kill -USR1 prints them; while running, also through DPDK telemetry:\n"
		"  dpdk-telemetry.py -f dpwsk-PID, then /dpwsk/stats (and /dpwsk/wsk);\n"
		"  with --queues, /dpwsk/stats totals the engines, /dpwsk/engine,N gives one\n");
}

/* The client end of a memif port: its link comes up only once the server end has answered
 * on the socket (DPDK's interrupt thread does that; nothing here need poll). Frames sent
 * before are dropped, and a program that connects at once would wait out its SYN's backoff
 * (1, 2, 4 s) with nothing on the wire; when the link never comes up it would report a
 * connect timeout instead of the reason. So the client waits, 10 s at most, and says so.
 * (The server end cannot: its link comes up when a client joins.) */
#define MEMIF_LINK_WAIT_MS 10000
static int wait_memif_link(struct dpw_engine *e, const char *path, char *err, size_t errlen)
{
	struct rte_eth_link link;
	struct timespec t0, t;
	long ms = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(dpw_engine_port_id(e), &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= MEMIF_LINK_WAIT_MS) {
			snprintf(err, errlen, "memif: the link to %s did not come up in %d s (is "
				 "the server end running?)", path, MEMIF_LINK_WAIT_MS / 1000);
			return -1;
		}
		usleep(1000);
	}
	if (ms >= 1000)   /* slow enough to be worth a line: a busy machine, usually */
		fprintf(stderr, "dpwsk: memif link up after %ld ms\n", ms);
	return 0;
}

int dpw_engine_opts_ready(const struct dpw_engine_opts *o, struct dpw_engine *e, char *err,
			  size_t errlen)
{
	return o->memif != NULL && !o->memif_server ? wait_memif_link(e, o->memif, err, errlen)
						    : 0;
}

struct dpw_engine *dpw_engine_opts_start(struct dpw_engine_opts *o, char *err, size_t errlen)
{
	struct dpw_engine *e;

	if (o->verbose)
		setenv("DPW_VERBOSE", "1", 1);
	if (dpw_eal_init(o->eal_argc, o->eal_argv, err, errlen) < 0)
		return NULL;
	e = dpw_engine_create(&o->engine, err, errlen);
	if (e != NULL && dpw_engine_opts_ready(o, e, err, errlen) != 0) {
		dpw_engine_shutdown(e);
		dpw_engine_destroy(e);
		e = NULL;
	}
	if (e == NULL)
		dpw_eal_cleanup();
	return e;
}

void dpw_engine_print_stats(struct dpw_engine *e)
{
	struct dpw_engine_stats s;
	char line[DPW_STATS_LINE];

	dpw_engine_get_stats(e, &s);
	dpw_engine_format_stats(&s, line, sizeof(line));
	printf("dpwsk: stats %s\n", line);
	fflush(stdout);
}

void dpw_engine_opts_stop(struct dpw_engine *e)
{
	dpw_engine_shutdown(e);
	dpw_engine_print_stats(e);
	dpw_engine_destroy(e);
	dpw_eal_cleanup();
}
