/* Preloaded into an agent CLI whose output decides a step (Claude Code), and only there
   (agentbook/runbooks/agent_cli.py; built by agentbook/session/clib.py).

   Every process of the agent's jail is the same user, so a command the agent runs could open
   /proc/<agent>/fd/1 and write events of its own into the stream the runner reads. A process that is not
   dumpable has its /proc/<pid>/fd, mem and environ closed to processes without CAP_SYS_PTRACE (the jail
   has none): this makes the agent so before any of its code runs, and takes LD_PRELOAD out of its
   environment so the commands it runs stay ordinary (gcc among them: the loader stays readable).
   The launcher (relay_forward.py --sealed) checks that it held before telling the runner it started. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

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
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        static const char said[] = "agentseal: prctl(PR_SET_DUMPABLE, 0) failed: the agent is not started\n";
        ssize_t ignored = write(2, said, sizeof said - 1);
        (void)ignored;
        _exit(86);
    }
}
