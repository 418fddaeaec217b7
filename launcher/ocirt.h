/* SPDX-License-Identifier: MIT */
/*
 * arca-runtime: the OCI runtime command line (runc's), so that podman
 * (--runtime), containerd (the runc v2 shim's BinaryName) and CRI-O start
 * arca microVMs. `arca` runs as it when invoked by that name (a symlink).
 *
 * A container is an arca sandbox named by the container's id, plus one
 * process of ours, the container process P, whose pid the engine gets:
 *   create   boots the sandbox (the VM with its root, shares and size) and
 *            forks P, which waits on ROOT/ID/exec.fifo; P is left to the
 *            engine (conmon and the shim are subreapers) and holds the
 *            runtime's stdio, which becomes the process's stdio;
 *   start    opens the fifo: P runs process.args in the sandbox as an
 *            exec session, exits with its exit code, then stops the VM;
 *   state    created while P waits, running while it runs, stopped once
 *            it is gone (checked against P's start time, not only its pid);
 *   kill     a signal for the process: forwarded into the guest through
 *            P; SIGKILL kills P and the VM at once;
 *   delete   stops the VM (if still there) and removes the state;
 *   exec     another exec session in the same VM (--process FILE);
 *   ps       P's pid; features: what this runtime supports.
 * State lives in ROOT/ID (ROOT: --root, default /run/arca-runtime for
 * root, $XDG_RUNTIME_DIR/arca-runtime otherwise), 0700.
 */
#ifndef ARCA_OCIRT_H
#define ARCA_OCIRT_H

int ocirt_main(int argc, char *argv[]);

#endif
