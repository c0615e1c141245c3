// SPDX-License-Identifier: GPL-2.0
/*
 * CPU-indexed selection inside the SO_REUSEPORT group of a listen group.
 *
 * A classic BPF program attached to the group (reuseport_attach_prog) maps
 * the CPU that processes a SYN to the index, in the group's socks[] array,
 * of that CPU's local listener, and every other CPU to the index of the
 * global listener:
 *
 *	ld #cpu
 *	jeq #<cpu>, 0, 1 ; ret #<index of its local listener>	(per local)
 *	ret #<index of the global listener>
 *
 * The kernel reorders socks[] when a member leaves, so the indices are read
 * from sk->sk_reuseport_cb under RCU, and the program is rebuilt and
 * re-attached whenever the membership changes (spawn, close, reap).  Unlike
 * SO_INCOMING_CPU alone, this selects exactly on every kernel from 5.10.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/filter.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/sock_reuseport.h>

#include "compat.h"
#include "fsocket.h"
#include "listen.h"
#include "log.h"

#define FSOCKET_NO_INDEX	U32_MAX

/*
 * Fills idx[cpu] with the socks[] index of each CPU's local listener and
 * returns the index of the global listener (FSOCKET_NO_INDEX if it left).
 * Returns -ENOENT in *err if the group has no reuseport state.
 */
static u32 fsocket_read_indices(struct fsocket_group *g, struct sock *member,
				u32 *idx, int *err)
{
	struct sock_reuseport *reuse;
	u32 gidx = FSOCKET_NO_INDEX;
	unsigned int i, cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		idx[cpu] = FSOCKET_NO_INDEX;
	*err = 0;

	rcu_read_lock();
	reuse = rcu_dereference(member->sk_reuseport_cb);
	if (!reuse) {
		rcu_read_unlock();
		*err = -ENOENT;
		return gidx;
	}
	for (i = 0; i < READ_ONCE(reuse->num_socks); i++) {
		struct sock *sk = READ_ONCE(reuse->socks[i]);

		if (sk == g->gsk) {
			gidx = i;
			continue;
		}
		for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct fsocket_local *l;

			l = rcu_dereference_protected(g->local[cpu],
						      lockdep_is_held(&fsocket_listen_lock));
			if (l && l->sock->sk == sk) {
				idx[cpu] = i;
				break;
			}
		}
	}
	rcu_read_unlock();
	return gidx;
}

static struct bpf_prog *fsocket_build_prog(const u32 *idx, u32 gidx)
{
	struct sock_fprog_kern fprog;
	struct sock_filter *insns;
	struct bpf_prog *prog;
	unsigned int cpu, n = 0, len = 2;
	int err;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (idx[cpu] != FSOCKET_NO_INDEX)
			len += 2;
	}
	if (len > BPF_MAXINSNS)
		return ERR_PTR(-E2BIG);
	insns = kcalloc(len, sizeof(*insns), GFP_KERNEL);
	if (!insns)
		return ERR_PTR(-ENOMEM);

	insns[n++] = (struct sock_filter)
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_CPU);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (idx[cpu] == FSOCKET_NO_INDEX)
			continue;
		insns[n++] = (struct sock_filter)
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cpu, 0, 1);
		insns[n++] = (struct sock_filter)
			BPF_STMT(BPF_RET | BPF_K, idx[cpu]);
	}
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, gidx);

	fprog.len = n;
	fprog.filter = insns;
	err = bpf_prog_create(&prog, &fprog);
	kfree(insns);
	return err ? ERR_PTR(err) : prog;
}

/* A socket of the group that is still in the reuseport group. */
static struct sock *fsocket_group_member(struct fsocket_group *g)
{
	unsigned int cpu;

	if (rcu_access_pointer(g->gsk->sk_reuseport_cb))
		return g->gsk;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct fsocket_local *l;

		l = rcu_dereference_protected(g->local[cpu],
					      lockdep_is_held(&fsocket_listen_lock));
		if (l && rcu_access_pointer(l->sock->sk->sk_reuseport_cb))
			return l->sock->sk;
	}
	return NULL;
}

int fsocket_reuseport_update(struct fsocket_group *g)
{
	struct sock *member = fsocket_group_member(g);
	u32 *idx, *check;
	int err = 0, tries;
	u32 gidx;

	if (!member)
		return -ENOENT;
	idx = kcalloc(2 * nr_cpu_ids, sizeof(*idx), GFP_KERNEL);
	if (!idx)
		return -ENOMEM;
	check = idx + nr_cpu_ids;

	/*
	 * Membership can also change under us (a member of the group that is
	 * not ours closes): re-read after attaching, and retry if it moved.
	 */
	for (tries = 0; tries < 4; tries++) {
		struct bpf_prog *prog;
		u32 gidx2;

		gidx = fsocket_read_indices(g, member, idx, &err);
		if (err)
			break;
		prog = fsocket_build_prog(idx, gidx);
		if (IS_ERR(prog)) {
			err = PTR_ERR(prog);
			break;
		}
		err = reuseport_attach_prog(member, prog);
		if (err) {
			bpf_prog_destroy(prog);
			break;
		}
		gidx2 = fsocket_read_indices(g, member, check, &err);
		if (err)
			break;
		if (gidx2 == gidx &&
		    !memcmp(idx, check, nr_cpu_ids * sizeof(*idx)))
			break;
		err = -EAGAIN;
	}
	kfree(idx);
	if (err)
		fs_err("cannot attach the CPU selection program: %d\n", err);
	return err;
}

void fsocket_reuseport_detach(struct fsocket_group *g)
{
	struct sock *member = fsocket_group_member(g);

	if (member)
		reuseport_detach_prog(member);
}
