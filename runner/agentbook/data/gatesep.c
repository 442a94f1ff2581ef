/* Preloaded into a gate's shell, and only there (agentbook/session/gatesep.py builds and binds it).

   Every process of a gate's jail is the same user, so without this the code a gate runs (the agent's
   tests) could open the shell's /proc/PID/mem and rewrite its unread lines, or patch bubblewrap's init
   (pid 1, whose exit status is the gate's): the gate would pass with its last check failing.

   Landlock lets a process in a domain reach (ptrace, /proc/PID/mem, fd, environ) only processes in the
   same domain or one nested below it. Here every program the shell, or a subshell of it, executes first
   enters a new domain of its own: the shell, its subshells and pid 1 stay outside every domain, and two
   programs of the gate are in sibling domains, so none can reach the shell, pid 1 or each other. What
   the programs themselves start inherits their domain (it may reach them, which changes nothing).

   The domain handles only making block devices (impossible without CAP_MKNOD anyway) and renaming or
   linking across folders (Landlock denies that to every domain unless handled and granted; it is
   granted below the root): a ruleset must handle something, and these change nothing a build does.

   Fail closed: the shell's first line refuses to run the gate unless the constructor found Landlock
   (ABI 2 or later) and said so; a program that cannot enter its domain is not run and the whole gate is
   stopped (SIGKILL to the top shell, so a `! cmd` cannot turn the refusal into a pass). */
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

struct ruleset_attr {
    uint64_t handled_access_fs;
};

struct path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

static pid_t top_shell;

/* LD_PRELOAD's place in the environment becomes `marker`: bash reads the environment main() was given (this
   same array) and has setenv and unsetenv of its own that do not touch it yet, so the array is edited here
   in place. No program the shell runs inherits the preload. */
static void replace_preload(char *marker) {
    char **out = environ;
    for (char **in = environ; in != NULL && *in != NULL; in++) {
        if (strncmp(*in, "LD_PRELOAD=", 11) == 0) {
            if (marker != NULL)
                *out++ = marker;
            marker = NULL;
            continue;
        }
        *out++ = *in;
    }
    if (out != NULL)
        *out = NULL;
}

/* Writable: bash cuts each entry at its `=` in place while it reads them. */
static char separated[] = "AGENTBOOK_GATE_SEPARATION=landlock";
static char abi_1[] = "AGENTBOOK_GATE_SEPARATION=landlock ABI 1 (Linux 5.19 or later is needed)";
static char none[] = "AGENTBOOK_GATE_SEPARATION=no Landlock in this kernel (Linux 5.19 or later, with landlock "
                     "among its LSMs, is needed)";

__attribute__((constructor)) static void gatesep_init(void) {
    top_shell = getpid();
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, CREATE_RULESET_VERSION);
    replace_preload(abi >= 2 ? separated : abi == 1 ? abi_1 : none);
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
    kill(top_shell, SIGKILL);
    _exit(125);
}

/* Enter a new Landlock domain nested below this process's, or stop the gate. */
static void enter_domain(void) {
    struct ruleset_attr attr = {ACCESS_FS_MAKE_BLOCK | ACCESS_FS_REFER};
    int saved = errno;
    long ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
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
    enter_domain();
    return (int)syscall(SYS_execve, path, argv, envp);
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
    enter_domain();
    return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

int fexecve(int fd, char *const argv[], char *const envp[]) {
    enter_domain();
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}

int execv(const char *path, char *const argv[]) {
    return execve(path, argv, environ);
}

int execvpe(const char *file, char *const argv[], char *const envp[]) {
    enter_domain();
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
   domain: refused. bash uses fork and execve. */
int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    (void)pid, (void)path, (void)actions, (void)attr, (void)argv, (void)envp;
    return ENOSYS;
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    (void)pid, (void)file, (void)actions, (void)attr, (void)argv, (void)envp;
    return ENOSYS;
}

int system(const char *command) {
    (void)command;
    errno = ENOSYS;
    return -1;
}

FILE *popen(const char *command, const char *mode) {
    (void)command, (void)mode;
    errno = ENOSYS;
    return NULL;
}
