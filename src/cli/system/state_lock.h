// SPDX-License-Identifier: GPL-2.0
// The exclusive lock every state-changing command (apply, revert) holds from
// reading the saved state to writing it back, so two of them (the boot unit
// and an operator) can never interleave and lose each other's original
// values.  flock() on <root>/run/fastsocket/lock (0600): released by the
// kernel when the holder dies, so a kill -9 never leaves it stuck.
#pragma once

#include <string>

#include "system/root.h"

namespace fsock {

class StateLock {
public:
	static const char *const kPath;
	// wait_seconds: 0 = fail at once when busy, < 0 = wait forever.
	explicit StateLock(const Root &root) : root_(root) {}
	~StateLock();
	StateLock(const StateLock &) = delete;
	StateLock &operator=(const StateLock &) = delete;

	// True when held; else *why says who holds it or what failed.
	bool acquire(double wait_seconds, std::string *why);
	bool held() const { return fd_ >= 0; }

private:
	const Root &root_;
	int fd_ = -1;
};

// Removes temporary files (NAME.tmp.PID) a killed apply or revert left next
// to the files it writes atomically.  Call with the lock held.
void remove_stale_temp_files(const Root &root);

} // namespace fsock
