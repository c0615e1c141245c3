# Hostile profiles made at test time (big ones, FIFOs, devices, include
# bombs): gen_NAME DIR writes what case NAME needs into DIR and prints the
# profile argument to give fastsocket.  Sourced by ../hostile_case.sh.

repeat() { # repeat TEXT COUNT: TEXT COUNT times, no newline
	head -c "$2" /dev/zero | tr '\0' x | sed "s/x/$1/g" | tr -d '\n'
}

big_value() { # big_value BYTES: BYTES bytes of 'a'
	head -c "$1" /dev/zero | tr '\0' a
}

gen_big_value_10mb() {
	{ printf 'version: 1\ndescription: '; big_value 10485760; echo; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_big_list_10mb() {
	{ printf 'version: 1\ninterfaces: ['; repeat 'e,' 5242880; echo 'e]'; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_big_key_10mb() {
	{ printf 'version: 1\n'; big_value 10485760; echo ': 1'; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_file_just_over_limit() {
	{ printf 'version: 1\n'; head -c 262144 /dev/zero | tr '\0' '#'; echo; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_file_at_limit() { # exactly 256 KiB: still read
	{ printf 'version: 1\n'; head -c $((262144 - 12)) /dev/zero | tr '\0' '#'; echo; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_nodes_over_limit() {
	{ printf 'version: 1\ninterfaces: ['; repeat 'e,' 12000; echo 'e]'; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_unknown_keys_10000() {
	{ echo 'version: 1'; for i in $(seq 10000); do echo "k$i: 1"; done; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_unknown_keys_3000() {
	{ echo 'version: 1'; for i in $(seq 3000); do echo "k$i: 1"; done; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_unknown_long_keys() { # 50 keys of 4000 bytes: 20 errors shown, each key cut to 80
	{ echo 'version: 1'; for i in $(seq 50); do printf 'k%s' "$i"; big_value 1000; echo ': 1'; done; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_duplicate_keys_5000() {
	{ echo 'version: 1'; for i in $(seq 4000); do echo "description: x"; done; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_deep_flow_seq() {
	{ printf 'version: 1\ninterfaces: '; repeat '[' 100000; echo; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_deep_flow_map() {
	{ printf 'version: 1\nrps: '; repeat '{a: ' 50000; echo; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_deep_block_map() {
	{
		echo 'version: 1'
		for i in $(seq 0 39); do printf '%*sk%s:\n' $((i * 2)) '' "$i"; done
	} >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_deep_block_seq() {
	{
		printf 'version: 1\ninterfaces:\n'
		for i in $(seq 1 40); do printf '%*s-\n' $((i * 2)) ''; done
	} >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_deep_flow_seq_3000() { # the depth that made yaml-cpp say "bad file"
	{ printf 'version: 1\ninterfaces: '; repeat '[' 3000; repeat ']' 3000; echo; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_include_bomb() { # 8 files, each including the next 10 times: 10^8 loads
	local i j
	for i in $(seq 1 8); do
		{
			echo 'version: 1'
			if [ "$i" -lt 8 ]; then
				echo 'include:'
				for j in $(seq 10); do echo "  - ./b$((i + 1)).yaml"; done
			fi
		} >"$1/b$i.yaml"
	done
	echo "$1/b1.yaml"
}

gen_include_chain_20() {
	local i
	for i in $(seq 1 20); do
		{ echo 'version: 1'; [ "$i" -lt 20 ] && echo "include: ./c$((i + 1)).yaml"; } >"$1/c$i.yaml"
	done
	echo "$1/c1.yaml"
}

gen_include_chain_8() { # 8 files deep: the limit, accepted
	local i
	for i in $(seq 1 8); do
		{ echo 'version: 1'; [ "$i" -lt 8 ] && echo "include: ./c$((i + 1)).yaml"; } >"$1/c$i.yaml"
	done
	echo "$1/c1.yaml"
}

gen_include_wide_40() {
	local i
	{
		echo 'version: 1'
		echo 'include:'
		for i in $(seq 1 40); do
			echo 'version: 1' >"$1/w$i.yaml"
			echo "  - ./w$i.yaml"
		done
	} >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_include_same_1000() { # one small file included 1000 times
	local i
	echo 'version: 1' >"$1/s.yaml"
	{ echo 'version: 1'; echo 'include:'; for i in $(seq 1000); do echo '  - ./s.yaml'; done; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_include_nodes_over_limit() { # each file under the node limit, all together over it
	local i
	{ printf 'version: 1\ninterfaces: ['; repeat 'e,' 4000; echo 'e]'; } >"$1/n.yaml"
	{ echo 'version: 1'; echo 'include: [./n.yaml, ./n.yaml, ./n.yaml]'; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_include_fifo() {
	mkfifo "$1/f.yaml"
	printf 'version: 1\ninclude: ./f.yaml\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_include_directory() {
	mkdir "$1/d.yaml"
	printf 'version: 1\ninclude: ./d.yaml\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_include_dev_zero() {
	printf 'version: 1\ninclude: /dev/zero\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_include_big_file() {
	{ printf 'version: 1\ndescription: '; big_value 10485760; echo; } >"$1/big.yaml"
	printf 'version: 1\ninclude: ./big.yaml\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_include_long_name() {
	{ printf 'version: 1\ninclude: '; big_value 4000; echo; } >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_fifo() {
	mkfifo "$1/p.yaml"
	echo "$1/p.yaml"
}

gen_fifo_plan() {
	gen_fifo "$1"
}

gen_fifo_bare_name() { # a bare name that is a FIFO in the profile path
	mkfifo "$1/fifo.yaml"
	export FASTSOCKET_PROFILE_PATH=$1
	echo fifo
}

gen_directory() {
	mkdir "$1/p.yaml"
	echo "$1/p.yaml"
}

gen_directory_plan() {
	gen_directory "$1"
}

gen_dev_null() { echo /dev/null; }
gen_dev_zero() { echo /dev/zero; }
gen_dev_urandom() { echo /dev/urandom; }
gen_dev_zero_plan() { echo /dev/zero; }
gen_proc_self_mem() { echo /proc/self/mem; } # a regular file whose read fails (EIO)

gen_symlink_loop() {
	ln -s loop.yaml "$1/loop.yaml"
	echo "$1/loop.yaml"
}

gen_nonexistent() { echo "$1/none.yaml"; }
gen_empty_name() { echo ""; }
gen_empty_name_plan() { echo ""; }

gen_long_path() { # longer than PATH_MAX
	echo "$1/$(big_value 5000).yaml"
}

gen_long_bare_name() {
	big_value 10000
}

gen_empty_file() {
	: >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_nul_bytes() {
	printf 'version: 1\ndescription: a\0b\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_utf16() {
	printf '\xff\xfev\0e\0r\0s\0i\0o\0n\0:\0 \x001\0\n\0' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_binary_junk() {
	head -c 4096 /dev/urandom >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_own_binary() { # the fastsocket binary itself
	echo "$FASTSOCKET_BINARY"
}

gen_crlf() {
	printf 'version: 1\r\nrps:\r\n  cpus: "0-1"\r\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_crlf_unclosed_quote() {
	printf 'version: 1\r\ndescription: "abc\r\nrps:\r\n  cpus: all\r\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_utf8_bom() {
	printf '\xef\xbb\xbfversion: 1\nrps:\n  cpus: all\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_utf8_bom_multiline() {
	printf '\xef\xbb\xbfversion: 1\ndescription: abc\n  def\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_escape_sequences() { # a terminal escape in a value is shown escaped
	printf 'version: 1\nrps:\n  cpus: "\\e]0;pwned\\a0-1"\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_control_key() {
	printf 'version: 1\n"\\e[2Jkey": 1\n' >"$1/p.yaml"
	echo "$1/p.yaml"
}

gen_fifo_apply() {
	gen_fifo "$1"
}

gen_unreadable_file() { # run as nobody: the reason, not "cannot read file"
	chmod 755 "$1"
	echo 'version: 1' >"$1/p.yaml"
	chmod 000 "$1/p.yaml"
	echo "$1/p.yaml"
}
