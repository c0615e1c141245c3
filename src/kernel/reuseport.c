// SPDX-License-Identifier: GPL-2.0
/*
 * CPU-indexed selection inside the SO_REUSEPORT group of a listen group.
 *
 * A classic BPF program attached to the group (reuseport_attach_prog) maps
 * the CPU that processes a SYN to the index, in the group's socks[] array,
 * of that CPU's joined listener, and every other CPU to the index of the
 * registered listener:
 *
 *	ld #cpu
 *	jeq #<cpu>, 0, 1 ; ret #<index of its local listener>	(per slot)
 *	ret #<index of the registered listener>
 *
 * The kernel reorders socks[] when a member leaves, so the indices are read
 * from sk->sk_reuseport_cb under RCU, and the program is rebuilt whenever
 * the membership changes (JOIN, LEAVE, and any listener of the port that
 * stops listening, seen by watch.c).  An index that is stale for a moment
 * is at worst out of range, and the kernel then hashes as without a
 * program: no connection is refused.
 *
 * The module never replaces a program it did not attach: LISTEN refuses a
 * group that has one (-EBUSY), and a group whose program the application
 * replaced after LISTEN stops being steered (g->foreign) until it is
 * registered again.  (The kernel offers no compare-and-swap for the
 * program: an application attaching its own in the few instructions
 * between our check and our attach would lose it; the window is documented
 * in docs/module.md.)
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

/* The program attached to @sk's SO_REUSEPORT group (compare only), or NULL. */
static const void *fsocket_current_prog(const struct sock *sk)
{
	const struct sock_reuseport *reuse;
	const void *prog = NULL;

	rcu_read_lock();
	reuse = rcu_dereference(sk->sk_reuseport_cb);
	if (reuse)
		prog = rcu_access_pointer(reuse->prog);
	rcu_read_unlock();
	return prog;
}

bool fsocket_reuseport_has_foreign_prog(struct sock *sk)
{
	return fsocket_current_prog(sk);
}

/*
 * Fills idx[cpu] with the socks[] index of each CPU's joined listener and
 * returns the index of the registered listener (FSOCKET_NO_INDEX if it
 * left).  Sets *err to -ENOENT if the group has no reuseport state.
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
		struct fsocket_member *m;

		if (sk == fsocket_gsk(g)) {
			gidx = i;
			continue;
		}
		m = fsocket_member_find(sk);
		/* A stalled worker's CPU goes to the registered listener. */
		if (m && m->g == g && m->cpu >= 0 &&
		    !container_of(m, struct fsocket_slot, m)->stalled)
			idx[m->cpu] = i;
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
	insns = kcalloc(len, sizeof(*insns), GFP_KERNEL_ACCOUNT);
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

/*
 * reuseport_attach_prog() and reuseport_detach_prog() check sk_reuseport_cb,
 * then read it again under reuseport_lock and use it unchecked: a close of
 * @sk in between (inet_unhash) oopses there (the ioctl fuzzer hit it on 5.10
 * while the off switch removed groups).  Their callers in the kernel
 * (sock_setsockopt) hold the socket lock, which a close takes too: so do we.
 * -ENOENT: @sk left the reuseport group first.
 */
static int fsocket_attach_prog(struct sock *sk, struct bpf_prog *prog)
{
	int err = -ENOENT;

	lock_sock(sk);
	if (rcu_access_pointer(sk->sk_reuseport_cb))
		err = reuseport_attach_prog(sk, prog);
	release_sock(sk);
	return err;
}

static int fsocket_detach_prog(struct sock *sk, const struct bpf_prog *ours)
{
	int err = -ENOENT;

	lock_sock(sk);
	if (rcu_access_pointer(sk->sk_reuseport_cb)) {
		err = 0;
		if (ours && fsocket_current_prog(sk) == ours)
			err = reuseport_detach_prog(sk);
	}
	release_sock(sk);
	return err;
}

/* A socket of the group that is still in the reuseport group. */
static struct sock *fsocket_group_member(struct fsocket_group *g)
{
	unsigned int cpu;

	if (rcu_access_pointer(fsocket_gsk(g)->sk_reuseport_cb))
		return fsocket_gsk(g);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct fsocket_slot *l = fsocket_slot(g, cpu);

		if (l && rcu_access_pointer(l->m.sk->sk_reuseport_cb))
			return l->m.sk;
	}
	return NULL;
}

/* Is the group's program still ours (or none)?  Marks it foreign if not. */
static bool fsocket_prog_ours(struct fsocket_group *g, struct sock *member)
{
	const void *cur = fsocket_current_prog(member);

	if (!cur || cur == g->prog)
		return true;
	if (!g->foreign)
		fs_notice("the application replaced the reuseport program of a group: fastsocket no longer steers it\n");
	g->foreign = true;
	g->prog = NULL;
	return false;
}

int fsocket_steer(struct fsocket_group *g)
{
	struct sock *member;
	u32 *idx, *check;
	int err = 0, tries;
	u32 gidx;

	if (g->dead)
		return -EINVAL;
	if (g->foreign)
		return -EBUSY;
	member = fsocket_group_member(g);
	if (!member)
		return -ENOENT;
	idx = kcalloc(2 * nr_cpu_ids, sizeof(*idx), GFP_KERNEL_ACCOUNT);
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
		if (!fsocket_prog_ours(g, member)) {
			err = -EBUSY;
			break;
		}
		prog = fsocket_build_prog(idx, gidx);
		if (IS_ERR(prog)) {
			err = PTR_ERR(prog);
			break;
		}
		err = fsocket_attach_prog(member, prog);
		if (err == -ENOENT) {
			/* That member closed meanwhile: another one, if any. */
			bpf_prog_destroy(prog);
			member = fsocket_group_member(g);
			if (!member)
				break;
			continue;
		}
		if (err) {
			bpf_prog_destroy(prog);
			break;
		}
		g->prog = prog;
		gidx2 = fsocket_read_indices(g, member, check, &err);
		if (err)
			break;
		if (gidx2 == gidx &&
		    !memcmp(idx, check, nr_cpu_ids * sizeof(*idx)))
			break;
		err = -EAGAIN;
	}
	kfree(idx);
	if (err && err != -EBUSY)
		fs_err("cannot attach the CPU selection program: %d\n", err);
	return err;
}

/* Plain SO_REUSEPORT hashing again (only if the program is ours). */
void fsocket_steer_off(struct fsocket_group *g)
{
	struct sock *member;
	int tries;

	/* A member that closes meanwhile: detach through another one. */
	for (tries = 0; tries < 4; tries++) {
		member = fsocket_group_member(g);
		if (!member || fsocket_detach_prog(member, g->prog) != -ENOENT)
			break;
	}
	g->prog = NULL;
}
