# arca — plain Makefile (kvmtool style): one object per line, explicit warnings.
#
#   make deps    install every Debian package needed to build, run and test (root)
#   make         build arca, arca-vmm, arca-init, fetch the guest kernel, build the base initrd
#   make test    unit tests + end-to-end scenarios (nested KVM test host without /dev/kvm)
#   make unit    unit tests only
#   make e2e     end-to-end scenarios only
#   make asan    sanitizer build of the host binaries and unit tests (build-asan/)
#   make soak    load and soak: 8 sandboxes in parallel, 100 in a row (not in make test)
#   make asan-e2e  the e2e suite with an ASan+UBSan arca-vmm (build-asan-vmm/)
#   make bench   boot-time benchmark: arca vs QEMU microvm in the same host
#
# WERROR=0 turns -Werror off.

.DEFAULT_GOAL := all

CC       ?= cc
MUSL_CC  ?= musl-gcc
PKG_CONFIG ?= pkg-config
B        ?= build
WERROR   ?= 1
VERSION  := 0.1.0

WARNINGS := -Wall -Wextra -Wshadow -Wformat=2 -Wformat-security \
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wundef \
	-Wvla -Wcast-qual -Wwrite-strings -Wno-unused-parameter \
	-Wimplicit-fallthrough
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

OPT      ?= -O2 -g
SAN      ?=
CPPFLAGS := -D_GNU_SOURCE -DARCA_VERSION='"$(VERSION)"' -Iinclude -Icommon
CFLAGS   := -std=gnu11 $(OPT) $(SAN) $(WARNINGS) -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -fno-strict-aliasing
LDFLAGS  := $(SAN)
LIBS     :=

# libseccomp is a build-time dependency only: policy/compile turns the allowlists into BPF
# that arca-vmm embeds. POLICY_DEFAULT=log builds filters that only log (debugging a too-tight
# policy; see policy/compile.c) — rm $(B)/policy/policies.c when switching.
SECCOMP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libseccomp 2>/dev/null)
SECCOMP_LIBS   := $(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null || echo -lseccomp)
POLICY_DEFAULT ?= trap
POLICIES := policy/vmm-main.policy policy/vmm-vcpu.policy policy/vmm-fs.policy \
	policy/vmm-blk.policy policy/vmm-net.policy policy/mux.policy

# ---- objects ---------------------------------------------------------------
COMMON_OBJS += common/err.o
COMMON_OBJS += common/io.o
COMMON_OBJS += common/iov.o
COMMON_OBJS += common/proto.o
COMMON_OBJS += common/quote.o
COMMON_OBJS += common/spec.o

LAUNCHER_OBJS += launcher/cli.o
LAUNCHER_OBJS += launcher/cpio.o
LAUNCHER_OBJS += launcher/kmod.o
LAUNCHER_OBJS += launcher/kernel.o
LAUNCHER_OBJS += launcher/initrd.o
LAUNCHER_OBJS += launcher/vmlinux.o
LAUNCHER_OBJS += launcher/kcache.o
LAUNCHER_OBJS += launcher/snapcache.o
LAUNCHER_OBJS += launcher/paths.o
LAUNCHER_OBJS += launcher/run.o
LAUNCHER_OBJS += launcher/sbstate.o
LAUNCHER_OBJS += launcher/config.o
LAUNCHER_OBJS += launcher/oci.o
LAUNCHER_OBJS += launcher/ocirt.o
LAUNCHER_OBJS += launcher/mux.o
LAUNCHER_OBJS += launcher/mux_loop.o
LAUNCHER_OBJS += launcher/exec.o
LAUNCHER_OBJS += launcher/sandbox.o
LAUNCHER_OBJS += launcher/shares.o
LAUNCHER_OBJS += launcher/disks.o
LAUNCHER_OBJS += launcher/guestroot.o
LAUNCHER_OBJS += launcher/privsep.o
LAUNCHER_OBJS += launcher/elfdeps.o
LAUNCHER_OBJS += launcher/jail.o
LAUNCHER_OBJS += launcher/cgroup.o
LAUNCHER_OBJS += launcher/hostinfo.o
LAUNCHER_OBJS += launcher/hostfs.o
LAUNCHER_OBJS += launcher/sharemnt.o
LAUNCHER_OBJS += launcher/asuser.o
LAUNCHER_OBJS += launcher/doctor.o
LAUNCHER_OBJS += launcher/kvmok.o
# The DNS relay of --net (dnsproxy.c) and its pure packet code (dns.c).
LAUNCHER_OBJS += launcher/dns.o
LAUNCHER_OBJS += launcher/dnsproxy.o
# libcap-ng: launcher/jail.c clears every capability set of the VMM. Only arca and the unit
# tests (which link liblauncher.a) need it, not arca-vmm.
CAPNG_LIBS := $(shell $(PKG_CONFIG) --libs libcap-ng 2>/dev/null || echo -lcap-ng)
arca: LIBS += $(CAPNG_LIBS)
$(B)/tests/%: LIBS += $(CAPNG_LIBS)
# jansson: --config (launcher/config.c); the OCI runtime's config.json will need it too.
JANSSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
JANSSON_LIBS := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
arca: LIBS += $(JANSSON_LIBS)
$(B)/tests/%: LIBS += $(JANSSON_LIBS)
$(B)/launcher/config.o: OBJ_CPPFLAGS += $(JANSSON_CFLAGS)
# libmnl: --net's rtnetlink (launcher/rtnl.c); the run's netns, veth and TAP (net.c).
LAUNCHER_OBJS += launcher/netcfg.o
LAUNCHER_OBJS += launcher/rtnl.o
LAUNCHER_OBJS += launcher/netns.o
LAUNCHER_OBJS += launcher/net.o
MNL_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmnl 2>/dev/null)
MNL_LIBS := $(shell $(PKG_CONFIG) --libs libmnl 2>/dev/null || echo -lmnl)
arca: LIBS += $(MNL_LIBS)
$(B)/tests/%: LIBS += $(MNL_LIBS)
$(B)/launcher/rtnl.o $(B)/pic/launcher/rtnl.o: OBJ_CPPFLAGS += $(MNL_CFLAGS)
# libnftnl: --net's nftables rules (launcher/nft.c; the batches' pure building, nft_build.c).
LAUNCHER_OBJS += launcher/nft_build.o
LAUNCHER_OBJS += launcher/nft.o
# One run's network as the supervisor holds it: plumbing, rules, relay, the spec's record.
LAUNCHER_OBJS += launcher/runnet.o
# --publish: the supervisor's proxy from host ports into the guest.
LAUNCHER_OBJS += launcher/publish.o
# Rootless --net nat: passt started, probed and stopped for one run.
LAUNCHER_OBJS += launcher/passt.o
LAUNCHER_OBJS += launcher/tc.o
LAUNCHER_OBJS += launcher/podnet.o
NFTNL_LIBS := $(shell $(PKG_CONFIG) --libs libnftnl 2>/dev/null || echo -lnftnl)
arca: LIBS += $(NFTNL_LIBS)
$(B)/tests/%: LIBS += $(NFTNL_LIBS)

