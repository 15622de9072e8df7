#!/usr/bin/env bash
# The man page and the shell completions, generated from the commands themselves (`make docs`):
#
#   scripts/make-docs.sh BIN OUTDIR
#
# writes OUTDIR/man/nestprobe.1 (one page, every subcommand; swift-argument-parser's generate-manual, the tool
# behind `swift package generate-manual`, run on BIN's --experimental-dump-help) and
# OUTDIR/completions/{nestprobe.bash,_nestprobe,nestprobe.fish} (BIN --generate-completion-script). The tool is
# built from the swift-argument-parser checkout the package already resolved, in its own scratch folder, so
# nestprobe itself is not built a second time. Install: `man -l OUTDIR/man/nestprobe.1`; bash: source the
# .bash file (or copy it to /usr/share/bash-completion/completions/nestprobe); zsh: put _nestprobe on $fpath;
# fish: copy nestprobe.fish to ~/.config/fish/completions/.
set -euo pipefail
bin=$(realpath "$1")
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
SWIFT=${SWIFT:-swift}
parser=$root/.build/checkouts/swift-argument-parser
if [ ! -f "$parser/Package.swift" ]; then
    "$SWIFT" package --package-path "$root" resolve
fi
scratch=$root/.build/argument-parser-tools
"$SWIFT" build --package-path "$parser" --scratch-path "$scratch" --product generate-manual >&2
tool=$("$SWIFT" build --package-path "$parser" --scratch-path "$scratch" --product generate-manual --show-bin-path)/generate-manual
mkdir -p "$out/man" "$out/completions"
# The date is the commit's, so the page is the same from one build of a commit to the next.
date=$(git -C "$root" log -1 --format=%cs 2>/dev/null || date -u +%F)
# generate-manual drops every character outside ASCII (Mann–Whitney would read MannWhitney), so it reads the
# command tree through iconv's transliteration (– as -, ≤ as <=, µ as u); a blank line of a discussion becomes
# the paragraph macro .Pp, which mdoc wants instead of an empty line.
wrapper=$(mktemp -d)
trap 'rm -rf "$wrapper"' EXIT
printf '#!/bin/sh\nset -e\n"%s" "$@" | iconv -f UTF-8 -t ASCII//TRANSLIT\n' "$bin" >"$wrapper/nestprobe"
chmod +x "$wrapper/nestprobe"
"$tool" "$wrapper/nestprobe" --date "$date" --output-directory "$wrapper"
sed 's/^$/.Pp/' "$wrapper/nestprobe.1" >"$out/man/nestprobe.1"
"$bin" --generate-completion-script bash >"$out/completions/nestprobe.bash"
"$bin" --generate-completion-script zsh >"$out/completions/_nestprobe"
"$bin" --generate-completion-script fish >"$out/completions/nestprobe.fish"
echo "wrote $out/man/nestprobe.1 and $out/completions/ (nestprobe.bash, _nestprobe, nestprobe.fish)" >&2
