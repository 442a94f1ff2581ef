/* Preloaded into an agent CLI whose output decides a step (Claude Code), and only there
   (agentbook/runbooks/agent_cli.py; built by agentbook/session/clib.py).

   Every process of the agent's jail is the same user, so a command the agent runs could open
   /proc/<agent>/fd/1 and write events of its own into the stream the runner reads. A process that is not
   dumpable has its /proc/<pid>/fd, mem and environ closed to processes without CAP_SYS_PTRACE (the jail
   has none): this makes the agent so before any of its code runs, and takes LD_PRELOAD out of its
   environment so the commands it runs stay ordinary (gcc among them: the loader stays readable).
   The launcher (relay_forward.py --sealed) checks that it held before telling the runner it started.

   Not dumpable keeps the agent's commands out of the agent, not out of bubblewrap's init (pid 1, whose
   exit status is the jail's and so the one the runner reads): so the agent also enters a Landlock domain of
   its own here, which every command it runs inherits. Landlock lets a process reach (ptrace,
   /proc/PID/mem, fd, environ) only processes of its domain or one nested below it, and, where the kernel
   has ABI 6, signal only those: pid 1 and the launcher are outside. The domain handles only making block
   devices and renaming or linking across folders, the latter granted below the root (a ruleset must handle
   something; neither changes what a build does). Without Landlock (before Linux 5.19 or not among the
   LSMs) the agent runs as before (docs/SECURITY.md, "Claude Code's exit status"). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landlock.h"

static void refuse(const char *what) {
    char line[200];
    int n = snprintf(line, sizeof line, "agentseal: %s failed: the agent is not started\n", what);
    ssize_t ignored = write(2, line, n > 0 && (size_t)n < sizeof line ? (size_t)n : 0);
    (void)ignored;
    _exit(86);
}

/* The agent and all it starts in a Landlock domain that pid 1 and the launcher are outside of. */
static void enter_domain(void) {
    long abi = landlock_abi();
    if (abi < LANDLOCK_ABI_REFER)
        return; /* no Landlock that grants `refer` (ABI 2): documented, not refused */
    const char *failed = NULL;
    if (landlock_enter(abi >= LANDLOCK_ABI_SCOPED, &failed) != 0)
        refuse(failed);
}

/* LD_PRELOAD out of the environment main() is given (this same array, edited in place: a program may read it
   rather than through libc, or bring a setenv of its own). */
static void remove_preload(void) {
    char **out = environ;
    for (char **in = environ; in != NULL && *in != NULL; in++)
        if (strncmp(*in, "LD_PRELOAD=", 11) != 0)
            *out++ = *in;
    if (out != NULL)
        *out = NULL;
}

__attribute__((constructor)) static void agentseal_init(void) {
    remove_preload();
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        refuse("prctl(PR_SET_DUMPABLE, 0)");
    enter_domain();
}
