// SPDX-License-Identifier: GPL-2.0
#include "profile/yaml_reader.h"

#include <cerrno>
#include <optional>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "profile/excerpt.h"
#include "system/file_read.h"

namespace fsock {

namespace {

Origin origin_of(const YAML::Mark &m, const std::string &file)
{
	return Origin{file, m.line + 1, m.column + 1};
}

// A limit or strictness rule broken: parsing stops at once.
struct Refused {
	YAML::Mark mark;
	std::string message;
};

// Builds the PNode tree from parser events, enforcing the limits.
class TreeBuilder : public YAML::EventHandler {
public:
	TreeBuilder(const std::string &text, const std::string &file, LoadBudget *budget,
		    std::vector<Diagnostic> *diags)
		: text_(text), file_(file), budget_(budget), diags_(diags)
	{
	}

	bool has_root() const { return has_root_; }
	// The first scalar that is not on one line: reported only when the
	// file parses, as a YAML syntax error further on explains more (an
	// unclosed [ folds the next line into its last item).
	const std::optional<Refused> &not_on_one_line() const { return not_on_one_line_; }
	PNode take_root() { return std::move(root_); }

	void OnDocumentStart(const YAML::Mark &mark) override
	{
		if (documents_++ > 0)
			throw Refused{mark, "a profile is one YAML document: nothing may follow '---' or '...'"};
	}
	void OnDocumentEnd() override {}

	void OnAnchor(const YAML::Mark &mark, const std::string &name) override
	{
		throw Refused{mark, "YAML anchors (&" + excerpt(name) + ") and aliases are not allowed in profiles"};
	}
	void OnAlias(const YAML::Mark &mark, YAML::anchor_t) override
	{
		throw Refused{mark, "YAML aliases (*name) are not allowed in profiles"};
	}

	void OnNull(const YAML::Mark &mark, YAML::anchor_t) override
	{
		count_node(mark);
		PNode n;
		n.origin = origin_of(mark, file_);
		add(std::move(n));
	}

	void OnScalar(const YAML::Mark &mark, const std::string &tag, YAML::anchor_t,
		      const std::string &value) override
	{
		count_node(mark);
		check_tag(mark, tag);
		if (value.size() > kMaxScalarBytes)
			throw Refused{mark, "value longer than " + std::to_string(kMaxScalarBytes) +
						    " bytes (found '" + excerpt(value) + "')"};
		bool quoted = tag == "!";
		check_on_one_line(mark, quoted, value);
		PNode n;
		n.kind = PNode::Kind::Scalar;
		n.scalar = value;
		n.quoted = quoted;
		n.origin = origin_of(mark, file_);
		add(std::move(n));
	}

	void OnSequenceStart(const YAML::Mark &mark, const std::string &tag, YAML::anchor_t,
			     YAML::EmitterStyle::value) override
	{
		open(mark, tag, PNode::Kind::Seq);
	}
	void OnSequenceEnd() override { close(); }

	void OnMapStart(const YAML::Mark &mark, const std::string &tag, YAML::anchor_t,
			YAML::EmitterStyle::value) override
	{
		open(mark, tag, PNode::Kind::Map);
	}
	void OnMapEnd() override { close(); }

private:
	// A mapping or list being filled.
	struct Frame {
		PNode node;
		std::string path;	   // key path of the node, for messages
		bool want_key = true;	   // mappings: the next event is a key
		bool key_usable = false;   // the pending key is a plain scalar
		std::string key;
		Origin key_origin;
	};

	void count_node(const YAML::Mark &mark)
	{
		if (budget_->nodes_left == 0)
			throw Refused{mark, "more than " + std::to_string(kMaxNodes) +
						    " keys, values and lists (in all files of this profile)"};
		budget_->nodes_left--;
	}

	// Non-specific tags only: "?" (plain) and "!" (quoted).  "!!str 010"
	// and friends would make a value mean something else than it reads.
	static void check_tag(const YAML::Mark &mark, const std::string &tag)
	{
		if (!tag.empty() && tag != "?" && tag != "!")
			throw Refused{mark, "YAML tags (" + excerpt(tag) + ") are not allowed in profiles"};
	}

