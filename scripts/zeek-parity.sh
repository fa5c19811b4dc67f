#!/usr/bin/env bash
# Dev helper: annotate every Zeek trace and compare with its tshark oracle; prints failures.
set -u
Z=${1:-../shared/captures/zeek}
out=${2:-/tmp/zk}
mkdir -p "$out"
find "$Z" -name '*.tshark.tsv' | sed 's/\.tshark\.tsv$//' | sort | xargs -P 2 -I{} sh -c '
  b={}; f=""
  for e in pcap pcapng pcap.gz pcapng.gz cap; do [ -f "$b.$e" ] && f="$b.$e" && break; done
  o='"$out"'/$(echo "$b" | tr / _)
  node dist/scripts/annotate-dev.js "$f" > $o.csv 2>$o.err
  python3 '"$Z"'/../../tools/wireshark-parity.py "$b.tshark.tsv" $o.csv > $o.par 2>&1
  echo "$? $b"'
