// SPDX-License-Identifier: GPL-2.0
// Under systemd (stderr connected to the journal, $JOURNAL_STREAM names it)
// every stderr line starting "error:" gets the sd-daemon prefix "<3>" and
// every "warning:" line "<4>", so `journalctl -p warning -u fastsocket`
// finds them.  One filter on std::cerr for the whole CLI: the commands keep
// writing "warning: ..." as they do.
#pragma once

#include <memory>
#include <ostream>
#include <streambuf>
#include <string>

namespace fsock {

// $JOURNAL_STREAM is "DEVICE:INODE" (decimal) of the journal's stream; true
// when fd is that stream.  Anything else (unset, malformed, too long, a
// different file) is false: the prefixes must never reach a terminal or a
// pipe.
bool journal_stream_matches(const char *env, int fd);

// "<3>" for "error: ...", "<4>" for "warning: ...", "" for other lines.
const char *journal_prefix(const std::string &line);

// Installs the prefixing filter on `os` for its lifetime; restores the
// original buffer (flushing a last line without '\n') when destroyed.
class JournalPriorityFilter : public std::streambuf {
public:
	explicit JournalPriorityFilter(std::ostream &os);
	~JournalPriorityFilter() override;
	JournalPriorityFilter(const JournalPriorityFilter &) = delete;
	JournalPriorityFilter &operator=(const JournalPriorityFilter &) = delete;

protected:
	int_type overflow(int_type ch) override;
	int sync() override;

private:
	void emit_line();

	std::ostream &os_;
	std::streambuf *dest_;
	std::string line_;
};

// main(): the filter on std::cerr when stderr is the journal, else nothing.
std::unique_ptr<JournalPriorityFilter> journal_priorities_for_stderr();

} // namespace fsock
