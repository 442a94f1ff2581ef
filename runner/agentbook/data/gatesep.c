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

   Fail closed: the gate's first line checks that a program it runs cannot read the shell's
   /proc/PID/environ; a program that cannot enter its domain is not run, and every process of the gate
   is killed (kill(-1)), so a `! cmd` cannot turn the refusal into a pass. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444 /* the same number on every architecture */
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define CREATE_RULESET_VERSION (1U << 0)
#define RULE_PATH_BENEATH 1
#define ACCESS_FS_MAKE_BLOCK (1ULL << 11)
#define ACCESS_FS_REFER (1ULL << 13)
#define SCOPE_SIGNAL (1ULL << 1)
#define ABI_SCOPED 6

struct ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};

struct path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

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

__attribute__((constructor)) static void gatesep_init(void) {
    active = is_shell();
    if (active)
        abi = syscall(SYS_landlock_create_ruleset, NULL, 0, CREATE_RULESET_VERSION);
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

static void refuse(const char *what, int err) {
    char line[256];
    int n = snprintf(line, sizeof line,
                     "\n[agentbook: gate stopped: a command could not be separated from the gate's shell "
                     "(%s: %s)]\n", what, strerror(err));
    if (n > 0) {
        ssize_t ignored = write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)ignored;
    }
    kill(-1, SIGKILL); /* every process of the gate but this one and pid 1: the gate's shell among them */
    kill(getpid(), SIGKILL); /* and this one, which may be the gate's shell: the gate ends 137 either way */
    _exit(125);
}

/* Enter a new Landlock domain nested below this process's (scoped for signals where the kernel can, unless
   the program executed is one of the shell's signalling tools), or stop the gate. */
static void enter_domain(const char *path) {
    int scoped = abi >= ABI_SCOPED;
    struct ruleset_attr attr = {ACCESS_FS_MAKE_BLOCK | ACCESS_FS_REFER, 0,
                                scoped && !signals_for_its_shell(path) ? SCOPE_SIGNAL : 0};
    int saved = errno;
    long ruleset = syscall(SYS_landlock_create_ruleset, &attr,
                           scoped ? sizeof attr : sizeof attr.handled_access_fs, 0);
    if (ruleset < 0)
        refuse("landlock_create_ruleset", errno);
    struct path_beneath_attr below_root = {ACCESS_FS_REFER, open("/", O_PATH | O_CLOEXEC)};
    if (below_root.parent_fd < 0)
        refuse("open /", errno);
    if (syscall(SYS_landlock_add_rule, (int)ruleset, RULE_PATH_BENEATH, &below_root, 0) != 0)
        refuse("landlock_add_rule", errno);
    close(below_root.parent_fd);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        refuse("no_new_privs", errno);
    if (syscall(SYS_landlock_restrict_self, (int)ruleset, 0) != 0)
        refuse("landlock_restrict_self", errno);
    close((int)ruleset);
    errno = saved;
}

/* Every way a program is executed goes through one of these. A failed exec leaves the process in its new
   domain (bash then runs a file without `#!` itself): the next exec nests one deeper, never shallower. */
int execve(const char *path, char *const argv[], char *const envp[]) {
    if (active)
        enter_domain(path);
    return (int)syscall(SYS_execve, path, argv, envp);
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
    if (active)
        enter_domain(path[0] == '/' ? path : NULL);
    return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

int fexecve(int fd, char *const argv[], char *const envp[]) {
    if (active)
        enter_domain(NULL);
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}

int execv(const char *path, char *const argv[]) {
    return execve(path, argv, environ);
}

int execvpe(const char *file, char *const argv[], char *const envp[]) {
    if (active)
        enter_domain(NULL); /* found along PATH later: never one of the shell's signalling tools */
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
