// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One report per listener per epoll_wait().  An accelerated listener is
 * watched through up to three registrations in the application's epoll set,
 * all with the application's own event data: its listener, the local
 * listener of the thread's CPU, and the eventfd that announces parked
 * connections (ops.c).  Plain Linux reports the listener once per call; so
 * do we: the wait wrappers fold the extra reports of that data into the
 * first one (events ORed).
 *
 * Only data values that belong to exactly one application fd are folded: a
 * group whose listener was registered with different data in different sets,
 * or whose data the application also gave another fd (registered later: seen
 * by the epoll_ctl wrapper; earlier: epoll_fast.c's table of registrations),
 * is left alone and may be reported twice, as before.
 * Nothing is allocated; a process without accelerated listeners pays one
 * load and a branch per wait.
 */
#include "fsock.h"

/* Groups whose data is folded (ep_state FS_EP_ONE); their highest index + 1. */
static int ep_ngroups, ep_hi;

static void ep_set_state(struct fs_group *g, int st)
{
	int old = __atomic_exchange_n(&g->ep_state, st, __ATOMIC_ACQ_REL);

	if (old == FS_EP_ONE && st != FS_EP_ONE)
		__atomic_fetch_sub(&ep_ngroups, 1, __ATOMIC_RELAXED);
	else if (old != FS_EP_ONE && st == FS_EP_ONE)
		__atomic_fetch_add(&ep_ngroups, 1, __ATOMIC_RELAXED);
}

/* Another fd, or another group, registered with data d: never fold d.
 * Returns how many groups had it. */
static int ep_data_taken(const struct fs_group *self, uint64_t d)
{
	int i, hi = __atomic_load_n(&ep_hi, __ATOMIC_ACQUIRE), n = 0;

	for (i = 0; i < hi; i++) {
		struct fs_group *g = &fs.groups[i];

		if (g != self && __atomic_load_n(&g->ep_state, __ATOMIC_ACQUIRE) == FS_EP_ONE &&
		    __atomic_load_n(&g->ep_data, __ATOMIC_RELAXED) == d) {
			ep_set_state(g, FS_EP_MIXED);
			n++;
		}
	}
	return n;
}

/* The application registered listener g in a set with ev (ADD or MOD, done). */
void fs_ep_listener_registered(struct fs_group *g, const struct epoll_event *ev)
{
	int st = __atomic_load_n(&g->ep_state, __ATOMIC_ACQUIRE);
	int idx = (int)(g - fs.groups) + 1, hi;

	if (st == FS_EP_MIXED)
		return;
	/*
	 * Already folded: only a change of data matters (nginx deletes and
	 * re-adds its listener every 16 accepts).  Any other fd or group that
	 * took this data since was checked at its own registration.
	 */
	if (st == FS_EP_ONE) {
		if (__atomic_load_n(&g->ep_data, __ATOMIC_RELAXED) != ev->data.u64)
			ep_set_state(g, FS_EP_MIXED);
		return;
	}
	/* The application's other fds: those registered later are seen by
	 * fs_ep_other_registered(), those before by asking epoll_fast.c. */
	if (ep_data_taken(g, ev->data.u64) || fs_epoll_data_in_use(ev->data.u64, g->fd) != 0) {
		ep_set_state(g, FS_EP_MIXED);
		return;
	}
	__atomic_store_n(&g->ep_data, ev->data.u64, __ATOMIC_RELAXED);
	hi = __atomic_load_n(&ep_hi, __ATOMIC_RELAXED);
	while (hi < idx && !__atomic_compare_exchange_n(&ep_hi, &hi, idx, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_RELAXED))
		;
	ep_set_state(g, FS_EP_ONE);
}

/* A group is set up or released: nothing known about its registrations. */
void fs_ep_group_reset(struct fs_group *g)
{
	ep_set_state(g, FS_EP_NONE);
}

/* The application registered a non-listener fd with ev (ADD or MOD). */
void fs_ep_other_registered(const struct epoll_event *ev)
{
	if (ev && __atomic_load_n(&ep_ngroups, __ATOMIC_RELAXED) > 0)
		ep_data_taken(NULL, ev->data.u64);
}

/* Fold repeated reports of one listener's data; returns the new count. */
static int ep_fold(struct epoll_event *ev, int n)
{
	int i, j, k, hi = __atomic_load_n(&ep_hi, __ATOMIC_ACQUIRE), out;
	int dropped = 0;

	for (i = 0; i < hi; i++) {
		struct fs_group *g = &fs.groups[i];
		uint64_t d;
		int first = -1;

		if (__atomic_load_n(&g->ep_state, __ATOMIC_ACQUIRE) != FS_EP_ONE)
			continue;
		d = __atomic_load_n(&g->ep_data, __ATOMIC_RELAXED);
		for (j = 0; j < n; j++) {
			if (ev[j].events == 0 || ev[j].data.u64 != d)
				continue;
			if (first < 0) {
				first = j;
				continue;
			}
			ev[first].events |= ev[j].events;
			ev[j].events = 0;	/* marked: removed below */
			dropped++;
		}
	}
	if (!dropped)
		return n;
	for (k = 0, out = 0; k < n; k++)
		if (ev[k].events)
			ev[out++] = ev[k];
	return out;
}

/*
 * After the kernel filled ev[0..n): fold.  An event with events == 0 is
 * never returned by the kernel, so it can mark a removed slot.
 */
int fs_ep_after_wait(struct epoll_event *ev, int n)
{
	if (__builtin_expect(n < 2, 1) || !ev ||
	    __builtin_expect(__atomic_load_n(&ep_ngroups, __ATOMIC_RELAXED) == 0, 1))
		return n;
	return ep_fold(ev, n);
}
