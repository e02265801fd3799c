#!/usr/bin/env bash
# Plays a few demo calls on loopback with SIPp, for `make run`: each call
# sends 7 s of G.711 A-law (the pcap SIPp ships) to 01632 96010N, and the
# far end echoes it.
set -euo pipefail
calls=${1:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ln -sfn /usr/share/sip-tester "$dir/pcap"
cd "$dir"
for i in $(seq 1 "$calls"); do
	port=$((5300 + 2 * i))
	timeout 40 sipp -sn uas -i 127.0.0.1 -p "$port" -mi 127.0.0.1 -mp $((16200 + 10 * i)) -rtp_echo -m 1 -timeout 30s -nostdin >/dev/null 2>&1 &
	uas=$!
	sleep 0.5
	# The called number makes each call easy to find on the page (01632 96010N).
	if timeout 35 sipp -sn uac_pcap "127.0.0.1:$port" -s "0163296010$i" -i 127.0.0.1 -p $((port + 1)) -mi 127.0.0.1 -m 1 -timeout 30s -nostdin >/dev/null 2>&1; then
		echo "demo call $i of $calls: done"
	else
		echo "demo call $i of $calls: SIPp failed (is this root?)" >&2
	fi
	wait "$uas" || true
done
