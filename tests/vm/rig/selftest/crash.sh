#!/bin/sh
# rig self-test: a kernel crash must fail the run even though no RESULT line
# is printed.
echo c >/proc/sysrq-trigger
sleep 10
