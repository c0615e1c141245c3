// SPDX-License-Identifier: GPL-2.0
#include "commands/journal_priority.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "system/sysinfo.h"

namespace fsock {

bool journal_stream_matches(const char *env, int fd)
{
	if (!env)
		return false;
	std::string s(env, ::strnlen(env, 64));
	if (s.size() >= 64)
		return false;
	std::size_t colon = s.find(':');
	unsigned long long dev, ino;
	if (colon == std::string::npos || !parse_decimal(s.substr(0, colon), ~0ull, &dev) ||
	    !parse_decimal(s.substr(colon + 1), ~0ull, &ino))
		return false;
	struct stat st;
	if (::fstat(fd, &st) != 0)
		return false;
	return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

const char *journal_prefix(const std::string &line)
{
	if (line.compare(0, 6, "error:") == 0)
		return "<3>";
	if (line.compare(0, 8, "warning:") == 0)
		return "<4>";
	return "";
}

JournalPriorityFilter::JournalPriorityFilter(std::ostream &os) : os_(os), dest_(os.rdbuf())
{
	os_.rdbuf(this);
}

JournalPriorityFilter::~JournalPriorityFilter()
{
	if (!line_.empty())
		emit_line();
	dest_->pubsync();
	os_.rdbuf(dest_);
}

void JournalPriorityFilter::emit_line()
{
	const char *p = journal_prefix(line_);
	dest_->sputn(p, static_cast<std::streamsize>(std::strlen(p)));
	dest_->sputn(line_.data(), static_cast<std::streamsize>(line_.size()));
	line_.clear();
}

JournalPriorityFilter::int_type JournalPriorityFilter::overflow(int_type ch)
{
	if (traits_type::eq_int_type(ch, traits_type::eof()))
		return traits_type::not_eof(ch);
	line_ += traits_type::to_char_type(ch);
	if (ch == '\n') {
		emit_line();
		dest_->pubsync();
	}
	return ch;
}

int JournalPriorityFilter::sync()
{
	// A partial line waits for its end: its prefix depends on its start.
	return dest_->pubsync();
}

std::unique_ptr<JournalPriorityFilter> journal_priorities_for_stderr()
{
	if (!journal_stream_matches(std::getenv("JOURNAL_STREAM"), 2))
		return nullptr;
	return std::make_unique<JournalPriorityFilter>(std::cerr);
}

} // namespace fsock
