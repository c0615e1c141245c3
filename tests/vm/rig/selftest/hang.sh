#!/bin/sh
# rig self-test: a hanging suite must be stopped by the guest timeout.
sleep 1000
