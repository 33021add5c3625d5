_autodiff_completion() {
    local IFS=$'\n'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _AUTODIFF_COMPLETE=complete_bash $1 ) )
    # A function name ends in "(": no space after it.
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *"(" ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}

complete -o default -F _autodiff_completion autodiff
