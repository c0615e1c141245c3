// SPDX-License-Identifier: GPL-2.0
#include "profile/excerpt.h"

namespace fsock {

namespace {

std::string escaped(unsigned char c)
{
	switch (c) {
	case '\n':
		return "\\n";
	case '\t':
		return "\\t";
	case '\r':
		return "\\r";
	default:
		break;
	}
	static const char hex[] = "0123456789abcdef";
	return std::string("\\x") + hex[c >> 4] + hex[c & 15];
}

} // namespace

std::string excerpt(const std::string &text, std::size_t max_chars)
{
	std::string out;
	std::size_t chars = 0;
	std::size_t i = 0;
	for (; i < text.size() && chars < max_chars; chars++) {
		unsigned char c = static_cast<unsigned char>(text[i]);
		if (c < 0x20 || c == 0x7f) {
			out += escaped(c);
			i++;
			continue;
		}
		// One character: a byte and its UTF-8 continuation bytes.
		std::size_t end = i + 1;
		while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80 && end - i < 4)
			end++;
		out.append(text, i, end - i);
		i = end;
	}
	if (i < text.size())
		out += "... (" + std::to_string(text.size()) + " bytes)";
	return out;
}

std::string path_excerpt(const std::string &path, std::size_t max_chars)
{
	if (path.size() <= max_chars)
		return excerpt(path, max_chars);
	std::size_t start = path.size() - max_chars;
	while (start < path.size() && (static_cast<unsigned char>(path[start]) & 0xc0) == 0x80)
		start++;
	return "..." + excerpt(path.substr(start), max_chars);
}

} // namespace fsock
