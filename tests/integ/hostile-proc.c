/*
 * hostile-proc.c: what a hostile container's processes do to the agent that
 * reads them (tests/integ/hostile-images.sh).  Built static, copied into
 * the test's busybox images, run inside a container:
 *
 *   hostile-proc swaproot DIR   chroot into DIR and back to the container's
 *                               root, over and over (CAP_SYS_CHROOT, in
 *                               Docker's default set): /proc/PID/root
 *                               changes while the agent reads the process
 *   hostile-proc name NAME      set the process name (comm) to NAME's bytes
 *                               (control characters, invalid UTF-8), then
 *                               sleep
 *   hostile-proc churn          fork children that exit at once, forever:
 *                               pids listed in the cgroup are gone when
 *                               the agent opens them
 *   hostile-proc spawn N        fork N children that sleep, print
 *                               "started N", sleep (thousands of processes
 *                               without N execs)
 *   hostile-proc deep DIR N     make N folders nested in DIR, print "made N
 *                               folders" (or how many it could), sleep
 *
 * Each runs until killed.  Exit status 2 on a usage error, 1 on a failure.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
hostile_swaproot(const char *dir)
{
	int	root;

	if ((root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror("hostile-proc: /");
		return 1;
	}
	for (;;) {
		if (chroot(dir) == -1 || chdir("/") == -1) {
			perror("hostile-proc: chroot");
			return 1;
		}
		if (fchdir(root) == -1 || chroot(".") == -1) {
			perror("hostile-proc: chroot back");
			return 1;
		}
	}
}

static int
hostile_name(const char *name)
{
	if (prctl(PR_SET_NAME, name, 0, 0, 0) == -1) {
		perror("hostile-proc: PR_SET_NAME");
		return 1;
	}
	for (;;)
		pause();
}

static int
hostile_churn(void)
{
	pid_t	pid;

	for (;;) {
		if ((pid = fork()) == 0)
			_exit(0);
		if (pid == -1) {
			usleep(1000);
			continue;
		}
		while (waitpid(pid, NULL, 0) == -1)
			;
	}
}

/* pause() until a signal ends the process; returns 1 if pause() ever
 * returns otherwise (it does not). */
static int
sleep_forever(void)
{
	while (pause() == -1)
		;
	return 1;
}

static int
hostile_spawn(const char *count)
{
	long	n = strtol(count, NULL, 10), i;
	pid_t	pid;

	for (i = 0; i < n; i++) {
		if ((pid = fork()) == -1) {
			perror("hostile-proc: fork");
			break;
		}
		if (pid == 0)
			return sleep_forever();
	}
	printf("started %ld\n", i);
	fflush(stdout);
	return sleep_forever();
}

static int
hostile_deep(const char *dir, const char *count)
{
	long	n = strtol(count, NULL, 10), i;

	if (mkdir(dir, 0755) == -1 || chdir(dir) == -1) {
		perror("hostile-proc: deep");
		return 1;
	}
	for (i = 0; i < n; i++)
		if (mkdir("a", 0755) == -1 || chdir("a") == -1)
			break;
	printf("made %ld folders\n", i);
	fflush(stdout);
	return sleep_forever();
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "swaproot") == 0)
		return hostile_swaproot(argv[2]);
	if (argc == 3 && strcmp(argv[1], "name") == 0)
		return hostile_name(argv[2]);
	if (argc == 2 && strcmp(argv[1], "churn") == 0)
		return hostile_churn();
	if (argc == 3 && strcmp(argv[1], "spawn") == 0)
		return hostile_spawn(argv[2]);
	if (argc == 4 && strcmp(argv[1], "deep") == 0)
		return hostile_deep(argv[2], argv[3]);
	fprintf(stderr, "usage: hostile-proc swaproot DIR | name NAME | churn | "
	    "spawn N | deep DIR N\n");
	return 2;
}