VMM_OBJS += vmm/guestmem.o
VMM_OBJS += vmm/boot.o
VMM_OBJS += vmm/aml.o
VMM_OBJS += vmm/acpi.o
VMM_OBJS += vmm/cpuid.o
VMM_OBJS += vmm/vm.o
VMM_OBJS += vmm/kvm_caps.o
VMM_OBJS += vmm/kvm_selftest.o
VMM_OBJS += vmm/vcpu.o
VMM_OBJS += vmm/kvm_state.o
VMM_OBJS += vmm/snapshot.o
VMM_OBJS += vmm/warm.o
VMM_OBJS += vmm/pio.o
VMM_OBJS += vmm/serial.o
VMM_OBJS += vmm/virtq.o
VMM_OBJS += vmm/blk_req.o
VMM_OBJS += vmm/blk_overlay.o
VMM_OBJS += vmm/virtio.o
VMM_OBJS += vmm/virtio_mmio.o
VMM_OBJS += vmm/virtio_console.o
VMM_OBJS += vmm/virtio_req.o
VMM_OBJS += vmm/virtio_fs.o
VMM_OBJS += vmm/virtio_blk.o
VMM_OBJS += vmm/virtio_net.o
VMM_OBJS += vmm/fuse_decode.o
VMM_OBJS += vmm/fuse_dir.o
VMM_OBJS += vmm/fuse_inode.o
VMM_OBJS += vmm/fuse_node.o
VMM_OBJS += vmm/fuse_ops_attr.o
VMM_OBJS += vmm/fuse_ops_ns.o
VMM_OBJS += vmm/fuse_ops_file.o
VMM_OBJS += vmm/fuse_ops_dir.o
VMM_OBJS += vmm/fuse_io.o
VMM_OBJS += vmm/fuse_server.o
VMM_OBJS += vmm/fs.o
VMM_OBJS += vmm/blk.o
VMM_OBJS += vmm/net.o
VMM_OBJS += vmm/uring.o
VMM_OBJS += vmm/fs_uring.o
VMM_OBJS += vmm/evloop.o
VMM_OBJS += vmm/ctl.o
VMM_OBJS += vmm/timeline.o
VMM_OBJS += vmm/opts.o
VMM_OBJS += vmm/seccomp_thread.o
VMM_OBJS += vmm/landlock.o

# ---- libarca (include/arca.h): lib/ on top of the launcher's objects, minus the CLI's
# own (its parser and config file), plus the VMM pieces the launcher's KVM check uses and the
# mux's seccomp filter. Built a second time as PIC ($(B)/pic/) for libarca.so and libarca.a.
LIB_OBJS += lib/vm.o
LIB_OBJS += lib/proc.o
LIB_OBJS += lib/console.o
CLI_OBJS := launcher/main.o launcher/cli.o launcher/config.o launcher/oci.o launcher/ocirt.o
ARCALIB_OBJS := $(LIB_OBJS) $(filter-out $(CLI_OBJS),$(LAUNCHER_OBJS)) \
	vmm/boot.o vmm/ctl.o vmm/guestmem.o vmm/kvm_caps.o vmm/kvm_selftest.o vmm/snapshot.o $(COMMON_OBJS)
