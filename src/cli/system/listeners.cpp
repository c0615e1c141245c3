// SPDX-License-Identifier: GPL-2.0
#include "system/listeners.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <set>
#include <unistd.h>

namespace fsock {

const char *const kListenersPath = "/proc/fastsocket/listeners";

const std::string *ListenerGroup::get(const std::string &key) const
{
	for (const auto &f : fields)
		if (f.first == key)
			return &f.second;
	return nullptr;
}

bool per_cpu_key(const std::string &key, unsigned *cpu)
{
	// "cpu01" is not "cpu1" (no two keys for one CPU), "cpu" + 7 digits at most.
	if (key.size() < 4 || key.size() > 10 || key.compare(0, 3, "cpu") != 0 ||
	    key.find_first_not_of("0123456789", 3) != std::string::npos || (key[3] == '0' && key.size() > 4))
		return false;
	*cpu = static_cast<unsigned>(std::stoul(key.substr(3)));
	return true;
}

std::vector<std::pair<unsigned, std::string>> ListenerGroup::per_cpu() const
{
	std::vector<std::pair<unsigned, std::string>> out;
	unsigned cpu;
	for (const auto &f : fields)
		if (per_cpu_key(f.first, &cpu))
			out.emplace_back(cpu, f.second);
	std::sort(out.begin(), out.end());
	return out;
}

bool is_counter_value(const std::string &v)
{
	if (v.empty() || v.size() > 20 || v.find_first_not_of("0123456789") != std::string::npos)
		return false;
	// 20 digits may exceed 2^64 - 1 = 18446744073709551615.
	return v.size() < 20 || v <= "18446744073709551615";
}

namespace {

bool valid_key(const std::string &k)
{
	if (k.empty() || k.size() > 32 || !(k[0] >= 'a' && k[0] <= 'z'))
		return false;
	for (char c : k)
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	return true;
}

// Printable ASCII, no space, no quote, no backslash: safe everywhere.
bool valid_value(const std::string &v)
{
	for (char c : v)
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return false;
	return true;
}

// At most 80 characters of hostile text, non-printables as '?'.
std::string quote(const std::string &s)
{
	std::string o;
	for (std::size_t i = 0; i < s.size() && o.size() < 77; i++)
		o += (s[i] >= 0x20 && s[i] <= 0x7e) ? s[i] : '?';
	if (s.size() > 77)
		o += "...";
	return "'" + o + "'";
}

// Splits one line into a group; returns the reason it is malformed, or "".
std::string parse_line(const std::string &line, ListenerGroup *g, unsigned *truncated)
{
	if (line.size() > kListenersMaxLine)
		return "longer than " + std::to_string(kListenersMaxLine) + " bytes";
	std::set<std::string> seen;
	std::size_t i = 0;
	while (i < line.size()) {
		if (line[i] == ' ' || line[i] == '\t') {
			i++;
			continue;
		}
		std::size_t end = line.find_first_of(" \t", i);
		if (end == std::string::npos)
			end = line.size();
		std::string tok = line.substr(i, end - i);
		i = end;
		std::size_t eq = tok.find('=');
		if (eq == std::string::npos)
			return "not key=value: " + quote(tok);
		std::string key = tok.substr(0, eq), value = tok.substr(eq + 1);
		if (!valid_key(key))
			return "bad key " + quote(key);
		if (!valid_value(value))
			return "bad characters in the value of " + key;
		if (!seen.insert(key).second)
			return "duplicate key " + key;
		if (value.size() > kListenersMaxValue) {
			value.resize(kListenersMaxValue);
			(*truncated)++;
		}
		g->fields.emplace_back(key, value);
	}
	if (!g->get("addr"))
		return "no addr=";
	return "";
}

} // namespace

ListenerTable parse_listeners(const std::string &text, bool truncated)
{
	ListenerTable t;
	t.present = true;
	std::vector<std::string> notes;
	unsigned skipped = 0, long_values = 0, lineno = 0;
	std::string first_bad;
	bool header = false, too_many = false;
	std::set<std::pair<std::string, std::string>> ids;
	std::size_t pos = 0;
	while (pos < text.size()) {
		std::size_t nl = text.find('\n', pos);
		std::size_t end = nl == std::string::npos ? text.size() : nl;
		std::string line = text.substr(pos, end - pos);
		pos = end + 1;
		if (++lineno > kListenersMaxLines) {
			too_many = true;
			break;
		}
		std::string body = trim(line);
		if (body.empty())
			continue;
		if (body[0] == '#') {
			if (lineno == 1 && body.rfind("# fastsocket listeners v", 0) == 0)
				header = true;
			continue;
		}
		ListenerGroup g;
		std::string why = parse_line(body, &g, &long_values);
		if (why.empty()) {
			const std::string *ns = g.get("netns");
			if (!ids.insert({ns ? *ns : "", *g.get("addr")}).second)
				why = "second group for the same netns and addr";
		}
		if (!why.empty()) {
			if (skipped++ == 0)
				first_bad = "line " + std::to_string(lineno) + ": " + why;
			continue;
		}
		t.groups.push_back(std::move(g));
	}
	if (!header && !text.empty())
		notes.push_back("no '# fastsocket listeners v1' header");
	if (skipped)
		notes.push_back("skipped " + std::to_string(skipped) + " malformed line(s), first " + first_bad);
	if (long_values)
		notes.push_back(std::to_string(long_values) + " value(s) cut to " + std::to_string(kListenersMaxValue) +
				" bytes");
	if (too_many)
		notes.push_back("read the first " + std::to_string(kListenersMaxLines) + " lines only");
	if (truncated)
		notes.push_back("read the first " + std::to_string(kListenersMaxBytes) + " bytes only");
	for (const auto &n : notes)
		t.warning += (t.warning.empty() ? "" : "; ") + n;
	return t;
}

ListenerTable read_listeners(const Root &root)
{
	ListenerTable t;
	int fd = ::open(root.path(kListenersPath).c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT && errno != ENOTDIR) {
			t.present = true;
			t.read_error = std::strerror(errno);
		}
		return t;
	}
	// One byte more than the limit tells a file that is too big.
	std::string text(kListenersMaxBytes + 1, '\0');
	std::size_t got = 0;
	while (got < text.size()) {
		ssize_t n = ::read(fd, &text[got], text.size() - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			::close(fd);
			t.present = true;
			t.read_error = std::strerror(e);
			return t;
		}
		if (n == 0)
			break;
		got += static_cast<std::size_t>(n);
	}
	::close(fd);
	bool truncated = got > kListenersMaxBytes;
	text.resize(truncated ? kListenersMaxBytes : got);
	if (truncated) // drop the partial last line
		text.resize(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
	return parse_listeners(text, truncated);
}

} // namespace fsock
