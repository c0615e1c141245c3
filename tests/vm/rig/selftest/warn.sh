#!/bin/sh
# rig self-test: a kernel WARN (FS_PARAMS=warn_on_load=1) must fail the run,
# through panic_on_warn or, with panic_on_warn=0, through the log check.
# shellcheck disable=SC2086
insmod "$FS_KO" $FS_PARAMS
echo "still running after the warning"
exit 0
