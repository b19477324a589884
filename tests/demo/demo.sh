#!/usr/bin/env bash
# `make demo`: the main workflow end to end, on built-in sample data, with a throw-away
# password. It grows as applets land; today: dispatch, the mask-passwd | munge recipe and
# the interactive vaultfs workflow (init, mount, copy a CSV in, unmount, the ciphertext).
set -euo pipefail
bin=${1:?usage: demo.sh PATH-TO-ARMORBOX}
work=$(mktemp -d)
# Unmount before removing anything: never delete through a live decrypted view.
trap 'fusermount3 -u "$work/data-plain" 2>/dev/null || true; rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "One binary, linked under each applet's name"
mkdir "$work/bin"
ln -s "$bin" "$work/bin/armorbox"
show "$bin" --install -s "$work/bin"
export PATH="$work/bin:$PATH"
show armorbox --version

step "The masked prompt (here fed from a pipe, since the demo types for you)"
password="demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "throw-away password: $password"
if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    echo '$ export SECRET=$(mask-passwd --stdin | munge -i /dev/stdin)'
    SECRET=$(printf '%s\n' "$password" | mask-passwd --stdin | munge -i /dev/stdin)
    echo "SECRET=${SECRET:0:40}...  (a munge credential: the password does not appear in it)"
    echo '$ echo "$SECRET" | unmunge -i /dev/stdin -m /dev/null'
    recovered=$(echo "$SECRET" | unmunge -i /dev/stdin -m /dev/null)
    [ "$recovered" = "$password" ] || { echo "demo: munge round trip changed the password" >&2; exit 1; }
    echo "recovered the password exactly: $recovered"
else
    echo "(munged is not running here: start it with tests/setup/start-munged.sh to see the munge recipe)"
    printf '%s\n' "$password" | mask-passwd --stdin | od -c | head -2
fi
echo
echo "On a terminal, type it instead: export SECRET=\$(mask-passwd | munge -i /dev/stdin)"

step "vaultfs: an encrypted directory, gocryptfs-compatible"
sample="$(cd "$(dirname "$0")" && pwd)/sample/measurements.csv"
mkdir "$work/data-encrypted" "$work/data-plain"
printf '%s\n' "$password" > "$work/passfile"
chmod 600 "$work/passfile"
show vaultfs -init -scryptn=10 -passfile "$work/passfile" "$work/data-encrypted"
show vaultfs -passfile "$work/passfile" "$work/data-encrypted" "$work/data-plain"
show cp "$sample" "$work/data-plain/"
show ls -l "$work/data-plain"
show head -3 "$work/data-plain/measurements.csv"
show fusermount3 -u "$work/data-plain"
echo '$ ls -l data-encrypted   # what the disk holds'
ls -l "$work/data-encrypted" | sed 's/^/  /'
cipher=$(find "$work/data-encrypted" -type f -size +1k | head -1)
echo "$ head -c 96 $(basename "$cipher") | od -An -c | head -3   # ciphertext, no CSV in sight"
head -c 96 "$cipher" | od -An -c | head -3
if grep -q "patient_id" "$cipher"; then echo "demo: plaintext found in the ciphertext!" >&2; exit 1; fi
echo "the CSV is stored encrypted; gocryptfs $work/data-encrypted would open it too"

step "secarc: the data leaves the node in an encrypted 7z archive that 7-Zip opens"
mkdir "$work/sensitive_data"
cp "$sample" "$work/sensitive_data/"
cd "$work"
show secarc a --password-file passfile -mhe=on -mx=9 -m0=lzma2 -mtc=on -mtm=on -mta=on sensitive_data_derived.7z sensitive_data/
show secarc l --password-file passfile sensitive_data_derived.7z
if command -v 7zz >/dev/null; then
    echo "\$ 7zz l -pwrong sensitive_data_derived.7z   # a wrong password: not even the names"
    (7zz l -pwrong sensitive_data_derived.7z </dev/null 2>&1 || true) | grep -E "ERROR|Errors|Can not open" | head -2 | sed 's/^/  /' || true
fi
echo "the archive is encrypted with its header: 7zz x -p sensitive_data_derived.7z opens it"
