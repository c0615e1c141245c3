// SPDX-License-Identifier: GPL-2.0
#include "system/byte_string.h"

namespace fsock {

// Length of the valid UTF-8 sequence starting at s[i], 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
static std::size_t utf8_seq(const std::string &s, std::size_t i)
{
	auto u = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
	unsigned char c = u(i);
	if (c < 0x80)
		return 1;
	std::size_t n;
	unsigned cp;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (i + n > s.size())
		return 0;
	for (std::size_t k = 1; k < n; k++) {
		if ((u(i + k) & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (u(i + k) & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

bool is_valid_utf8(const std::string &s)
{
	for (std::size_t i = 0; i < s.size();) {
		std::size_t n = utf8_seq(s, i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

std::string utf8_for_display(const std::string &s)
{
	std::string out;
	for (std::size_t i = 0; i < s.size();) {
		std::size_t n = utf8_seq(s, i);
		if (n) {
			out.append(s, i, n);
			i += n;
		} else {
			out += "\xef\xbf\xbd";
			i++;
		}
	}
	return out;
}

static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const std::string &bytes)
{
	std::string out;
	std::size_t i = 0;
	auto b = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
	for (; i + 2 < bytes.size(); i += 3) {
		unsigned v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
		for (int s = 18; s >= 0; s -= 6)
			out += kAlphabet[(v >> s) & 63];
	}
	std::size_t rest = bytes.size() - i;
	if (rest) {
		unsigned v = b(i) << 16 | (rest == 2 ? b(i + 1) << 8 : 0);
		out += kAlphabet[(v >> 18) & 63];
		out += kAlphabet[(v >> 12) & 63];
		out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
		out += '=';
	}
	return out;
}

std::optional<std::string> base64_decode(const std::string &text)
{
	if (text.size() % 4)
		return std::nullopt;
	std::string out;
	for (std::size_t i = 0; i < text.size(); i += 4) {
		unsigned v = 0;
		int pad = 0;
		for (std::size_t k = 0; k < 4; k++) {
			char c = text[i + k];
			const char *p = c ? std::char_traits<char>::find(kAlphabet, 64, c) : nullptr;
			if (c == '=' && i + 4 == text.size() && k >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (!p || pad)
				return std::nullopt;
			v = v << 6 | static_cast<unsigned>(p - kAlphabet);
		}
		out += static_cast<char>(v >> 16);
		if (pad < 2)
			out += static_cast<char>((v >> 8) & 0xff);
		if (pad < 1)
			out += static_cast<char>(v & 0xff);
	}
	return out;
}

} // namespace fsock
