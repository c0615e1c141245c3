// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs-txcsum: switch an interface's transmit checksum offload on or off
 * (what `ethtool -K IFACE tx on|off` does), for the VM proxy suite, whose
 * busybox guest has no ethtool.
 *
 *   fs-txcsum IFACE on|off      prints "IFACE tx-checksum VALUE" (read back)
 *
 * Why the proxy suite needs it: a veth peer hands its skbs over with
 * CHECKSUM_PARTIAL (checksum never computed); an XDP_REDIRECT of such a
 * packet into a cpumap rebuilds the skb from the frame as CHECKSUM_NONE and
 * TCP drops it as a bad checksum.  With tx checksum offload off on the
 * sending side the checksum is computed before the packet crosses the pair.
 */
#define _GNU_SOURCE
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int xcsum(int s, const char *ifn, unsigned int cmd, unsigned int *val)
{
	struct ethtool_value ev = { .cmd = cmd, .data = *val };
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifn);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(s, SIOCETHTOOL, &ifr) < 0)
		return -1;
	*val = ev.data;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int v;
	int s;

	if (argc != 3 || (strcmp(argv[2], "on") && strcmp(argv[2], "off"))) {
		fprintf(stderr, "usage: fs-txcsum IFACE on|off\n");
		return 2;
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0) {
		perror("socket");
		return 1;
	}
	v = !strcmp(argv[2], "on");
	if (xcsum(s, argv[1], ETHTOOL_STXCSUM, &v) < 0) {
		perror("ETHTOOL_STXCSUM");
		return 1;
	}
	v = 0;
	if (xcsum(s, argv[1], ETHTOOL_GTXCSUM, &v) < 0) {
		perror("ETHTOOL_GTXCSUM");
		return 1;
	}
	printf("%s tx-checksum %s\n", argv[1], v ? "on" : "off");
	close(s);
	return v == (unsigned int)!strcmp(argv[2], "on") ? 0 : 1;
}
