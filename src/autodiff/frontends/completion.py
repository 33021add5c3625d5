"""Shell completion: the scripts in `completions/` and the answers they ask for.

The scripts are typer's (click's protocol): on TAB the shell runs
`autodiff` again with `_AUTODIFF_COMPLETE=complete_<shell>` and the words
typed so far, and prints what this module and click find — commands,
options, the values of `--dtype` and `--format`, and function and constant
names inside an expression. Only typer and the function table load: no torch,
no SymPy.

bash's script differs from typer's in one line: after a function name and
its `(` it asks for no trailing space, so the argument can follow. zsh's
also works when autoloaded from `$fpath` (typer's only when sourced).
"""

from __future__ import annotations

import re
from enum import Enum

PROG_NAME = "autodiff"
COMPLETE_VAR = "_AUTODIFF_COMPLETE"


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"


# Where `completions/` keeps each shell's script.
SCRIPT_FILES = {Shell.bash: "autodiff.bash", Shell.zsh: "_autodiff", Shell.fish: "autodiff.fish",
                Shell.powershell: "autodiff.ps1"}

BASH_SCRIPT = """
%(complete_func)s() {
    local IFS=$'\\n'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \\
                   COMP_CWORD=$COMP_CWORD \\
                   %(autocomplete_var)s=complete_bash $1 ) )
    # A function name ends in "(": no space after it.
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *"(" ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}

complete -o default -F %(complete_func)s %(prog_name)s
"""

# typer's zsh script, made to work when autoloaded from $fpath too: there
# the file's body is the completion function, so it must answer at once.
ZSH_SCRIPT = """
#compdef %(prog_name)s

%(complete_func)s() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" %(autocomplete_var)s=complete_zsh %(prog_name)s)
}

if [[ "${funcstack[1]}" == "_%(prog_name)s" ]]; then
  %(complete_func)s "$@"  # autoloaded from $fpath: complete now
else
  compdef %(complete_func)s %(prog_name)s  # sourced
fi
"""

_TRAILING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


def expression_completions(incomplete: str) -> list[tuple[str, str]]:
    """(completion, help) for the function or constant name being typed at
    the end of `incomplete`: `sin(x)+co` → `sin(x)+cos(`, `sin(x)+cosh(`, …"""
    from autodiff.language.functions import CONSTANTS, FUNCTIONS

    match = _TRAILING_NAME.search(incomplete)
    if match is None and incomplete and incomplete[-1] not in "(+-*/^,[ ":
        return []  # after a number or a closing parenthesis no name can follow
    prefix, partial = (incomplete[: match.start()], match.group()) if match else (incomplete, "")
    items = [(prefix + spec.name + "(", spec.summary) for spec in FUNCTIONS if spec.name.startswith(partial)]
    items += [(prefix + constant.name, constant.summary) for constant in CONSTANTS if constant.name.startswith(partial)]
    return sorted(set(items))


def script(shell: Shell) -> str:
    """The completion script for `shell`, as `completions/` holds it."""
    setup()
    from typer._completion_shared import get_completion_script

    own = {Shell.bash: BASH_SCRIPT, Shell.zsh: ZSH_SCRIPT}.get(shell)
    if own is not None:
        text = own % {"complete_func": "_autodiff_completion", "autocomplete_var": COMPLETE_VAR, "prog_name": PROG_NAME}
        return text.strip() + "\n"
    return get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell.value).strip() + "\n"


def setup() -> None:
    """Register typer's completion classes (typer only does so when it adds
    its own --install-completion option, which autodiff does not)."""
    from typer.completion import completion_init

    completion_init()