LIBARCA_SOVERSION := 0
LIBARCA_LIBS := $(CAPNG_LIBS) -lpthread
LIBARCA_LIBS += $(MNL_LIBS)
LIBARCA_LIBS += $(NFTNL_LIBS)
$(B)/lib/%.o $(B)/pic/lib/%.o: OBJ_CPPFLAGS += -Ilauncher -Ivmm
$(B)/lib/vm.o $(B)/pic/lib/vm.o: OBJ_CPPFLAGS += -DARCA_BINDIR='"$(PREFIX)/bin"'
# PREFIX is compiled into lib/vm.c and arca.pc: rebuild them when it changes.
$(B)/lib/vm.o $(B)/pic/lib/vm.o: $(B)/prefix.stamp
$(B)/prefix.stamp: FORCE
	@mkdir -p $(B); echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' >$@
.PHONY: FORCE
$(B)/pic/launcher/doctor.o $(B)/pic/launcher/run.o $(B)/pic/launcher/exec.o \
	$(B)/pic/launcher/sandbox.o $(B)/pic/launcher/mux_loop.o: OBJ_CPPFLAGS += -Ivmm

INIT_SRCS := initrd/init.c initrd/sysinit.c initrd/relay.c initrd/initroot.c initrd/command.c initrd/agent.c initrd/sessions.c initrd/net.c initrd/net6.c common/proto.c common/spec.c common/err.c common/io.c

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

BIN := arca arca-vmm arca-init

PREFIX ?= /usr/local

.PHONY: all libarca examples deps test unit e2e e2e-fault soak fuse-test asan fuzz bench bench-fs bench-blk bench-net bench-oci clean distclean kernel initrd

all: $(BIN) arca-runtime kernel initrd libarca examples

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(OBJ_CPPFLAGS) -MMD -MP -c -o $@ $<

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (PIC)"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC $(OBJ_CPPFLAGS) -MMD -MP -c -o $@ $<
$(B)/pic/policy/policies.o: $(B)/policy/policies.c vmm/seccomp_policies.h
	@mkdir -p $(dir $@)
	@$(CC) $(CPPFLAGS) -Ivmm $(CFLAGS) -fPIC -c -o $@ $<

LIBARCA_PIC := $(addprefix $(B)/pic/,$(ARCALIB_OBJS)) $(B)/pic/policy/policies.o
$(B)/libarca.a: $(LIBARCA_PIC)
	@rm -f $@; ar rcs $@ $^
# Only the API of include/arca.h is exported (lib/libarca.map); the launcher's insides stay
# local, so they cannot clash with a program's own symbols.
$(B)/libarca.so.$(LIBARCA_SOVERSION): $(LIBARCA_PIC) lib/libarca.map
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -shared -Wl,-soname,libarca.so.$(LIBARCA_SOVERSION) \
		-Wl,--version-script=lib/libarca.map -Wl,--no-undefined -o $@ $(LIBARCA_PIC) \
		$(LIBARCA_LIBS)
$(B)/libarca.so: $(B)/libarca.so.$(LIBARCA_SOVERSION)
	@ln -sf libarca.so.$(LIBARCA_SOVERSION) $@
$(B)/arca.pc: lib/arca.pc.in Makefile $(B)/prefix.stamp
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@LIBS_PRIVATE@|$(LIBARCA_LIBS)|' $< >$@
libarca: $(B)/libarca.a $(B)/libarca.so $(B)/arca.pc

# examples/ as a user builds them: against libarca installed (install-lib) into a staging
# directory, through its arca.pc (pkg-config --static, libarca.a linked in, so the test host
# needs no libarca.so). The e2e scenario `libarca` runs them in the test host; `make -C
# examples` builds them against a real install.
EXAMPLES := oneshot sandbox
LIB_STAGE := $(CURDIR)/$(B)/stage
STAGE_PC = PKG_CONFIG_PATH=$(LIB_STAGE)$(PREFIX)/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(LIB_STAGE) \
	$(PKG_CONFIG)
$(B)/stage.stamp: $(B)/libarca.a $(B)/libarca.so $(B)/arca.pc include/arca.h
	@rm -rf $(LIB_STAGE)
	@$(MAKE) --no-print-directory install-lib DESTDIR=$(LIB_STAGE) >/dev/null
	@touch $@
$(B)/examples/%: examples/%.c $(B)/stage.stamp
	@mkdir -p $(dir $@)
	@echo "  CC      $@ (pkg-config arca)"
	@$(CC) $(CFLAGS) $$($(STAGE_PC) --cflags arca) $(LDFLAGS) -o $@ $< \
		-Wl,-Bstatic -larca -Wl,-Bdynamic $$($(STAGE_PC) --static --libs arca | sed 's/-larca//') \
		-lpthread
examples: $(addprefix $(B)/examples/,$(EXAMPLES))

$(B)/libcommon.a: $(addprefix $(B)/,$(COMMON_OBJS))
	@rm -f $@; ar rcs $@ $^
