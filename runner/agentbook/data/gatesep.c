/* Preloaded into every program of a gate (agentbook/session/gatesep.py builds it; the gate's jail
   sets LD_PRELOAD), and active in the shells among them (bash, sh, dash ...: the gate's own shell, and
   any script it runs).

   Every process of a gate's jail is the same user, so without this the code a gate runs (the agent's
   tests) could open the shell's /proc/PID/mem and rewrite its unread lines, or patch bubblewrap's init
   (pid 1, whose exit status is the gate's): the gate would pass with its last check failing.

   Landlock lets a process in a domain reach (ptrace, /proc/PID/mem, fd, environ) only processes in the
   same domain or one nested below it. Here every program a shell executes first enters a new domain of
   its own, nested below the shell's: the gate's shell, its subshells and pid 1 stay outside every domain,
   two programs of the gate are in sibling domains, and a script's shell (`bash check.sh`, make's `sh -c`)
   is kept from the programs it runs the same way. In other programs the library does nothing (what they
   start inherits their domain), so their posix_spawn, system and popen work as ever.

   The domain handles only making block devices (impossible without CAP_MKNOD anyway) and renaming or
   linking across folders (Landlock denies that to every domain unless handled and granted; it is
   granted below the root): a ruleset must handle something, and these change nothing a build does.

   Where Landlock has ABI 6 (Linux 6.12), each domain is also scoped for signals: a program may signal
   only processes of its own domain and those nested below it (what it started), so the agent's tests
   cannot kill, stop or interrupt the gate's shell, pid 1, or a program the gate runs after them (a
   daemon they left killing `grep` made `! grep -q TODO src` pass). The shell's own `kill` (a builtin)
   is outside every domain, and `kill`, `pkill` and `killall` from the system's /usr/bin (or /bin),
   executed by a shell, enter a domain without that scope: they signal what that shell may, which is
   what its command line says (`server & ...; pkill server`). Abstract unix sockets are not scoped: no
   process the verdict depends on listens on one, and a test's client and server may be two programs.

   What earlier commands left running (a process whose parent has exited) is ended before a shell of the gate
   starts another program, and a shell's fork that fails even then stops the gate: a daemon of the agent's tests
   held every pid, so a later `! timeout 9 grep ...` could not start grep and passed (end_leftovers below).
   Below ABI 6 a program a shell waited for that died of a signal the shell did not send stops the gate (a job
   beside the check killed it: the `sent` table below).

   Fail closed: the gate's first line checks that a program it runs cannot read the shell's
   /proc/PID/environ; a program that cannot enter its domain is not run, and every process of the gate
   is killed (kill(-1)), so a `! cmd` cannot turn the refusal into a pass. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "landlock.h"

static int active; /* this process is a shell: what it executes enters a domain of its own */
static long abi;   /* Landlock's ABI version (read in shells only) */

static int is_shell(void) {
    static const char *const shells[] = {"bash", "sh", "dash", "ash", "zsh", "ksh", "ksh93", "mksh", "busybox"};
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 1; /* cannot tell: be a shell (its programs then enter domains) */
    exe[n] = '\0';
    const char *base = strrchr(exe, '/');
    base = base != NULL ? base + 1 : exe;
    for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++)
        if (strcmp(base, shells[i]) == 0)
            return 1;
    return 0;
}

/* AGENTBOOK_LANDLOCK_ABI (set by the runner from its own environment) lowers the ABI used here, never raises it:
   how a host without signal scoping is tried on a kernel that has it. A lower value only drops the scope
   from domains nested below this shell's, which every scope above them still binds. */
static long abi_cap(long abi) {
    const char *cap = getenv("AGENTBOOK_LANDLOCK_ABI");
    if (cap == NULL || *cap < '0' || *cap > '9')
        return abi;
    long value = strtol(cap, NULL, 10);
    return value < abi ? value : abi;
}

