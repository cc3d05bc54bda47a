#!/usr/bin/env bash
# supervise.sh <command> [args...]: runs the command and makes sure it does not outlive its owner.
# The owner holds our stdin open and never writes to it; when the owner dies in any way (even
# SIGKILL) the pipe closes, `read` sees EOF and the command is killed. SIGTERM/SIGINT/SIGHUP sent
# to this script are forwarded to the command, SIGUSR2 makes it SIGKILL the command, and the script
# exits with the command's status.
# If SUPERVISE_ORPHAN_CLEANUP names a directory, it is removed after the owner's death.
set -u
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
orphaned=0
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
trap 'orphaned=1' USR1
trap 'kill -KILL "$child" 2>/dev/null' USR2
{
  while read -r _; do :; done
  kill -USR1 $$ 2>/dev/null
  kill -KILL "$child" 2>/dev/null
} <&3 &
watcher=$!
exec 3<&-
status=0
while kill -0 "$child" 2>/dev/null; do
  wait "$child"
  status=$?
done
kill "$watcher" 2>/dev/null
if [[ "$orphaned" == 1 && -n "${SUPERVISE_ORPHAN_CLEANUP:-}" ]]; then
  rm -rf -- "$SUPERVISE_ORPHAN_CLEANUP"
fi
exit "$status"