# lib/ for the unit tests (non-PIC, beside liblauncher.a).
$(B)/liblib.a: $(addprefix $(B)/,$(LIB_OBJS))
	@rm -f $@; ar rcs $@ $^
$(B)/liblauncher.a: $(addprefix $(B)/,$(LAUNCHER_OBJS))
	@rm -f $@; ar rcs $@ $^
$(B)/libvmm.a: $(addprefix $(B)/,$(VMM_OBJS)) $(B)/policy/policies.o
	@rm -f $@; ar rcs $@ $^

# The doctor and arca run's KVM check use vmm/'s KVM headers.
$(B)/launcher/doctor.o $(B)/launcher/run.o $(B)/launcher/exec.o $(B)/launcher/sandbox.o $(B)/launcher/mux_loop.o: OBJ_CPPFLAGS += -Ivmm

# arca takes from libvmm.a only what `arca run` and `arca doctor` use to ask KVM
# whether it can run a guest (vmm/kvm_caps.c, vmm/kvm_selftest.c and the boot
# helpers they use).
arca: $(B)/launcher/main.o $(B)/liblauncher.a $(B)/libvmm.a $(B)/libcommon.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# arca-vmm is static: its jail is an empty directory, with no loader or
# library to bind-mount in (launcher/jail.c).
VMM_LDFLAGS := -static

# liburing (liburing-dev ships liburing.a): the shares' io_uring engine (vmm/fs_uring.c).
URING_LIBS := $(shell $(PKG_CONFIG) --static --libs liburing 2>/dev/null || echo -luring)
arca-vmm $(B)/tests/% $(B)/bench/%: LIBS += $(URING_LIBS)

arca-vmm: $(B)/vmm/main.o $(B)/libvmm.a $(B)/libcommon.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(VMM_LDFLAGS) -pthread -o $@ $^ $(LIBS) -lpthread

# ---- seccomp policies: compiled at build time, embedded in arca-vmm
$(B)/policy/compile: policy/compile.c policy/parse.c policy/parse.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(CC) $(CPPFLAGS) $(SECCOMP_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ policy/compile.c \
		policy/parse.c $(SECCOMP_LIBS)

$(B)/policy/policies.c: $(B)/policy/compile $(POLICIES)
	@$(B)/policy/compile --default-action=$(POLICY_DEFAULT) -o $@ \
		main=policy/vmm-main.policy vcpu=policy/vmm-vcpu.policy fs=policy/vmm-fs.policy \
		blk=policy/vmm-blk.policy net=policy/vmm-net.policy mux=policy/mux.policy

$(B)/policy/policies.o: $(B)/policy/policies.c vmm/seccomp_policies.h
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) -Ivmm $(CFLAGS) -c -o $@ $<

# Test build of arca-vmm: same objects, but seccomp_thread.c with ARCA_TEST_HOOKS
# (--test-forbidden-syscall=main|vcpu). Never installed; the e2e runner packs it.
$(B)/test/vmm/seccomp_thread.o: vmm/seccomp_thread.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (test hooks)"
	@$(CC) $(CPPFLAGS) -DARCA_TEST_HOOKS $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/test/arca-vmm: $(B)/test/vmm/seccomp_thread.o $(B)/vmm/main.o $(B)/libvmm.a $(B)/libcommon.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(VMM_LDFLAGS) -pthread -o $@ $^ $(LIBS) -lpthread

# The same with the hook on by default for one thread class (main, vcpu): the launcher passes
# the VMM no extra argument, so the e2e scenario points ARCA_LIBEXEC at a copy of these.
.PRECIOUS: $(B)/test/trap-%/seccomp_thread.o
$(B)/test/trap-%/seccomp_thread.o: vmm/seccomp_thread.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (test hooks, $*)"
	@$(CC) $(CPPFLAGS) -DARCA_TEST_HOOKS -DARCA_TEST_FORBIDDEN_DEFAULT='"$*"' $(CFLAGS) \
		-MMD -MP -c -o $@ $<
$(B)/test/trap-%/arca-vmm: $(B)/test/trap-%/seccomp_thread.o $(B)/vmm/main.o $(B)/libvmm.a \
		$(B)/libcommon.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(VMM_LDFLAGS) -pthread -o $@ $^ $(LIBS) -lpthread

TEST_VMMS := $(B)/test/arca-vmm $(B)/test/trap-main/arca-vmm $(B)/test/trap-vcpu/arca-vmm
$(TEST_VMMS): LIBS += $(URING_LIBS)

