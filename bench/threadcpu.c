/*
 * threadcpu.c - runs a command (through sh -c) and prints the CPU time of
 * each of its process's threads, grouped by thread name, for bench/run.
 *
 *   threadcpu [-i MS] [-w FILE] 'sluice -c -z -e -f out -C tree .'
 *
 * It samples /proc/PID/task/TID/stat (utime + stime) every MS
 * milliseconds (default 5) for every process whose parent is the shell
 * or the shell itself (sh -c execs a lone command), so a thread's last
 * few milliseconds before it ends can be missed: at most MS per thread.
 * sluice names each stage's thread after its stage ("archive", "zstd",
 * "aes-256-gcm", "file"); threads a stage starts (libzstd's workers, the
 * restore writers) inherit that name.  With -w FILE it also reports when
 * FILE (with the file sink's .FILE.sluice-* beside it) first held more
 * than 4 KiB (the time to first output) and how long before the command
 * ended it last grew (the tail: the final fsync and rename, say).
 *
 * Output, one line: "NAME CPU_S[xN] ... | total CPU_S | wall S [| first
 * output S | tail S]", where xN is the number of threads of that name.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256

typedef struct {
    int tid;
    char name[32];
    unsigned long long ticks;
} thread_cpu;

static thread_cpu th[MAX_THREADS];
static int n_th;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sample_task(int pid, int tid)
{
    char path[96], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close)
        return;
    unsigned long long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime */
    if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return;
    int i;
    for (i = 0; i < n_th && th[i].tid != tid; i++)
        ;
    if (i == n_th) {
        if (n_th == MAX_THREADS)
            return;
        n_th++;
        th[i].tid = tid;
    }
    snprintf(th[i].name, sizeof th[i].name, "%.*s", (int)(close - open - 1),
             open + 1);
    th[i].ticks = ut + st;
}

static void sample_pid(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.')
            sample_task(pid, atoi(de->d_name));
    closedir(d);
}

/* The shell and its children (a pipeline's processes). */
static void sample(int shell)
{
    sample_pid(shell);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", shell, shell);
    FILE *f = fopen(path, "r");
    int pid;
    while (f && fscanf(f, "%d", &pid) == 1)
        sample_pid(pid);
    if (f)
        fclose(f);
}

/* The size of FILE and of the files beside it whose names hold FILE's
 * (the file sink writes .FILE.sluice-XXXXXX, renamed to FILE at the end). */
static long long watch_size(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1,
             slash ? path : ".");
    long long sum = -1;
    struct stat st;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));)
        if (strstr(de->d_name, base) &&
            fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
            sum = (sum < 0 ? 0 : sum) + st.st_size;
    if (d)
        closedir(d);
    return sum;
}

int main(int argc, char **argv)
{
    int interval_ms = 5;
    const char *watch = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "+i:w:")) != -1) {
        if (opt == 'i')
            interval_ms = atoi(optarg);
        else if (opt == 'w')
            watch = optarg;
        else
            return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: threadcpu [-i MS] [-w FILE] 'COMMAND'\n");
        return 2;
    }
    double t0 = now(), first = -1, last_growth = -1;
    long long last_size = -1;
    pid_t child = fork();
    if (child == 0) {
        execl("/bin/sh", "sh", "-c", argv[optind], (char *)NULL);
        _exit(127);
    }
    int status = 0;
    for (;;) {
        sample(child);
        if (watch) {
            long long size = watch_size(watch);
            if (size != last_size) {
                if (first < 0 && size > 4096)
                    first = now() - t0;
                last_size = size;
                last_growth = now() - t0;
            }
        }
        pid_t w = waitpid(child, &status, WNOHANG);
        if (w == child)
            break;
        usleep(interval_ms * 1000);
    }
    double wall = now() - t0;
    double hz = (double)sysconf(_SC_CLK_TCK), total = 0;
    /* Group by name, in order of first appearance. */
    for (int i = 0; i < n_th; i++) {
        if (!th[i].name[0])
            continue;
        unsigned long long sum = 0;
        int count = 0;
        for (int j = i; j < n_th; j++)
            if (th[j].name[0] && !strcmp(th[j].name, th[i].name) && j != i) {
                sum += th[j].ticks;
                count++;
                th[j].name[0] = '\0';
            }
        sum += th[i].ticks;
        count++;
        total += sum / hz;
        printf("%s %.2f", th[i].name, sum / hz);
        if (count > 1)
            printf("x%d", count);
        printf(", ");
    }
    printf("| total %.2f | wall %.2f", total, wall);
    if (watch && first >= 0)
        printf(" | first output %.3f | tail %.3f", first, wall - last_growth);
    printf("\n");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
