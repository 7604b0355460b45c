/* af_packet_drops.h */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_packet.h>

#include "af_packet_drops.h"

unsigned dpw_af_packet_sockets(int if_index, int *fds, unsigned max)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *d;
	unsigned n = 0;

	if (dir == NULL)
		return 0;
	while (n < max && (d = readdir(dir)) != NULL) {
		char *end;
		long fd = strtol(d->d_name, &end, 10);
		struct sockaddr_ll sll;
		socklen_t len = sizeof(int);
		int domain = 0;

		if (*d->d_name == '\0' || *end != '\0' || fd == dirfd(dir))
			continue;
		int version = -1;

		if (getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
		    domain != AF_PACKET)
			continue;
		/* The PMD's rings are TPACKET_V2; a plain packet socket of the process (a tap,
		 * perhaps in another namespace, where interface indexes repeat) is not. */
		len = sizeof(version);
		if (getsockopt((int)fd, SOL_PACKET, PACKET_VERSION, &version, &len) != 0 ||
		    version != TPACKET_V2)
			continue;
		len = sizeof(sll);
		memset(&sll, 0, sizeof(sll));
		if (getsockname((int)fd, (struct sockaddr *)&sll, &len) == 0 &&
		    sll.sll_ifindex == if_index)
			fds[n++] = (int)fd;
	}
	closedir(dir);
	return n;
}

uint64_t dpw_af_packet_drops(const int *fds, unsigned n)
{
	uint64_t drops = 0;

	for (unsigned i = 0; i < n; i++) {
		struct tpacket_stats st;   /* TPACKET_V2's; V3 adds a field after these two */
		socklen_t len = sizeof(st);

		if (getsockopt(fds[i], SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
			drops += st.tp_drops;
	}
	return drops;
}
