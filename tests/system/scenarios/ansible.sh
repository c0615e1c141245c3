# shellcheck shell=bash
# ansible: the role of packaging/ansible (built and installed as a
# collection) from Debian's ansible against two guests over ssh: the first
# run changes both, the second changes nothing, check mode changes nothing,
# a bad profile fails validation before any host changes, a rolling run
# (serial: 1) stops at the first failing host, revert returns both hosts to
# the state saved before the first run.
command -v ansible-playbook >/dev/null || { bad "ansible-playbook missing (scripts/install-deps.sh)"; return; }
A=$HERE/ansible
ansible-galaxy collection build "$REPO/packaging/ansible" --output-path "$RUN_DIR" --force >/dev/null &&
	ansible-galaxy collection install -p "$RUN_DIR/collections" "$RUN_DIR"/fastsocket-fastsocket-*.tar.gz >/dev/null 2>&1 &&
	ok "collection built and installed" || { bad "ansible-galaxy collection build/install"; return; }
mkdir -p "$RUN_DIR/debs" && cp "${DEBS[@]}" "$RUN_DIR/debs/"

for g in g1 g2; do vm_boot "$g" "$IMG"; done
for g in g1 g2; do booted "$g" "${g}_boot_s" || return; done
{
	echo "[fleet]"
	for g in g1 g2; do
		echo "$g ansible_host=127.0.0.1 ansible_port=$(vm_port "$g")"
	done
	echo "[fleet:vars]"
	echo "ansible_user=root"
	echo "ansible_ssh_private_key_file=$RUN_DIR/id_ed25519"
	echo "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"
	echo "ansible_python_interpreter=/usr/bin/python3"
	echo "fastsocket_deb_dir=$RUN_DIR/debs"
} >"$RUN_DIR/inventory"

# play NAME PLAYBOOK [ansible-playbook args]: run, keep the log, set RC
play() {
	local name=$1 book=$2 t0=$SECONDS
	shift 2
	ANSIBLE_COLLECTIONS_PATH=$RUN_DIR/collections ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 \
		ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PIPELINING=True $NICE ansible-playbook -i "$RUN_DIR/inventory" "$A/$book" "$@" \
		>"$RUN_DIR/ansible-$name.log" 2>&1
	RC=$?
	record "ansible_${name}_s" $((SECONDS - t0))
	sed -n '/PLAY RECAP/,$p' "$RUN_DIR/ansible-$name.log"
}
# recap NAME HOST FIELD: a number of the play recap (empty: host not in it)
recap() { sed -n "s/^$2 *:.* $3=\([0-9]*\).*/\1/p" "$RUN_DIR/ansible-$1.log" | tail -1; }

for g in g1 g2; do snapshot "$g" >"$RUN_DIR/$g.before"; done

play first site.yml -e @"$A/good.yml"
check "first run succeeds" test "$RC" = 0
for g in g1 g2; do
	c=$(recap first "$g" changed); record "ansible_first_${g}_changed" "$c"
	check "first run changed $g (changed=$c)" test "${c:-0}" -gt 0
done
check_module_params g1
check_module_params g2
# applied by the role's handler (fastsocket.service is enabled for the next
# boot, not started: the handler ran apply itself)
for g in g1 g2; do
	check "$g: fastsocket status: profile /etc/fastsocket/profile.yaml, no drift" \
		vm_ssh "$g" 'fastsocket status | grep -q "^profile: .*(/etc/fastsocket/profile.yaml)" && fastsocket status | grep -q "^drift: none"'
	check "$g: fastsocket.service enabled" vm_ssh "$g" 'systemctl is-enabled -q fastsocket.service'
done
check "g1: metrics timer enabled and active" vm_ssh g1 'systemctl is-enabled -q fastsocket-metrics.timer && systemctl is-active -q fastsocket-metrics.timer'
# fleet.sh (CI's scenario) reboots g1 here and checks it as install-reboot does
if [ "$(type -t after_first_run)" = function ]; then after_first_run; fi

play second site.yml -e @"$A/good.yml"
check "second run succeeds" test "$RC" = 0
for g in g1 g2; do
	c=$(recap second "$g" changed); record "ansible_second_${g}_changed" "$c"
	check "second run: changed=0 on $g" test "$c" = 0
done

for g in g1 g2; do snapshot "$g" >"$RUN_DIR/$g.applied"; done
play check site.yml -e @"$A/changed.yml" --check
check "check mode succeeds" test "$RC" = 0
for g in g1 g2; do
	c=$(recap check "$g" changed); record "ansible_check_${g}_changed" "$c"
	check "check mode reports the change on $g (changed=$c)" test "${c:-0}" -gt 0
	snapshot "$g" >"$RUN_DIR/$g.after-check"
	check "check mode left $g as it was" cmp -s "$RUN_DIR/$g.applied" "$RUN_DIR/$g.after-check"
done
grep -q '"enable_fast_epoll"' "$RUN_DIR/ansible-check.log" || true

play bad site.yml -e @"$A/bad.yml"
check "bad profile: the run fails" test "$RC" != 0
for g in g1 g2; do
	check "bad profile: $g failed" test "$(recap bad "$g" failed)" = 1
	c=$(recap bad "$g" changed); record "ansible_bad_${g}_changed" "$c"
	check "bad profile: changed=0 on $g" test "$c" = 0
	snapshot "$g" >"$RUN_DIR/$g.after-bad"
	check "bad profile: $g unchanged" cmp -s "$RUN_DIR/$g.applied" "$RUN_DIR/$g.after-bad"
done
check "bad profile: refused by fastsocket validate" grep -q 'enable_listen_spawn' "$RUN_DIR/ansible-bad.log"

play rolling rolling.yml -e @"$A/missing-nic.yml"
check "rolling run with a failing profile fails" test "$RC" != 0
check "rolling: the first host (g1) failed" test "$(recap rolling g1 failed)" = 1
check "rolling: the run stopped before g2" test -z "$(recap rolling g2 ok)"
snapshot g2 >"$RUN_DIR/g2.after-rolling"
check "rolling: g2 untouched" cmp -s "$RUN_DIR/g2.applied" "$RUN_DIR/g2.after-rolling"

play revert site.yml -e fastsocket_state=reverted
check "revert run succeeds" test "$RC" = 0
for g in g1 g2; do
	c=$(recap revert "$g" changed); record "ansible_revert_${g}_changed" "$c"
	snapshot "$g" >"$RUN_DIR/$g.reverted"
	if cmp -s "$RUN_DIR/$g.before" "$RUN_DIR/$g.reverted"; then ok "revert: $g back to its saved state"; else
		diff "$RUN_DIR/$g.before" "$RUN_DIR/$g.reverted" | head -20
		bad "revert: $g differs from its state before the first run"
	fi
done
