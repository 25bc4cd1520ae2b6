#!/usr/bin/env bash
# Mutation testing of the code where a silent bug costs data: the lock journal, the clean-up
# rules and command, the server's rules and store, `lock hold`, and the TUI's bulk delete.
#
#   bash benches/mutants.sh            # every group below (hours on 2 cores)
#   bash benches/mutants.sh journal    # one group: journal | rules | server | cleanup-cli | hold | bulk
#
# cargo-mutants (pinned) changes the code one way at a time and runs the tests that guard it; a
# mutant the tests do not notice "survives". Each group runs only the tests that cover its files
# (the whole suite per mutant would take hours). A survivor that is listed in
# benches/mutants-accepted.txt (with why it is harmless) is accepted; any other fails the script.
# Results: target/mutants/<group>/mutants.out/{caught,missed,timeout,unviable}.txt
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=25.3.1
TOOL=target/mutants-tool/bin/cargo-mutants
if ! [ -x "$TOOL" ] || ! "$TOOL" mutants --version | grep -q "$VERSION"; then
    cargo install cargo-mutants --version "$VERSION" --locked --root target/mutants-tool
fi

# group name, then the files (-f ...), then `--`, then the arguments of `cargo test`.
group() {
    local name=$1
    shift
    local files=()
    while [ "$1" != "--" ]; do
        files+=(-f "$1")
        shift
    done
    shift
    echo "== $name: ${files[*]}"
    mkdir -p "target/mutants/$name"
    # Exit 2 (survivors) and 3 (timeouts) are judged below; anything else is a failure.
    "$TOOL" mutants --no-shuffle --baseline skip --timeout 180 --build-timeout 900 \
        "${files[@]}" -o "target/mutants/$name" -- "$@" || {
        local code=$?
        [ $code -eq 2 ] || [ $code -eq 3 ]
    }
}

run_group() {
    case $1 in
        journal) group journal src/journal.rs -- --lib -- journal ;;
        rules) group rules src/cleanup.rs src/retention.rs -- --lib -- cleanup retention ;;
        server) group server src/server/rules.rs src/server/store.rs -- --lib -- server:: ;;
        cleanup-cli) group cleanup-cli src/cli/cleanup.rs -- --test it -- cli::cleanup cli::misc cli::retention security::hostile::a_listing_too_big ;;
        hold) group hold src/cli/hold.rs -- --test it -- cli::hold ;;
        bulk) group bulk src/tui/records/bulk.rs -- --lib -- tui::records ;;
        *) echo "unknown group $1" >&2; exit 2 ;;
    esac
}

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(journal rules server cleanup-cli hold bulk)
for name in "${groups[@]}"; do
    run_group "$name"
done

# Survivors that are not accepted. The accepted list holds `file:line: mutation` lines (as in
# missed.txt) followed by `  # why`; line numbers are ignored so that edits elsewhere keep it valid.
accepted=$(sed -E 's/ +#.*$//; s/^([^:]+):[0-9]+:[0-9]+: /\1: /' benches/mutants-accepted.txt | grep -v '^$' || true)
status=0
caught=0
missed=0
for name in "${groups[@]}"; do
    out="target/mutants/$name/mutants.out"
    caught=$((caught + $(wc -l < "$out/caught.txt")))
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        missed=$((missed + 1))
        key=$(sed -E 's/^([^:]+):[0-9]+:[0-9]+: /\1: /' <<<"$line")
        if ! grep -qxF "$key" <<<"$accepted"; then
            echo "NOT ACCEPTED: $line"
            status=1
        fi
    done < "$out/missed.txt"
done
total=$((caught + missed))
echo "caught $caught of $total viable mutants ($((total ? 100 * caught / total : 100)) %); $missed survived"
exit $status
