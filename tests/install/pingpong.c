// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong: the tiny TCP server + client of the package install test.
 *
 *   pingpong both ADDR PORT N   fork a server accepting N connections and a
 *                               client making N short connections to it
 *                               (ping -> pong -> close); exit 0 when all N
 *                               round trips worked in both
 *
 * Dynamically linked on purpose: `fastsocket run` works by LD_PRELOAD,
 * which a static program would ignore.  Each side prints whether
 * libfsocket.so is mapped into it (preload=yes|no).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int preloaded(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "libfsocket") != NULL;
	fclose(f);
	return found;
}

static int fill_addr(struct sockaddr_in *sa, const char *addr, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	return inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -1;
}

static int server(int lfd, int n)
{
	int done = 0;

	while (done < n) {
		char buf[8];
		int c = accept(lfd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			perror("server: accept");
			return 1;
		}
		if (read(c, buf, 4) == 4 && !memcmp(buf, "ping", 4) &&
		    write(c, "pong", 4) == 4)
			done++;
		else
			fprintf(stderr, "server: bad exchange on connection %d\n", done);
		close(c);
	}
	printf("server: %d connections served, preload=%s\n", done,
	       preloaded() ? "yes" : "no");
	return 0;
}

static int client(const struct sockaddr_in *sa, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++) {
		char buf[8];
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0) {
			perror("client: socket");
			return 1;
		}
		if (connect(s, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
			perror("client: connect");
			close(s);
			return 1;
		}
		if (write(s, "ping", 4) == 4 && read(s, buf, 4) == 4 &&
		    !memcmp(buf, "pong", 4))
			ok++;
		close(s);
	}
	printf("client: %d/%d round trips, preload=%s\n", ok, n,
	       preloaded() ? "yes" : "no");
	fflush(stdout);
	return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	int n, lfd, one = 1, st = 0;
	pid_t pid;

	if (argc != 5 || strcmp(argv[1], "both")) {
		fprintf(stderr, "usage: %s both ADDR PORT N\n", argv[0]);
		return 2;
	}
	n = atoi(argv[4]);
	if (n <= 0 || fill_addr(&sa, argv[2], atoi(argv[3]))) {
		fprintf(stderr, "pingpong: bad address or count\n");
		return 2;
	}
	/* A failed client must not leave the server blocked in accept(). */
	alarm(60);
	/* Listen before forking, so the client never races the server. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 128) < 0) {
		perror("server: listen");
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(lfd);
		_exit(client(&sa, n));
	}
	if (server(lfd, n))
		st = 1;
	close(lfd);
	if (waitpid(pid, &one, 0) < 0 || !WIFEXITED(one) || WEXITSTATUS(one))
		st = 1;
	printf("pingpong: %s\n", st ? "FAILED" : "ok");
	return st;
}
