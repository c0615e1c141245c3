# md2man.awk: turn one of our Markdown documents into the body of a man page,
# so that the page and docs/*.md cannot disagree.  Handles the subset the
# docs use: "## " sections (.SH), "### " subsections (.SS), paragraphs,
# "* " bullets and "1. " numbered items (with indented continuation lines),
# ``` code blocks, tables (one tagged paragraph per row: the first cell is the
# tag, the other cells follow as "header: value" lines), `code`, **bold**
# and [text](link).  The document's "# " title line is dropped: the caller
# writes .TH and the NAME section.  POSIX awk (mawk, gawk).
#
#   awk -f md2man.awk docs/profiles.md >>page.5

function esc(s) {
	gsub(/\\/, "\\e", s)
	return s
}

# Inline markup of a joined block of text.
function inline(s,    out, pre, body) {
	s = esc(s)
	gsub(/—/, "\\(em", s)
	out = ""
	# [text](target) -> text
	while (match(s, /\[[^]]*\]\([^)]*\)/)) {
		body = substr(s, RSTART + 1, RLENGTH - 2)
		sub(/\]\(.*$/, "", body)
		s = substr(s, 1, RSTART - 1) body substr(s, RSTART + RLENGTH)
	}
	# `code` and **bold** -> bold; minus signs in code are real minus signs
	while (match(s, /`[^`]*`|\*\*[^*]*\*\*/)) {
		pre = substr(s, 1, RSTART - 1)
		body = substr(s, RSTART, RLENGTH)
		if (body ~ /^`/) {
			body = substr(body, 2, length(body) - 2)
			gsub(/-/, "\\-", body)
		} else {
			body = substr(body, 3, length(body) - 4)
		}
		out = out pre "\\fB" body "\\fR"
		s = substr(s, RSTART + RLENGTH)
	}
	s = out s
	# A line may not start with a control character.
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

function flush(    i, n, cells, line) {
	if (kind == "para") {
		print ".PP"
		print inline(text)
	} else if (kind == "bullet") {
		print ".IP \\(bu 2"
		print inline(text)
	} else if (kind == "number") {
		print ".IP " num " 4"
		print inline(text)
	}
	kind = ""
	text = ""
}

function split_row(line, cells,    n) {
	sub(/^[ \t]*\|/, "", line)
	sub(/\|[ \t]*$/, "", line)
	n = split(line, cells, /\|/)
	for (i = 1; i <= n; i++) {
		gsub(/^[ \t]+|[ \t]+$/, "", cells[i])
	}
	return n
}

BEGIN { kind = ""; text = ""; incode = 0; intable = 0 }

incode {
	if ($0 ~ /^```/) {
		print ".fi"
		print ".RE"
		incode = 0
		next
	}
	line = esc($0)
	if (line ~ /^[.']/)
		line = "\\&" line
	print line
	next
}

/^```/ {
	flush()
	print ".PP"
	print ".RS 4"
	print ".nf"
	incode = 1
	next
}

/^\|/ {
	if (!intable) {
		flush()
		nhead = split_row($0, head)
		intable = 1
		next
	}
	if ($0 ~ /^\|[- :|]+\|[ \t]*$/)
		next
	n = split_row($0, cells)
	print ".TP"
	print inline(cells[1])
	for (c = 2; c <= n; c++) {
		if (c > 2)
			print ".br"
		print inline(head[c] ": " cells[c])
	}
	next
}
{ intable = 0 }

NR == 1 && /^# / { next }

/^## / {
	flush()
	t = substr($0, 4)
	print ".SH " inline(toupper(t))
	next
}

/^### / {
	flush()
	print ".SS " inline(substr($0, 5))
	next
}

/^[ \t]*$/ { flush(); next }

/^[*-] / {
	flush()
	kind = "bullet"
	text = substr($0, 3)
	next
}

/^[0-9]+\. / {
	flush()
	kind = "number"
	num = $0
	sub(/\..*/, ".", num)
	text = $0
	sub(/^[0-9]+\. /, "", text)
	next
}

{
	line = $0
	sub(/^[ \t]+/, "", line)
	if (kind == "") {
		kind = "para"
		text = line
	} else {
		text = text " " line
	}
}

END { flush() }