# musl's headers have no kernel uapi headers, and arca-init's IPv6 (initrd/net6.c) needs
# <linux/rtnetlink.h>. This directory links linux/, asm/ and asm-generic/ from wherever the
# host compiler finds them (linux-libc-dev), and nothing else: glibc's own headers must never
# mix with musl's. The uapi headers are libc-neutral (Alpine builds musl against them).
MUSL_UAPI := $(B)/musl-uapi
$(MUSL_UAPI)/.stamp:
	@mkdir -p $(MUSL_UAPI)
	@set -e; for h in linux/types.h asm/types.h asm-generic/types.h; do \
		d=$${h%%/*}; \
		p=$$(printf '#include <%s>\n' $$h | $(CC) -M -E -x c - 2>/dev/null | \
			tr -s ' \\' '\n\n' | grep -m1 "/$$h$$" || true); \
		if [ -z "$$p" ]; then echo "arca-init: <$$h> not found (linux-libc-dev)" >&2; \
			exit 1; fi; \
		ln -sfn "$${p%/$$h}/$$d" $(MUSL_UAPI)/$$d; \
	done
	@touch $@

# arca-init is the guest's PID 1: static, musl; the kernel's uapi headers from $(MUSL_UAPI).
arca-init: $(INIT_SRCS) $(wildcard initrd/*.h) include/arca/abi.h common/proto.h common/spec.h \
		common/cleanup.h common/err.h $(MUSL_UAPI)/.stamp
	@echo "  MUSLCC  $@"
	@$(MUSL_CC) -static -std=gnu11 -Os -s $(WARNINGS) -D_GNU_SOURCE -Iinclude -Icommon \
		-isystem $(MUSL_UAPI) -o $@ $(INIT_SRCS)

# The FUSE server of arca-vmm's shares, served over /dev/fuse on the host:
# tests the same code without a VM (tests/fuse/).
arca-fuse-host: $(B)/vmm/fuse_host.o $(B)/libvmm.a $(B)/libcommon.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ -lpthread

# probe: static multi-call test binary run inside the guest on shares
# (tests/probe/README.md); also runs on the host against the FUSE harness.
# The OCI runtime is arca by another name (launcher/ocirt.h).
arca-runtime: arca
	@ln -sf arca $@

# The e2e's container engine: a subreaper that reaps the runtime's container processes
# (tests/e2e/scenarios-oci.sh).
tests/oci/engine: tests/oci/engine.c
	@echo "  CC      $@"
	@$(CC) -std=gnu11 -O2 $(WARNINGS) -o $@ $<

tests/probe/probe: $(wildcard tests/probe/*.c) $(wildcard tests/probe/*.h) common/cleanup.h \
		common/io.c common/io.h
	@echo "  MUSLCC  $@"
	@$(MUSL_CC) -static -std=gnu11 -Os -s $(WARNINGS) -D_GNU_SOURCE -Iinclude -Icommon \
		-pthread -o $@ $(filter %.c,$^)

# io_uring engine vs. the synchronous path (tests/bench/fs_uring_bench.c); prints MB/s.
$(B)/bench/fs_uring_bench: tests/bench/fs_uring_bench.c $(B)/libvmm.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ivmm $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libvmm.a $(B)/libcommon.a \
		$(LIBS) -lpthread

# ---- guest kernel: Debian's linux-image-cloud-amd64, unpacked, never installed
kernel: $(B)/kernel/vmlinuz
$(B)/kernel/vmlinuz:
	scripts/fetch-kernel $(B)/kernel

# ---- base initrd cache (arca-init + modules + busybox), per kernel version
initrd: arca arca-vmm arca-init $(B)/kernel/vmlinuz
	./arca prepare

# ---- tests ------------------------------------------------------------------
TEST_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

# The parser test includes policy/parse.c, which asks libseccomp for syscall numbers.
$(B)/tests/test_policy: LIBS += $(SECCOMP_LIBS)
$(B)/tests/test_policy: policy/parse.c policy/parse.h

$(B)/tests/%: tests/unit/%.c $(B)/liblib.a $(B)/liblauncher.a $(B)/libvmm.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CPPFLAGS) -Ilauncher -Ivmm -Ilib $(CFLAGS) -Wno-missing-prototypes -MMD -MP \
		$(LDFLAGS) -o $@ $< $(B)/liblib.a $(B)/liblauncher.a $(B)/libvmm.a $(B)/libcommon.a \
		$(TEST_LIBS) $(LIBS) -lpthread

unit: $(addprefix $(B)/tests/,$(UNIT_TESTS)) arca
	tests/unit/run $(addprefix $(B)/tests/,$(UNIT_TESTS))

e2e: all $(TEST_VMMS) tests/probe/probe tests/oci/engine
	tests/e2e/run
	E2E_SCENARIOS=tests/e2e/scenarios-oci.sh tests/e2e/run

# Fault injection (tests/e2e/scenarios-fault.sh: 12 boots, ~3-4 min): its own test host boot,
# run by CI after make test, which it would push past ~15 minutes on 2 cores.
e2e-fault: all $(TEST_VMMS) tests/probe/probe
	E2E_SCENARIOS=tests/e2e/scenarios-fault.sh tests/e2e/run

# Load and soak (tests/soak/soak.sh): 8 sandboxes at once, then SOAK_RUNS (100) in a row;
# prints the per-run time distribution. Not part of make test (tens of minutes nested).
soak: all
	E2E_SCENARIOS=tests/soak/soak.sh E2E_TIMEOUT=$${E2E_TIMEOUT:-3600} tests/e2e/run

# The shares' FUSE server over /dev/fuse on this machine (no VM): needs root.
fuse-test: arca-fuse-host tests/probe/probe
	tests/fuse/run-host-tests.sh ./arca-fuse-host
	tests/fuse/run-probe-host.sh ./arca-fuse-host tests/probe/probe

# fuzz-smoke first: every fuzz target's seeds and a fixed-seed sweep under ASan/UBSan (no
# clang needed, ~15 s), so a fixed finding stays fixed.
test: all $(TEST_VMMS) $(addprefix $(B)/tests/,$(UNIT_TESTS)) arca-fuse-host tests/probe/probe tests/oci/engine
	$(MAKE) --no-print-directory fuzz-smoke
	tests/run-all $(addprefix $(B)/tests/,$(UNIT_TESTS))

bench: all
	tests/bench/boot

# Shares: arca's virtio-fs vs QEMU's 9p vs the host's own fs (tests/bench/fs).
bench-fs: all tests/probe/probe
	tests/bench/fs

# Disks: arca's virtio-blk vs QEMU's virtio-blk (aio=io_uring) vs the host (tests/bench/blk).
bench-blk: all
	tests/bench/blk

# Network: arca's --net nat (virtio-net) vs QEMU's virtio-net on a TAP vs the host (tests/bench/net).
bench-net: all
	tests/bench/net

# OCI: podman run with arca-runtime vs crun, and arca run alone (tests/bench/oci).
bench-oci: all
	tests/bench/oci

# libFuzzer targets (clang) where guest bytes enter arca-vmm, tests/fuzz/fuzz_NAME.c (each
# header says what it feeds and checks); seeds in tests/fuzz/corpus/NAME/ (written by
# tests/fuzz/gen_corpus.py), where crash-* files reproduce findings not fixed yet.
#   make fuzz                                 each target FUZZ_SECONDS (60) in turn, on a copy
#                                             of its corpus in $(B)/fuzz/work/NAME/ (new inputs
#                                             and crash reproducers land there, not in the repo)
#   make fuzz FUZZ_TARGETS=virtq FUZZ_SECONDS=600
#   make fuzz-smoke                           no clang: each target built by $(CC) -DFUZZ_MAIN
#                                             (ASan/UBSan: FUZZ_SMOKE_SAN) run over its seeds and
#                                             its fixed-seed random sweep, in seconds
FUZZ_SECONDS ?= 60
# One input running longer than this is a finding (a hang: a FIFO opened, a loop).
FUZZ_TIMEOUT ?= 25
FUZZ_TARGETS ?= blk_req virtq ctl mmio fuse_decode fuse_dispatch mux dns
FUZZ_CC      ?= clang
FUZZ_SMOKE_SAN ?= -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS_blk_req     := vmm/blk_req.c vmm/virtq.c vmm/guestmem.c common/iov.c
FUZZ_SRCS_virtq       := vmm/virtq.c vmm/guestmem.c common/iov.c
FUZZ_SRCS_ctl         := common/proto.c
# The session mux runs in the launcher (its own unprivileged process), not the VMM.
FUZZ_SRCS_mux         := launcher/mux.c common/proto.c
# --net's DNS relay runs in the launcher's supervisor (root): guest queries, upstream answers.
FUZZ_SRCS_dns         := launcher/dns.c
FUZZ_SRCS_mmio        := vmm/virtio.c vmm/virtq.c vmm/guestmem.c vmm/evloop.c common/iov.c
FUZZ_SRCS_fuse_decode := vmm/fuse_decode.c common/iov.c
# The FUSE server is being split into several vmm/fuse_*.c: every one of them but the
# /dev/fuse main (vmm/fuse_host.c).
FUZZ_SRCS_fuse_dispatch := $(filter-out vmm/fuse_host.c,$(wildcard vmm/fuse_*.c)) common/iov.c
# Sources a target #includes (to reach static functions): prerequisites, not compiled apart.
FUZZ_INCL_ctl  := vmm/ctl.c
FUZZ_INCL_mmio := vmm/virtio_mmio.c
FUZZ_HDRS := $(wildcard include/arca/*.h common/*.h vmm/*.h) launcher/mux.h launcher/dns.h tests/fuzz/fuzz_main.h tests/fuzz/fuzz_input.h
FUZZ_FLAGS := -g -O1 -D_GNU_SOURCE -Iinclude -Icommon -Ivmm

# $(1): target name. The libFuzzer build, the smoke build, and the smoke build with every
# check on (for crash-* reproducers).
define fuzz_target
$(B)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) $$(FUZZ_INCL_$(1)) $$(FUZZ_HDRS)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined $$(FUZZ_KNOWN_$(1)) \
		-o $$@ tests/fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) -lpthread
$(B)/fuzz-smoke/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) $$(FUZZ_INCL_$(1)) $$(FUZZ_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) -std=gnu11 $$(FUZZ_FLAGS) $$(WARNINGS) $$(FUZZ_SMOKE_SAN) -DFUZZ_MAIN \
		$$(FUZZ_KNOWN_$(1)) -o $$@ tests/fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) -lpthread
$(B)/fuzz-smoke/fuzz_$(1)_strict: tests/fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) $$(FUZZ_INCL_$(1)) $$(FUZZ_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) -std=gnu11 $$(FUZZ_FLAGS) $$(WARNINGS) $$(FUZZ_SMOKE_SAN) -DFUZZ_MAIN \
		-o $$@ tests/fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) -lpthread
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

.PHONY: fuzz-smoke
fuzz: $(addprefix $(B)/fuzz/fuzz_,$(FUZZ_TARGETS))
	@fail=; for t in $(FUZZ_TARGETS); do \
		w=$(B)/fuzz/work/$$t; rm -rf $$w; mkdir -p $$w/corpus; \
		for f in tests/fuzz/corpus/$$t/*; do \
			case $${f##*/} in crash-*) ;; *) [ -f "$$f" ] && cp "$$f" $$w/corpus/ ;; esac; \
		done; \
		echo "== fuzz_$$t: $(FUZZ_SECONDS) s over $$w/corpus"; \
		$(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
			-print_final_stats=1 -artifact_prefix=$$w/ $$w/corpus || fail="$$fail $$t"; \
	done; \
	if [ -n "$$fail" ]; then \
		echo "fuzz: findings in:$$fail (reproducers in $(B)/fuzz/work/NAME/)"; exit 1; fi

# The build that runs crash-* reproducers: the smoke build itself unless checks are skipped.
fuzz_strict = $(if $(FUZZ_KNOWN_$(1)),$(B)/fuzz-smoke/fuzz_$(1)_strict,$(B)/fuzz-smoke/fuzz_$(1))
fuzz-smoke: $(foreach t,$(FUZZ_TARGETS),$(B)/fuzz-smoke/fuzz_$(t) $(call fuzz_strict,$(t)))
	@set -e; for ts in $(foreach t,$(FUZZ_TARGETS),$(t):$(call fuzz_strict,$(t))); do \
		t=$${ts%%:*}; strict=$${ts#*:}; seeds=; crashes=; \
		for f in tests/fuzz/corpus/$$t/*; do \
			[ -f "$$f" ] || continue; \
			case $${f##*/} in crash-*) crashes="$$crashes $$f" ;; *) seeds="$$seeds $$f" ;; esac; \
		done; \
		if [ -n "$$seeds" ]; then \
			$(B)/fuzz-smoke/fuzz_$$t $$seeds; \
			echo "fuzz_$$t: $$(echo $$seeds | wc -w) seeds, all invariants held"; \
		fi; \
		$(B)/fuzz-smoke/fuzz_$$t; \
		for f in $$crashes; do \
			if $$strict $$f >/dev/null 2>&1; then \
				echo "fuzz_$$t: $$f no longer reproduces: rename it seed-*, drop FUZZ_KNOWN_$$t"; \
			else echo "fuzz_$$t: $$f: known finding, still reproduces"; fi; \
		done; \
	done

