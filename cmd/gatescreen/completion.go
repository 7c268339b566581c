package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

func init() {
	commands["completion"] = command{"print the shell completion script: gatescreen completion bash", runCompletion}
}

// bashCompletion completes command names from this binary's list and each
// command's flags from its own -h, so a new flag needs no change here.
const bashCompletion = `# bash completion for gatescreen (gatescreen completion bash)
_gatescreen() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "%s -version" -- "$cur"))
		return
	fi
	case $cur in
	-*)
		local flags
		flags=$("${COMP_WORDS[0]}" "${COMP_WORDS[1]}" -h 2>&1 | sed -n 's/^  \(-[a-z0-9-]*\).*/\1/p')
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
		;;
	*)
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	esac
}
complete -o filenames -F _gatescreen gatescreen
`

func runCompletion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("completion", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "bash" {
		return fmt.Errorf("%w: completion takes one shell: completion bash", errUsage)
	}
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	_, err := fmt.Fprintf(stdout, bashCompletion, strings.Join(names, " "))
	return err
}