/* Below ABI 6 any program of the gate may signal any other, so a program a shell ran that died of a signal the
   shell did not send itself (its builtin kill, in it or a subshell) may have been killed by another: a job the
   gate's line started beside a check killed it, and `! check` passed. Such a death stops the gate instead. What
   the shell (and its subshells, which share this table) signalled is kept here, and the pids of programs whose
   stdout is a pipe of the gate's own (a pipeline's: `yes | head` ends `yes` with SIGPIPE), not the gate's output,
   which the runner reads to the end. From ABI 6 on only a SIGKILL counts (see checked below). */
#define SENT_MAX 4096
struct sent {
    int pid; /* 0: every process (kill(-1), a process group) */
    int sig;
};
struct sent_table {
    int count;
    ino_t output; /* the pipe this shell's stdout was when it started */
    struct sent sent[SENT_MAX];
};
static struct sent_table *sent; /* shared with this shell's subshells (NULL: none could be made) */
static int sent_fd = -1;        /* the table's memfd (close-on-exec) */
static int signal_tool;         /* this process is one of the system's kill tools a shell ran: its kills count */
#define SENT_FD 1017            /* where a shell hands its table to the kill tool it runs (and to no other) */

static int signals_for_its_shell(const char *path);

static void note_sent(int pid, int sig) {
    if (sent == NULL || sig == 0)
        return;
    int at = __atomic_fetch_add(&sent->count, 1, __ATOMIC_RELAXED) % SENT_MAX; /* full: the oldest go, and a
                                                                                  death they excused stops */
    sent->sent[at].pid = pid;
    sent->sent[at].sig = sig;
}

static int was_sent(int pid, int sig) {
    int count = __atomic_load_n(&sent->count, __ATOMIC_RELAXED);
    for (int i = 0; i < count && i < SENT_MAX; i++)
        if ((sent->sent[i].pid == pid || sent->sent[i].pid == 0) && sent->sent[i].sig == sig)
            return 1;
    return 0;
}

static ino_t pipe_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) ? st.st_ino : 0;
}

static struct sent_table *map_table(int fd) {
    void *table = mmap(NULL, sizeof *sent, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return table == MAP_FAILED ? NULL : table;
}

/* A kill tool run by a shell of the gate: the table the shell handed it at SENT_FD, if one is there. */
static void join_shells_table(void) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct stat st;
    if (n <= 0 || fstat(SENT_FD, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != (off_t)sizeof *sent)
        return;
    exe[n] = '\0';
    int pkill = strcmp(exe, "/usr/bin/pgrep") == 0 || strcmp(exe, "/bin/pgrep") == 0; /* pkill links to it */
    if ((signals_for_its_shell(exe) || pkill) && (sent = map_table(SENT_FD)) != NULL)
        signal_tool = 1;
    close(SENT_FD);
}

__attribute__((constructor)) static void gatesep_init(void) {
    active = is_shell();
    if (!active) {
        join_shells_table();
        return;
    }
    abi = abi_cap(landlock_abi());
    sent_fd = memfd_create("agentbook-gate-signals", MFD_CLOEXEC);
    if (sent_fd < 0 || ftruncate(sent_fd, sizeof *sent) != 0 || (sent = map_table(sent_fd)) == NULL)
        return; /* no table: every death by a signal then stops the gate (see checked) */
    sent->output = pipe_of(1);
}

/* The system's signalling tools, whose targets the shell's command line names (as its builtin kill's):
   read-only in the jail, so no program of the agent's is among them. */
static int signals_for_its_shell(const char *path) {
    static const char *const tools[] = {"/usr/bin/kill", "/bin/kill", "/usr/bin/pkill", "/bin/pkill",
                                        "/usr/bin/killall", "/bin/killall"};
    for (size_t i = 0; path != NULL && i < sizeof tools / sizeof tools[0]; i++)
        if (strcmp(path, tools[i]) == 0)
            return 1;
    return 0;
}

/* Stop the gate: `why`, then every process of the gate is killed (kill(-1): all but this one and pid 1, the gate's
   shell among them, where this process may signal them), then this one: the gate ends 137 either way. */
static void stop(const char *why, const char *what, int err) {
    char line[320];
    int n = what == NULL ? snprintf(line, sizeof line, "\n[agentbook: gate stopped: %s]\n", why)
                         : snprintf(line, sizeof line, "\n[agentbook: gate stopped: %s (%s: %s)]\n", why, what,
                                    strerror(err));
    if (n > 0) {
        ssize_t ignored = write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)ignored;
    }
    kill(-1, SIGKILL);
    kill(getpid(), SIGKILL);
    _exit(125);
}

