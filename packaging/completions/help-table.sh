#!/bin/sh
# help-table.sh OBSTUI - the command table, as `obstui help` prints it, in
# a form the completion generator (gen-completions.sh) reads:
#
#   cmd<TAB>NAME<TAB>SUMMARY            one per command in `obstui help`
#   opt<TAB>NAME<TAB>OPTION<TAB>ARG<TAB>WHERE<TAB>DESCRIPTION
#
# An option is any -x or --word token in `obstui help NAME`; WHERE says
# where it was first seen: "def" (an option line, or its description),
# "usage" (the usage line) or "prose" (other text: the man page test
# counts those too; the completions leave them out).  ARG is the option's argument name (DIR, FILE, N,
# MODE, thanos...) when some mention of it has one, else empty; DESCRIPTION
# is the text after it on its own line of the help, if it has one.
# "ui" also stands for obstui with no command.  The help output is the
# single source: nothing here lists commands or options by hand.
set -eu
bin=${1:?usage: help-table.sh OBSTUI}

"$bin" help | awk '
	/^commands:/ { on = 1; next }
	on && /^$/ { exit }
	on && /^  [a-z]/ {
		name = $1
		sub(/^  [a-z]+ +/, "")
		sub(/ \(not built yet\)$/, "")
		printf "cmd\t%s\t%s\n", name, $0
	}'

for c in $("$bin" help | awk '/^commands:/{on=1;next} on&&/^$/{exit} on&&/^  [a-z]/{print $1}'); do
	"$bin" help "$c" | awk -v cmd="$c" '
	function isarg(t) { return t ~ /^[A-Z][A-Z_|]*(\.\.\.)?[,.;)\]]*$/ }
	function clean(t) { gsub(/[,.;)\]]+$/, "", t); return t }
	# mentions(text, where): every -x/--word token in text, with its ARG
	function mentions(text, where,    nt, t, i, x, o) {
		nt = split(text, t, /[ \t]+/)
		for (i = 1; i <= nt; i++) {
			x = t[i]; sub(/^[\[(]+/, "", x)
			if (x !~ /^--?[a-z][a-z0-9-]*[\],.;)|]*$/) continue
			o = x; gsub(/[\],.;)|]+$/, "", o)
			if (!(o in seen)) { seen[o] = 1; order[++no] = o; dsc[o] = ""; whr[o] = where }
			else if (whr[o] == "prose" && where != "prose") whr[o] = where
			if (x == o && i < nt && isarg(t[i + 1]) && !(o in arg)) arg[o] = clean(t[i + 1])
		}
	}
	{
		line = $0
		# the option-definition lines: "  --opt ARG   description"
		if (match(line, /^ +-/)) {
			body = substr(line, RLENGTH)
			n = split(body, w, /  +/)
			defs = w[1]; desc = ""
			for (i = 2; i <= n; i++) desc = desc (desc == "" ? "" : "  ") w[i]
			m = split(defs, d, /, /)
			for (i = 1; i <= m; i++) {
				k = split(d[i], p, / /)
				if (p[1] !~ /^--?[a-z]/) continue
				o = p[1]
				a = (k >= 2) ? p[2] : ""
				# "--grpc-keepalive DUR ping gRPC ...": the column overflowed
				if (k > 2 && i == m) {
					rest = ""
					for (j = 3; j <= k; j++) rest = rest (rest == "" ? "" : " ") p[j]
					desc = rest (desc == "" ? "" : " " desc)
				}
				if (a != "" && !(o in arg)) arg[o] = clean(a)
				if (!(o in dsc) || dsc[o] == "") dsc[o] = desc
				if (!(o in seen)) { seen[o] = 1; order[++no] = o }
				whr[o] = "def"
			}
			mentions(desc, "def")
			next
		}
		mentions(line, line ~ /^usage:/ ? "usage" : "prose")
	}
	END {
		for (i = 1; i <= no; i++) {
			o = order[i]
			printf "opt\t%s\t%s\t%s\t%s\t%s\n", cmd, o, (o in arg) ? arg[o] : "", whr[o], dsc[o]
		}
	}'
done