	void check_on_one_line(const YAML::Mark &mark, bool quoted, const std::string &value)
	{
		if (!not_on_one_line_)
			not_on_one_line_ = one_line_problem(mark, quoted, value);
	}

	// mark.pos is the first byte of the scalar in text_ (the quote of a
	// quoted one, the indicator of a block scalar).
	std::optional<Refused> one_line_problem(const YAML::Mark &mark, bool quoted, const std::string &value) const
	{
		std::size_t pos = static_cast<std::size_t>(mark.pos);
		if (pos >= text_.size())
			return std::nullopt;
		char first = text_[pos];
		if (!quoted) {
			// A plain scalar on one line is exactly its source text;
			// one folded from several lines is not.
			// Only its first line is quoted: the rest may be a key
			// file or /etc/passwd.
			if (text_.compare(pos, value.size(), value) != 0) {
				std::size_t eol = text_.find_first_of("\r\n", pos);
				std::string first_line = text_.substr(pos, eol == std::string::npos ? eol : eol - pos);
				return Refused{mark, "value continues on the next line (found '" + excerpt(first_line) +
							     "' and more lines); write a value on one line, or quote it"};
			}
			return std::nullopt;
		}
		if (first != '"' && first != '\'')
			return std::nullopt; // a block scalar (| or >): lines are what it is for
		for (std::size_t i = pos + 1; i < text_.size(); i++) {
			char c = text_[i];
			if (c == '\n')
				break;
			if (first == '"' && c == '\\') {
				i++;
				continue;
			}
			if (c != first)
				continue;
			if (first == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
				i++; // '' is a quote inside '...'
				continue;
			}
			return std::nullopt;
		}
		return Refused{mark, std::string("quoted value not closed on its line (") + first +
					     " without a closing " + first + ")"};
	}

	void open(const YAML::Mark &mark, const std::string &tag, PNode::Kind kind)
	{
		count_node(mark);
		check_tag(mark, tag);
		if (stack_.size() >= kMaxDepth)
			throw Refused{mark, "nested more than " + std::to_string(kMaxDepth) + " levels deep"};
		Frame f;
		f.node.kind = kind;
		f.node.origin = origin_of(mark, file_);
		f.path = child_path();
		stack_.push_back(std::move(f));
	}

	void close()
	{
		PNode n = std::move(stack_.back().node);
		stack_.pop_back();
		add(std::move(n));
	}

	// Key path of the node the next event creates.
	std::string child_path() const
	{
		if (stack_.empty())
			return "";
		const Frame &f = stack_.back();
		if (f.node.is_seq())
			return f.path + "[" + std::to_string(f.node.seq.size()) + "]";
		if (f.want_key || !f.key_usable)
			return f.path;
		return f.path.empty() ? f.key : f.path + "." + f.key;
	}

	void add(PNode n)
	{
		if (stack_.empty()) {
			root_ = std::move(n);
			has_root_ = true;
			return;
		}
		Frame &f = stack_.back();
		if (f.node.is_seq()) {
			f.node.seq.push_back(std::move(n));
			return;
		}
		if (f.want_key) {
			f.want_key = false;
			f.key_origin = n.origin;
			f.key_usable = n.is_scalar();
			if (f.key_usable)
				f.key = n.scalar;
			else
				diags_->push_back({n.origin, f.path, "keys must be plain words (found " +
									     n.describe() + " as a key)"});
			return;
		}
		f.want_key = true;
		if (!f.key_usable)
			return;
		std::string kp = f.path.empty() ? f.key : f.path + "." + f.key;
		if (const PNode *prev = f.node.find(f.key)) {
			diags_->push_back({f.key_origin, kp, "duplicate key (first defined at line " +
								    std::to_string(prev->key_origin.line) + ")"});
			return;
		}
		n.key_origin = f.key_origin;
		f.node.map.emplace_back(f.key, std::move(n));
	}

