/* The endpoint parsing of apps/common/opt.c, which every program (the WSK ones and the Linux
 * benchmark twins) takes its addresses through: both families, the host's family numbers in
 * what comes out, the right length for each, the text form back ("[IPV6]:PORT"), and a
 * one-line reason for each kind of bad input. No network. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "opt.h"

/* A good target: family, length, and the text form it prints back as. */
static void good_target(const char *s, int family, const char *back)
{
	struct sockaddr_storage ss;
	char err[256], buf[DPW_ENDPOINT_STRLEN];
	int rc = dpw_app_parse_target(s, &ss, err, sizeof(err));

	CHECK(rc == 0, "target '%s' refused: %s", s, err);
	if (rc != 0)
		return;
	CHECK(ss.ss_family == family, "target '%s': family %d, expected %d", s, ss.ss_family,
	      family);
	CHECK(dpw_app_addr_len((struct sockaddr *)&ss) ==
	      (family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)),
	      "target '%s': length", s);
	dpw_app_format_endpoint((struct sockaddr *)&ss, buf, sizeof(buf));
	CHECK(strcmp(buf, back) == 0, "target '%s' prints as '%s', expected '%s'", s, buf, back);
}

/* A bad target or endpoint: refused, one line, naming the input and saying why. */
static void bad(int target, const char *s, const char *why)
{
	struct sockaddr_storage ss;
	char err[256] = "";
	int rc = target ? dpw_app_parse_target(s, &ss, err, sizeof(err))
			: dpw_app_parse_endpoint(s, &ss, err, sizeof(err));

	CHECK(rc == -1, "'%s' accepted as %s", s, target ? "a target" : "an endpoint");
	CHECK(strchr(err, '\n') == NULL && strstr(err, s) != NULL && strstr(err, why) != NULL,
	      "'%s': message '%s' should name it and say '%s'", s, err, why);
}

int main(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char err[256], buf[DPW_ENDPOINT_STRLEN];

	good_target("198.18.0.1:5000", AF_INET, "198.18.0.1:5000");
	good_target("198.18.0.1:1", AF_INET, "198.18.0.1:1");
	good_target("[2001:2::1]:5000", AF_INET6, "[2001:2::1]:5000");
	good_target("[2001:0002:0000::0001]:65535", AF_INET6, "[2001:2::1]:65535");
	good_target("[fe80::1]:7", AF_INET6, "[fe80::1]:7");
	good_target("[::1]:7", AF_INET6, "[::1]:7");

	bad(1, "198.18.0.1", "expected");
	bad(1, "5000", "expected");
	bad(1, "localhost:5000", "not an IPv4 address");
	bad(1, "198.18.0.1:0", "port");
	bad(1, "198.18.0.1:65536", "port");
	bad(1, "198.18.0.1:-1", "port");
	bad(1, "198.18.0.1: 80", "port");
	bad(1, "0.0.0.0:80", "unspecified");
	bad(1, "255.255.255.255:80", "broadcast");
	bad(1, "224.0.0.1:80", "multicast");
	bad(1, "2001:2::1:80", "brackets");
	bad(1, "2001:2::1", "brackets");
	bad(1, "[2001:2::1:80", "missing ']'");
	bad(1, "[2001:2::1]", "':PORT'");
	bad(1, "[2001:2::1]80", "':PORT'");
	bad(1, "[2001:2::1]:", "port");
	bad(1, "[2001:2::1]:0", "port");
	bad(1, "[2001:2::1]:65536", "port");
	bad(1, "[]:80", "not an IPv6 address");
	bad(1, "[2001:2::x]:80", "not an IPv6 address");
	bad(1, "[198.18.0.1]:80", "not an IPv6 address");
	bad(1, "[fe80::1%eth0]:80", "not an IPv6 address");
	bad(1, "[::]:80", "unspecified");
	bad(1, "[ff02::1]:80", "multicast");
	bad(1, "[::ffff:198.18.0.1]:80", "IPv4-mapped");
	bad(1, "[0123456789012345678901234567890123456789012345678901234567890]:80",
	    "not an IPv6 address");

	/* Local endpoints: "PORT" alone is 0.0.0.0, the unspecified addresses are fine. */
	CHECK(dpw_app_parse_endpoint("8080", &ss, err, sizeof(err)) == 0 &&
	      ss.ss_family == AF_INET &&
	      ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY) &&
	      ((struct sockaddr_in *)&ss)->sin_port == htons(8080), "'8080': %s", err);
	CHECK(dpw_app_parse_endpoint("[::]:8080", &ss, err, sizeof(err)) == 0 &&
	      ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) &&
	      s6->sin6_port == htons(8080), "'[::]:8080': %s", err);
	CHECK(dpw_app_parse_endpoint("0.0.0.0:1", &ss, err, sizeof(err)) == 0, "0.0.0.0:1: %s",
	      err);
	CHECK(dpw_app_parse_endpoint("[2001:2::2]:7", &ss, err, sizeof(err)) == 0 &&
	      ss.ss_family == AF_INET6, "[2001:2::2]:7: %s", err);
	bad(0, "here", "port");
	bad(0, "0", "port");
	bad(0, "[::]:0", "port");
	bad(0, "[::", "missing ']'");
	bad(0, "::1:80", "brackets");
	bad(0, "[ff02::1]:7", "multicast");
	bad(0, "239.0.0.1:7", "multicast");

	/* Windows' AF_INET6 (23: what a WSK program's converted addresses carry) prints and
	 * measures as IPv6 too. */
	CHECK(dpw_app_parse_target("[2001:2::1]:9", &ss, err, sizeof(err)) == 0, "%s", err);
	ss.ss_family = 23;
	CHECK(dpw_app_addr_is_ipv6((struct sockaddr *)&ss), "family 23 is IPv6");
	CHECK(dpw_app_addr_len((struct sockaddr *)&ss) == sizeof(struct sockaddr_in6),
	      "family 23 length");
	dpw_app_format_endpoint((struct sockaddr *)&ss, buf, sizeof(buf));
	CHECK(strcmp(buf, "[2001:2::1]:9") == 0, "family 23 prints as '%s'", buf);
	ss.ss_family = AF_UNIX;
	CHECK(dpw_app_addr_len((struct sockaddr *)&ss) == 0, "AF_UNIX has no IP length");
	/* The longest text form fits DPW_ENDPOINT_STRLEN. */
	CHECK(dpw_app_parse_target("[1111:2222:3333:4444:5555:6666:7777:8888]:65535", &ss, err,
				   sizeof(err)) == 0, "%s", err);
	dpw_app_format_endpoint((struct sockaddr *)&ss, buf, sizeof(buf));
	CHECK(strcmp(buf, "[1111:2222:3333:4444:5555:6666:7777:8888]:65535") == 0, "'%s'", buf);

	printf("opt_addr_test: %d of %d checks failed\n", failures, checks);
	return failures == 0 ? 0 : 1;
}
