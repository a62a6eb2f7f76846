set -C; umask 077
p={path}
if [ -d "$p" ]; then {into_dir}; fi
q=$p
case $q in -*) q=./$q ;; esac
case $q in */*) d=${{q%/*}}; b=${{q##*/}} ;; *) d=.; b=$q ;; esac
[ -n "$d" ] || d=/
[ -n "$b" ] || {{ echo "$p: no file name" >&2; exit 22; }}
t=$d/.$b.smol-ssh-{nonce}
exec 3>"$t" || exit 73
fail() {{ s=$?; exec 3>&-; rm -f -- "$t"; exit $s; }}
[ -f /proc/$$/fd/3 ] || {{ echo "$t: not a new regular file" >&2; exec 3>&-; exit 73; }}
cat >&3 || fail
chmod {mode} /proc/$$/fd/3 || fail
exec 3>&-
mv -f -T -- "$t" "$q" || fail
printf %s "$p"
