#!/bin/sh
# rig self-test: the suite's exit status must become the run's exit status.
echo "exiting with 3"
exit 3