asan:
	$(MAKE) B=build-asan OPT='-O1 -g' SAN='-fsanitize=address,undefined -fno-omit-frame-pointer' \
		WERROR=$(WERROR) $(addprefix build-asan/tests/,$(UNIT_TESTS))
	tests/unit/run $(addprefix build-asan/tests/,$(UNIT_TESTS))

# ---- sanitizer arca-vmm: the whole e2e suite once with ASan and UBSan in the VMM ----------
# arca-vmm built with -fsanitize=address,undefined in $(SAN_B)/ and packed into the test host as
# its arca-vmm (E2E_VMM, tests/e2e/nested/lib.sh); arca and the test VMMs stay as they are.
#  - ASan needs a dynamic executable: the launcher bind-mounts its loader and libraries into the
#    jail (vmm_binds in launcher/run.c). The sanitizer runtimes are linked statically, as
#    -static-libasan does but without libasan_preinit.o, so tests/san/vmm_san.c (options, and
#    a quiet start in a jail without /proc) runs first.
#  - POLICY_DEFAULT=log: the runtimes make calls the policies do not list (their allocator's
#    madvise and mmap flags, a report's writes, getpid, readlink of /proc/self/exe, abort's
#    signals); with a trapping filter a report would end in SIGSYS before it is printed. Each
#    such call is let through with an audit record (SECCOMP_RET_LOG) instead, and
#    ARCA_SAN_E2E drops the VMM's warning about LOG filters (scenarios compare stderr byte
#    for byte). policy/*.policy is not changed: the normal e2e run checks the policies.
# Expected failure (tests/san/e2e-check lets it through, and fails on any other, or on a
# sanitizer report): privsep, which checks that the static VMM's jail is empty: here it holds
# the loader and the libraries.
SAN_B     := build-asan-vmm
SAN_E2E_EXPECTED ?= privsep
# The harness's limit on one arca call (120 s) is too tight for the slower VMM: alone, in the
# test host, fs_conformance's readdir_many took 68 s and readdir_unlink 51 s with it.
SAN_E2E_ARCA_LIMIT ?= 360
# Not run under the sanitizer VMM: fs_conformance (its large_file check moves 64 MiB through
# the ASan'd FUSE server and did not finish in 6 min; the server runs under ASan in
# fuzz_fuse_dispatch with real system calls instead).
SAN_E2E_EXCLUDE ?= fs_conformance
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
$(SAN_B)/vmm/seccomp_thread.o: OBJ_CPPFLAGS += -DARCA_SAN_E2E=1
$(B)/san/vmm_san.o: tests/san/vmm_san.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (no sanitizer)"
	@$(CC) $(CPPFLAGS) -std=gnu11 -O2 $(WARNINGS) -c -o $@ $<
