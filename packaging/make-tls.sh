#!/usr/bin/env bash
# Makes what lanes on other machines need to reach regularsd over TLS: a CA for this store and a
# certificate for the daemon's machine signed by it.
#
#   packaging/make-tls.sh DIR HOST [HOST...]
#
# HOST: every name or IP address lanes will use to reach the daemon (it goes in the
# certificate, and a lane checks it). Writes, in DIR:
#   ca.crt      the store's CA: copy it to each lane (plugin option "ca_file")
#   ca.key      the CA's private key: keep it offline; only needed to make a new server.crt
#   server.crt  the daemon's certificate  (listen.tls.cert)
#   server.key  its private key           (listen.tls.key; readable by regularsd only)
# An existing ca.key is reused, so re-running it for a new address keeps the lanes' ca.crt valid.
set -euo pipefail

if [ $# -lt 2 ]; then
  sed -n '4,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "make-tls.sh: needs the openssl command: apt-get install openssl" >&2; exit 1; }
dir=$1
shift
mkdir -p "$dir"
umask 077

san=""
for host in "$@"; do
  if [[ $host =~ ^[0-9.]+$ || $host == *:* ]]; then san+="IP:$host,"; else san+="DNS:$host,"; fi
done
san=${san%,}

if [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=Regulars store CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
  -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 825 \
  -out "$dir/server.crt" \
  -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san") 2>/dev/null
rm -f "$dir/server.csr" "$dir/ca.srl"
chmod 644 "$dir/ca.crt" "$dir/server.crt"
echo "made $dir/ca.crt and $dir/server.crt for $san"
