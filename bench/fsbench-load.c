// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsbench-load: short-lived connection load generator.  Each thread is
 * pinned to one CPU and loops: connect, send a small HTTP/1.0 request, read
 * the whole response, check "HTTP/1.x 200", close.
 *
 *   fsbench-load -p PORT [-a 127.0.0.1 | -a ::1] [-t THREADS] [-n CONNS | -d SECONDS]
 *                [-u PATH] [-T TIMEOUT_MS] [-N (no pinning)]
 *
 * Prints one line:  conns=N failures=F seconds=S rate=R p50_us=A p99_us=B (first error: ...)
 * (p50/p99: latency of a whole successful connection, connect to close,
 * from a log-linear histogram: within 1/16 of the value.)
 * Exit status 0 if failures == 0, 1 otherwise, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage target;	/* IPv4 or IPv6 (-a) */
static socklen_t target_len;
static const char *path = "/";
static long total_limit;	/* connections, 0 = use duration */
static double duration = 5.0;
static int timeout_ms = 5000;
static long issued;
static unsigned long done, failed;
static char first_err[160];
static double t_end;
/* Latency histogram: exact below 32 us, then 16 buckets per power of two. */
#define LAT_BUCKETS (32 + 40 * 16)
static unsigned long lat_hist[LAT_BUCKETS];

static int lat_bucket(unsigned long us)
{
	int b;

	if (us < 32)
		return (int)us;
	b = 63 - __builtin_clzl(us);
	if (b > 44)
		return LAT_BUCKETS - 1;
	return 32 + (b - 5) * 16 + (int)((us >> (b - 4)) & 15);
}

static unsigned long lat_value(int i)
{
	int b;

	if (i < 32)
		return (unsigned long)i;
	b = (i - 32) / 16 + 5;
	return (1UL << b) + (unsigned long)((i - 32) % 16) * (1UL << (b - 4));
}

/* The q-quantile (0..1) of the successful connections' latencies, in us. */
static unsigned long lat_quantile(double q)
{
	unsigned long n = 0, want, seen = 0;
	int i;

	for (i = 0; i < LAT_BUCKETS; i++)
		n += lat_hist[i];
	if (!n)
		return 0;
	want = (unsigned long)(q * n);
	if (want >= n)
		want = n - 1;
	for (i = 0; i < LAT_BUCKETS; i++) {
		seen += lat_hist[i];
		if (seen > want)
			return lat_value(i);
	}
	return lat_value(LAT_BUCKETS - 1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what, int err)
{
	if (__atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED) == 0)
		snprintf(first_err, sizeof(first_err), "%s: %s", what,
			 err ? strerror(err) : "bad response");
}

static int one_conn(const char *req, size_t rlen)
{
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fail("socket", errno);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&target, target_len) < 0) {
		fail("connect", errno);
		goto bad;
	}
	if (write(fd, req, rlen) != (ssize_t)rlen) {
		fail("write", errno);
		goto bad;
	}
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += n;
		if (got == sizeof(buf) - 1)
			got = 32;	/* keep the status line, drop the rest */
	}
	if (n < 0) {
		fail("read", errno);
		goto bad;
	}
	buf[got] = 0;
	if (got < 12 || strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 9, "200", 3)) {
		fail("response", 0);
		goto bad;
	}
	close(fd);
	return 0;
bad:
	close(fd);
	return -1;
}

/* set_target: ADDR is an IPv4 or an IPv6 literal (no names, no scope). */
static int set_target(const char *addr, int port)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&target;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&target;

	memset(&target, 0, sizeof(target));
	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		target_len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		target_len = sizeof(*v6);
		return 0;
	}
	return -1;
}

static void *run(void *arg)
{
	int cpu = (int)(long)arg;
	char req[512];
	size_t rlen;

	if (cpu >= 0) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
	}
	rlen = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: fsbench\r\nUser-Agent: fsbench-load\r\n\r\n",
			path);
	for (;;) {
		if (total_limit) {
			if (__atomic_fetch_add(&issued, 1, __ATOMIC_RELAXED) >= total_limit)
				break;
		} else if (now() >= t_end) {
			break;
		}
		double t = now();

		if (one_conn(req, rlen) == 0) {
			__atomic_fetch_add(&done, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&lat_hist[lat_bucket((unsigned long)((now() - t) * 1e6))], 1,
					   __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	int port = 0, threads = 0, pin = 1, opt, i, k;
	pthread_t th[256];
	cpu_set_t all;
	double t0, secs;
	int cpus[CPU_SETSIZE], ncpus = 0;

	while ((opt = getopt(argc, argv, "a:p:t:n:d:u:T:N")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'n': total_limit = atol(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'u': path = optarg; break;
		case 'T': timeout_ms = atoi(optarg); break;
		case 'N': pin = 0; break;
		default: goto usage;
		}
	}
	if (port <= 0 || port > 65535 || set_target(addr, port) < 0)
		goto usage;
	sched_getaffinity(0, sizeof(all), &all);
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &all))
			cpus[ncpus++] = i;
	if (threads <= 0)
		threads = ncpus;
	if (threads > 256)
		threads = 256;
	t0 = now();
	t_end = t0 + duration;
	for (i = 0, k = 0; i < threads; i++, k = (k + 1) % ncpus)
		if (pthread_create(&th[i], NULL, run, (void *)(long)(pin ? cpus[k] : -1))) {
			perror("pthread_create");
			return 1;
		}
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	secs = now() - t0;
	printf("conns=%lu failures=%lu seconds=%.3f rate=%.0f p50_us=%lu p99_us=%lu%s%s%s\n", done, failed,
	       secs, done / secs, lat_quantile(0.50), lat_quantile(0.99), failed ? " (first error: " : "", failed ? first_err : "",
	       failed ? ")" : "");
	return failed ? 1 : 0;
usage:
	fprintf(stderr, "usage: %s -p PORT [-a ADDR] [-t THREADS] [-n CONNS | -d SECONDS] [-u PATH] [-T TIMEOUT_MS] [-N]\n",
		argv[0]);
	return 2;
}