$(B)/san/arca-vmm: $(B)/san/vmm_san.o $(B)/vmm/main.o $(B)/libvmm.a $(B)/libcommon.a
	@echo "  LD      $@ (ASan, UBSan)"
	@$(CC) -pthread -o $@ $^ -Wl,-Bstatic $(URING_LIBS) -Wl,--whole-archive -lasan \
		-Wl,--no-whole-archive -lubsan -Wl,-Bdynamic -lstdc++ -lpthread -ldl -lm -lrt

.PHONY: asan-e2e
asan-e2e: all $(TEST_VMMS) tests/probe/probe tests/oci/engine
	$(MAKE) B=$(SAN_B) OPT='-O1 -g' SAN='$(SAN_FLAGS)' POLICY_DEFAULT=log WERROR=$(WERROR) \
		$(SAN_B)/san/arca-vmm
	E2E_VMM=$(CURDIR)/$(SAN_B)/san/arca-vmm NESTED_ENV="E2E_ARCA_LIMIT=$(SAN_E2E_ARCA_LIMIT) E2E_EXCLUDE=$(SAN_E2E_EXCLUDE)" \
		tests/e2e/run 2>&1 | tee $(SAN_B)/e2e.log
	tests/san/e2e-check $(SAN_B)/e2e.log $(SAN_E2E_EXPECTED)