static void refuse(const char *what, int err) {
    stop("a command could not be separated from the gate's shell", what, err);
}

/* Enter a new Landlock domain nested below this process's (scoped for signals where the kernel can, unless
   the program executed is one of the shell's signalling tools), or stop the gate. */
static void enter_domain(const char *path) {
    const char *failed = NULL;
    if (landlock_enter(abi >= LANDLOCK_ABI_SCOPED && !signals_for_its_shell(path), &failed) != 0)
        refuse(failed, errno);
}

/* What earlier commands left running: a process whose parent has exited (the kernel hands it to pid 1,
   bubblewrap's init) is no job of any shell of the gate. Such a daemon held every pid the jail may have, so
   a later check could not start a program (`! timeout 9 grep -q BAD src` passed: timeout could not fork
   grep), and, where signals are not scoped (before ABI 6), killed a later check. So before a shell of the
   gate starts a program, it ends every such process it may signal (under ABI 6 a script's shell reaches only
   what its own programs started) but its own ancestors (the gate's shell among them). The shell's own jobs
   (`server &`) are its children and stay. Raw system calls only: this also runs in a vfork child. */
struct dirent64 {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

/* The parent of process `pid` (0 when it is gone or unreadable; negative for a zombie: its parent, negated). */
static long parent_of(long pid) {
    char path[40] = "/proc/", digits[24], text[512];
    int len = 0;
    do
        digits[len++] = (char)('0' + pid % 10);
    while ((pid /= 10) > 0 && len < 20);
    int at = 6;
    while (len > 0)
        path[at++] = digits[--len];
    memcpy(path + at, "/stat", 6);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    const char *end = strrchr(text, ')'); /* the name may hold spaces and brackets: it ends at the last ')' */
    if (end == NULL || end[1] != ' ' || end[2] == 'X' || end[3] != ' ')
        return 0;
    long parent = 0;
    for (const char *c = end + 4; *c >= '0' && *c <= '9'; c++)
        parent = parent * 10 + (*c - '0');
    return end[2] == 'Z' ? -parent : parent;
}

#define MAX_ANCESTORS 64

/* One pass: SIGKILL to every orphan this process may signal; how many took it. `*zombies`: the orphans that are
   zombies still (each holds its pid until pid 1 reaps it: the fork after this would find none free). */
static int end_orphans(const long *ancestors, int count, int *zombies) {
    int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return 0;
    char buf[4096];
    int ended = 0;
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct dirent64 *entry = (struct dirent64 *)(buf + off);
            off += entry->reclen;
            long pid = 0;
            const char *c = entry->name;
            for (; *c >= '0' && *c <= '9'; c++)
                pid = pid * 10 + (*c - '0');
            if (*c != '\0' || pid <= 1)
                continue;
            int mine = 0;
            for (int i = 0; i < count && !mine; i++)
                mine = ancestors[i] == pid;
            long parent = mine ? 0 : parent_of(pid);
            if (parent == -1)
                (*zombies)++;
            else if (parent == 1 && kill((pid_t)pid, SIGKILL) == 0)
                ended++;
        }
    }
    close(dir);
    return ended;
}

static void end_leftovers(void) {
    long ancestors[MAX_ANCESTORS];
    int count = 0;
    for (long pid = getpid(); pid > 1 && count < MAX_ANCESTORS; pid = labs(parent_of(pid)))
        ancestors[count++] = pid;
    int ended = 0;
    for (int round = 0; round < 20000; round++) { /* a killed process stays an orphan until it is gone */
        int zombies = 0;
        int now = end_orphans(ancestors, count, &zombies);
        if (now == 0 && zombies == 0) {
            static const char note[] = "[agentbook: ended processes that earlier commands of this gate left "
                                       "running (a gate's server must be a job of its shell: `server &`)]\n";
            if (ended > 0) {
                ssize_t ignored = write(2, note, sizeof note - 1);
                (void)ignored;
            }
            return;
        }
        ended += now;
        struct timespec pause = {0, 100000};
        nanosleep(&pause, NULL);
    }
    stop("what earlier commands left running did not end", "kill", EBUSY);
}

