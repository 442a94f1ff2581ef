/* Landlock as agentbook's preloaded libraries use it: gatesep.c (each program a gate's shell runs) and
   agentseal.c (Claude Code). Each is compiled alone by agentbook/session/clib.py, which finds this file
   beside them (a quoted include is looked for in the including file's folder first; the compiler runs with
   no CPATH or -I of anyone else's).

   A domain here handles only making block devices (impossible without CAP_MKNOD anyway) and renaming or
   linking across folders (Landlock denies that to every domain unless handled and granted; it is granted
   below the root): a ruleset must handle something, and these change nothing a build does. Where the
   caller asks (ABI 6, Linux 6.12), it is also scoped for signals: a process may signal only processes of
   its own domain and those nested below it. Landlock lets a process in a domain reach (ptrace,
   /proc/PID/mem, fd, environ) only processes of the same domain or one nested below it. */
#ifndef AGENTBOOK_LANDLOCK_H
#define AGENTBOOK_LANDLOCK_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444 /* the same number on every architecture */
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define LANDLOCK_CREATE_VERSION (1U << 0)
#define LANDLOCK_RULE_BENEATH 1
#define LANDLOCK_FS_MAKE_BLOCK (1ULL << 11)
#define LANDLOCK_FS_REFER (1ULL << 13)
#define LANDLOCK_SCOPE_SIGNAL_BIT (1ULL << 1)
#define LANDLOCK_ABI_REFER 2  /* the first ABI that can grant `refer` */
#define LANDLOCK_ABI_SCOPED 6 /* the first ABI that scopes signals */

struct landlock_ruleset {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};

struct landlock_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

/* The kernel's Landlock ABI version, or -1 without Landlock. */
static inline long landlock_abi(void) {
    return syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_VERSION);
}

/* Put this process in a new domain nested below its own (scoped for signals when `scoped`, which needs ABI 6).
   0, or -1 with errno set and *failed naming the call that failed. errno is kept on success. */
static inline int landlock_enter(int scoped, const char **failed) {
    int saved = errno;
    struct landlock_ruleset attr = {LANDLOCK_FS_MAKE_BLOCK | LANDLOCK_FS_REFER, 0,
                                    scoped ? LANDLOCK_SCOPE_SIGNAL_BIT : 0};
    long ruleset = syscall(SYS_landlock_create_ruleset, &attr,
                           scoped ? sizeof attr : sizeof attr.handled_access_fs, 0);
    if (ruleset < 0) {
        *failed = "landlock_create_ruleset";
        return -1;
    }
    struct landlock_beneath below_root = {LANDLOCK_FS_REFER, open("/", O_PATH | O_CLOEXEC)};
    if (below_root.parent_fd < 0) {
        *failed = "open /";
        return -1;
    }
    if (syscall(SYS_landlock_add_rule, (int)ruleset, LANDLOCK_RULE_BENEATH, &below_root, 0) != 0) {
        *failed = "landlock_add_rule";
        return -1;
    }
    close(below_root.parent_fd);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        *failed = "no_new_privs";
        return -1;
    }
    if (syscall(SYS_landlock_restrict_self, (int)ruleset, 0) != 0) {
        *failed = "landlock_restrict_self";
        return -1;
    }
    close((int)ruleset);
    errno = saved;
    return 0;
}

#endif