# ---- install -------------------------------------------------------------------
# arca, arca-vmm and arca-init side by side (arca finds its helpers in its own directory), the
# guest kernel and its modules where launcher/kernel.c looks for them (EXE_DIR/../share/arca/
# kernel, the same layout as build/kernel), and the man page. The initrd cache then lives in
# $XDG_CACHE_HOME/arca (or ~/.cache/arca). DESTDIR for staging, as usual.
.PHONY: install install-lib install-check
# libarca: include/arca.h, libarca.so (soname libarca.so.0) and libarca.a in lib/, its
# pkg-config file (arca.pc, PREFIX baked in: build with the PREFIX you install to) and arca(3).
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/arca/kernel \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3 \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 arca arca-vmm arca-init $(DESTDIR)$(PREFIX)/bin/
	ln -sf arca $(DESTDIR)$(PREFIX)/bin/arca-runtime
	cp -R $(B)/kernel/VERSION $(B)/kernel/vmlinuz $(B)/kernel/boot $(B)/kernel/lib \
		$(DESTDIR)$(PREFIX)/share/arca/kernel/
	install -m 0644 doc/arca.1 $(DESTDIR)$(PREFIX)/share/man/man1/arca.1
	install -m 0644 doc/arca-runtime.1 $(DESTDIR)$(PREFIX)/share/man/man1/arca-runtime.1
	$(MAKE) --no-print-directory install-lib
install-lib: libarca
	install -d $(DESTDIR)$(PREFIX)/share/man/man3 $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0644 doc/arca.3 $(DESTDIR)$(PREFIX)/share/man/man3/arca.3
	install -m 0644 include/arca.h $(DESTDIR)$(PREFIX)/include/arca.h
	install -m 0644 $(B)/libarca.a $(DESTDIR)$(PREFIX)/lib/libarca.a
	install -m 0755 $(B)/libarca.so.$(LIBARCA_SOVERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libarca.so.$(LIBARCA_SOVERSION) $(DESTDIR)$(PREFIX)/lib/libarca.so
	install -m 0644 $(B)/arca.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/arca.pc

# An installed tree works on its own: staged into a scratch DESTDIR, it finds its helpers
# and kernel and builds its initrd cache away from the source tree; the man page renders.
install-check: all
	tests/install-check.sh

# ---- packages ----------------------------------------------------------------
DEB_BUILD := gcc make pkg-config libc6-dev musl-tools libseccomp-dev libcap-ng-dev \
	libmnl-dev libnftnl-dev liburing-dev libjansson-dev
DEB_RUN   := busybox-static
DEB_TEST  := libcmocka-dev cpio libarchive-tools acpica-tools qemu-system-x86 \
	qemu-system-data kmod python3 util-linux bsdutils e2fsprogs iproute2 nftables passt \
	podman conmon containerd
# make fuzz: clang's libFuzzer and sanitizer runtimes are in libclang-rt-dev, which clang
# only recommends (Debian 12: clang-14, libclang-rt-14-dev).
DEB_FUZZ  := clang libclang-rt-dev
deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		$(DEB_BUILD) $(DEB_RUN) $(DEB_TEST) $(DEB_FUZZ) ca-certificates

clean:
	rm -rf $(B) build-asan $(SAN_B) $(BIN) arca-runtime tests/oci/engine
distclean: clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)
