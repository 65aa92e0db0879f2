#!/bin/sh
# Example job for promdrop: the size of each directory given as an argument, as
# directory_size_bytes{directory="..."} in dirsize.prom in the textfile directory.
# Run through `promdrop run --name dirsize` (see promdrop-dirsize.service), which records
# whether and when it last succeeded in dirsize.job.prom.
#
# `promdrop write` replaces dirsize.prom only if the whole output is valid, atomically: the agent
# never serves half a file, and a failed run leaves the previous sizes in place.
set -eu

if [ "$#" -eq 0 ]; then
  echo "usage: dirsize.sh DIRECTORY..." >&2
  exit 2
fi

# A label value as the text format wants it: backslash, double quote and newline escaped.
escape_label() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g'
}

newline='
'
status=0
metrics="# HELP directory_size_bytes Disk space used by the directory and everything below it.${newline}"
metrics="${metrics}# TYPE directory_size_bytes gauge${newline}"
for directory in "$@"; do
  # du -s prints a total even when part of the tree is unreadable, and exits 1: that size is a
  # lower bound, still written, and the run counts as failed (batch_job_last_exit_code says so).
  output=$(du -s -B1 -- "$directory" 2>/dev/null) || status=1
  size=${output%%[!0-9]*}
  if [ -z "$size" ]; then
    echo "dirsize.sh: cannot measure $directory" >&2
    status=1
    continue
  fi
  metrics="${metrics}directory_size_bytes{directory=\"$(escape_label "$directory")\"} ${size}${newline}"
done

# The file expires 3 h after the last run, so sizes from a job that stopped running are not
# served for ever.
printf '%s' "$metrics" | promdrop write dirsize --ttl 3h
exit "$status"