/* A fork of a shell of the gate: what earlier commands left running is ended first, and a fork that fails even
   then (the gate's own jobs hold every process) stops the gate, as a check that cannot start cannot be
   negated into a pass. The child is marked swept, so its exec does not look again. */
static pid_t swept; /* the process that ended the leftovers before it was forked: its exec need not */

pid_t fork(void) {
    static pid_t (*real)(void);
    if (real == NULL)
        real = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
    if (real == NULL)
        refuse("fork", ENOSYS);
    if (!active)
        return real();
    end_leftovers();
    pid_t pid = real();
    if (pid < 0)
        stop("a shell of the gate could not start a process", "fork", errno);
    if (pid == 0)
        swept = getpid();
    return pid;
}

static void before_exec(const char *path) {
    if (!active)
        return;
    if (sent_fd >= 0 && signals_for_its_shell(path))
        dup2(sent_fd, SENT_FD); /* inherited by that tool alone: what it kills, this shell may (as from ABI 6) */

    if (swept != getpid()) /* not forked through fork() above: the shell itself, or a vfork child (dash) */
        end_leftovers();
    enter_domain(path);
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

int kill(pid_t pid, int sig) {
    if (active || signal_tool)
        note_sent(pid > 0 ? pid : 0, sig);
    return (int)syscall(SYS_kill, pid, sig);
}

int killpg(pid_t group, int sig) {
    if (active)
        note_sent(0, sig);
    return (int)syscall(SYS_kill, -group, sig);
}

/* A shell making a pipe of the gate's own its stdout (the child's side of a pipeline, before it runs the program
   or, in a subshell, its own code): that process may die of SIGPIPE when the reader ends. */
static void note_stdout(int result) {
    ino_t out = result == 1 && sent != NULL ? pipe_of(1) : 0;
    if (out != 0 && out != sent->output)
        note_sent(getpid(), SIGPIPE);
}

int dup2(int fd, int to) {
    static int (*real)(int, int);
    if (real == NULL)
        real = REAL("dup2", int (*)(int, int));
    int result = real(fd, to);
    if (active)
        note_stdout(result);
    return result;
}

int dup3(int fd, int to, int flags) {
    static int (*real)(int, int, int);
    if (real == NULL)
        real = REAL("dup3", int (*)(int, int, int));
    int result = real(fd, to, flags);
    if (active)
        note_stdout(result);
    return result;
}

/* What a shell reaped: a program that died of a signal the shell did not send stops the gate. Below ABI 6 any
   program of the gate may have sent it. From ABI 6 on only a SIGKILL counts: what no other program may send
   any more, but a script's shell that stopped its part of the gate (stop() above, which under the scope reaches
   only what that script started) sends itself, and the kernel sends on the memory limit: `! bash check.sh`
   passed when check.sh's shell stopped. */
static pid_t checked(pid_t pid, const int *status) {
    if (pid <= 0 || !active || !WIFSIGNALED(*status))
        return pid;
    int sig = WTERMSIG(*status);
    if ((abi >= LANDLOCK_ABI_SCOPED && sig != SIGKILL) || (sent != NULL && was_sent(pid, sig)))
        return pid;
    char why[240];
    snprintf(why, sizeof why, "a program it ran was killed by a signal its shell did not send (pid %d, signal %d): "
                              "%s", (int)pid, sig, abi >= LANDLOCK_ABI_SCOPED
                 ? "a script's shell that stopped, or the kernel (out of memory)"
                 : "below Landlock ABI 6 any program of the gate may have sent it");
    stop(why, NULL, 0);
    return pid;
}

pid_t waitpid(pid_t pid, int *status, int options) {
    static pid_t (*real)(pid_t, int *, int);
    if (real == NULL)
        real = REAL("waitpid", pid_t(*)(pid_t, int *, int));
    int own = 0;
    int *into = status != NULL ? status : &own;
    return checked(real(pid, into, options), into);
}

pid_t wait(int *status) {
    return waitpid(-1, status, 0);
}

pid_t wait3(int *status, int options, struct rusage *usage) {
    return wait4(-1, status, options, usage);
}

pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage) {
    static pid_t (*real)(pid_t, int *, int, struct rusage *);
    if (real == NULL)
        real = REAL("wait4", pid_t(*)(pid_t, int *, int, struct rusage *));
    int own = 0;
    int *into = status != NULL ? status : &own;
    return checked(real(pid, into, options, usage), into);
}

