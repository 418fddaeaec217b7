/* SPDX-License-Identifier: MIT */
/*
 * `--net ns=PATH`: the guest takes over the one interface of a network
 * namespace someone else made and configured (a pod's, made by CNI for
 * Kubernetes, podman or containerd; arca-runtime passes the OCI config's
 * linux.namespaces network path). In that netns:
 *
 *   pod's eth0 (its MAC, address, default route) ──tc── arca-tap (TAP)
 *        ── the VMM's virtio-net ── the guest's eth0 (same MAC, address, route)
 *
 * An ingress qdisc on both links, each with a u32 filter that matches every frame, that
 * redirects every frame to the other's egress (tc.h), so the wire the
 * CNI plugin built ends in the guest: its peers see the MAC and address
 * they were told of; the netns's own stack sees nothing. The guest is
 * configured from what the interface has (the NET record): its MAC, MTU,
 * first IPv4 address and the default route's gateway. Root only
 * (CAP_NET_ADMIN in that netns; run.c refuses it rootless).
 *
 * Nothing of the host's own network is touched: no slot, no veth, no
 * nftables; what the pod may reach is its CNI plugin's business. The TAP
 * goes with its last fd; the ingress qdisc on the pod's interface is
 * deleted at teardown (after a SIGKILL it stays, dropping the pod's
 * traffic to a link that is gone, until the engine deletes the netns).
 */
#ifndef ARCA_PODNET_H
#define ARCA_PODNET_H

#include <net/if.h>
#include <stdint.h>

#include "err.h"
#include "spec.h"

#define PODNET_TAP_IF "arca-tap"

struct podnet {
	int nsfd;                  /* the pod's netns; -1: none */
	int eth;                   /* its interface (ifindex), the wired one */
	char eth_name[IF_NAMESIZE];
};

void podnet_init(struct podnet *p);
/* Wire it up as above: *tapfd for the VMM, the guest's NET record in spec
 * (dns: the resolver to give it, host order; 0: none). -errno with e set
 * ("--net ns=PATH: ..."); on failure what was made is undone. */
int podnet_setup(const char *path, uint32_t dns, struct podnet *p, int *tapfd,
		 struct arca_spec_net *spec, struct arca_err *e);
/* Delete the ingress qdisc on the pod's interface (its filter with it),
 * close the netns. Safe on an init'ed struct, twice. */
void podnet_teardown(struct podnet *p);

#endif