	const std::string &text_;
	const std::string &file_;
	LoadBudget *budget_;
	std::vector<Diagnostic> *diags_;
	std::vector<Frame> stack_;
	PNode root_;
	bool has_root_ = false;
	int documents_ = 0;
	std::optional<Refused> not_on_one_line_;
};

// "%YAML 1.2", "%TAG ...": nothing a profile needs, and directives after a
// '...' that no document follows are silently dropped by the parser, which
// would let anything hide there.  '%' cannot start a plain scalar, and a
// quoted value cannot span lines, so a '%' that starts a line is one.
int directive_line(const std::string &text)
{
	int line = 1;
	for (std::size_t i = 0; i < text.size(); i++) {
		if ((i == 0 || text[i - 1] == '\n') && text[i] == '%')
			return line;
		if (text[i] == '\n')
			line++;
	}
	return 0;
}

// yaml-cpp reads UTF-16/32 too, but then its marks no longer index the
// text; and a NUL byte means this is no text file at all.
std::string encoding_problem(const std::string &text)
{
	if (text.compare(0, 2, "\xfe\xff") == 0 || text.compare(0, 2, "\xff\xfe") == 0 ||
	    text.compare(0, 4, std::string("\0\0\xfe\xff", 4)) == 0)
		return "not UTF-8 (a UTF-16 or UTF-32 byte order mark)";
	if (text.find('\0') != std::string::npos)
		return "not a text file (contains a NUL byte)";
	return "";
}

} // namespace

bool parse_yaml_text(const std::string &raw, const std::string &display_name, LoadBudget *budget,
		     PNode *out, std::vector<Diagnostic> *diags)
{
	Origin start{display_name, 1, 1};
	std::string problem = encoding_problem(raw);
	if (!problem.empty()) {
		diags->push_back({start, "", problem});
		return false;
	}
	// Without the UTF-8 byte order mark, parser marks index the text.
	const bool bom = raw.compare(0, 3, "\xef\xbb\xbf") == 0;
	const std::string text = bom ? raw.substr(3) : raw;
	if (int line = directive_line(text)) {
		diags->push_back({Origin{display_name, line, 1}, "", "YAML directives (%...) are not allowed in profiles"});
		return false;
	}
	std::size_t diags_before = diags->size();
	TreeBuilder builder(text, display_name, budget, diags);
	try {
		std::istringstream in(text);
		YAML::Parser parser(in);
		while (parser.HandleNextDocument(builder)) {
		}
	} catch (const Refused &r) {
		diags->push_back({origin_of(r.mark, display_name), "", r.message});
		return false;
	} catch (const YAML::ParserException &e) {
		diags->push_back({origin_of(e.mark, display_name), "", "YAML syntax error: " + e.msg});
		return false;
	} catch (const YAML::Exception &e) {
		diags->push_back({start, "", std::string("YAML error: ") + e.what()});
		return false;
	}
	if (const auto &r = builder.not_on_one_line()) {
		diags->push_back({origin_of(r->mark, display_name), "", r->message});
		return false;
	}
	if (diags->size() != diags_before)
		return false;
	*out = builder.has_root() ? builder.take_root() : PNode();
	if (out->kind == PNode::Kind::Null) {
		diags->push_back({start, "", "empty profile (expected a mapping with 'version: 1')"});
		return false;
	}
	return true;
}

bool parse_yaml_file(const std::string &host_path, const std::string &display_name, LoadBudget *budget,
		     PNode *out, std::vector<Diagnostic> *diags)
{
	std::string error;
	int error_number = 0;
	std::optional<std::string> text = read_regular_file(host_path, kMaxProfileBytes, &error, &error_number);
	if (!text) {
		// Too large is a limit of the profile format (line 1), anything
		// else means the file cannot be read (line 0).
		int line = error_number == EFBIG ? 1 : 0;
		std::string reason = error;
		if (reason.compare(0, host_path.size() + 2, host_path + ": ") == 0)
			reason = reason.substr(host_path.size() + 2);
		if (error_number == EFBIG)
			reason = "profile file " + reason + " (limit of a profile)";
		diags->push_back({Origin{display_name, line, line}, "", reason});
		return false;
	}
	return parse_yaml_text(*text, display_name, budget, out, diags);
}

} // namespace fsock