/* Every way a program is executed goes through one of these. A failed exec leaves the process in its new
   domain (bash then runs a file without `#!` itself): the next exec nests one deeper, never shallower. */
int execve(const char *path, char *const argv[], char *const envp[]) {
    before_exec(path);
    return (int)syscall(SYS_execve, path, argv, envp);
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
    before_exec(path[0] == '/' ? path : NULL);
    return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

int fexecve(int fd, char *const argv[], char *const envp[]) {
    before_exec(NULL);
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}

int execv(const char *path, char *const argv[]) {
    return execve(path, argv, environ);
}

int execvpe(const char *file, char *const argv[], char *const envp[]) {
    before_exec(NULL); /* found along PATH later: never one of the shell's signalling tools */
    int (*real)(const char *, char *const[], char *const[]) =
        (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execvpe");
    if (real == NULL)
        refuse("execvpe", ENOSYS);
    return real(file, argv, envp);
}

int execvp(const char *file, char *const argv[]) {
    return execvpe(file, argv, environ);
}

/* The execl family, whose glibc versions call execve inside libc where no preload sees it. */
#define ARGV_FROM_VARARGS(first, args, argv, after)                                                   \
    va_list args;                                                                                     \
    size_t count = 1;                                                                                 \
    va_start(args, first);                                                                            \
    while (va_arg(args, char *) != NULL)                                                              \
        count++;                                                                                      \
    va_end(args);                                                                                     \
    char *argv[count + 1];                                                                            \
    va_start(args, first);                                                                            \
    argv[0] = (char *)(first);                                                                        \
    for (size_t i = 1; i <= count; i++)                                                               \
        argv[i] = va_arg(args, char *);                                                               \
    after;                                                                                            \
    va_end(args)

int execl(const char *path, const char *arg, ...) {
    ARGV_FROM_VARARGS(arg, args, argv, (void)0);
    return execve(path, argv, environ);
}

int execlp(const char *file, const char *arg, ...) {
    ARGV_FROM_VARARGS(arg, args, argv, (void)0);
    return execvpe(file, argv, environ);
}

int execle(const char *path, const char *arg, ...) {
    char *const *envp;
    ARGV_FROM_VARARGS(arg, args, argv, envp = va_arg(args, char *const *));
    return execve(path, argv, envp);
}

/* A child made by posix_spawn (and so system, popen) runs before any code here could put it in a
   domain: refused in a shell (bash and dash use fork or vfork, and execve); passed on elsewhere. */
#define NEXT(name, type) ((type)dlsym(RTLD_NEXT, name))
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                        char *const[], char *const[]);

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    spawn_fn real = active ? NULL : NEXT("posix_spawn", spawn_fn);
    return real != NULL ? real(pid, path, actions, attr, argv, envp) : ENOSYS;
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    spawn_fn real = active ? NULL : NEXT("posix_spawnp", spawn_fn);
    return real != NULL ? real(pid, file, actions, attr, argv, envp) : ENOSYS;
}

int system(const char *command) {
    int (*real)(const char *) = active ? NULL : NEXT("system", int (*)(const char *));
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real(command);
}

FILE *popen(const char *command, const char *mode) {
    FILE *(*real)(const char *, const char *) = active ? NULL : NEXT("popen", FILE *(*)(const char *, const char *));
    if (real == NULL) {
        errno = ENOSYS;
        return NULL;
    }
    return real(command, mode);
}
