"""Shell completion scripts, generated from the command line's own parser so that they name
every subcommand and option this version has, and nothing it does not.

Control IDs are not written into the script: a site baseline has its own, so the script
asks ``hostaudit controls --ids`` (with the ``--baseline`` already typed) when one is due.
"""

from __future__ import annotations

import argparse

# What an option's value is, by its metavar: directories, files, or control IDs.
_DIRECTORY_METAVARS = {"DIR"}
_FILE_METAVARS = {"FILE", "OLD.json", "NEW.json"}
_BASELINE_METAVARS = {"NAME|PATH"}
_ID_METAVARS = {"ID", "IDS"}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _value_kind(action: argparse.Action) -> str | None:
    """How to complete what follows this option or positional: ``words:a b``, ``dirs``,
    ``files``, ``baseline`` (a shipped name or a file), ``ids``, ``idlist``, ``list:a b``
    (comma-separated words), or None (free text)."""
    words = getattr(action, "completion_words", None)
    if words:
        return "list:" + " ".join(words)
    if action.choices:
        return "words:" + " ".join(str(c) for c in action.choices)
    metavar = action.metavar if isinstance(action.metavar, str) else None
    if metavar in _DIRECTORY_METAVARS:
        return "dirs"
    if metavar in _FILE_METAVARS:
        return "files"
    if metavar in _BASELINE_METAVARS:
        return "baseline"
    if metavar in _ID_METAVARS:
        return "ids" if metavar == "ID" else "idlist"
    return None


def _option_cases(parser: argparse.ArgumentParser) -> tuple[list[str], list[tuple[str, str]]]:
    """Every option string of ``parser``, and (option, kind) for those taking a value."""
    options: list[str] = []
    valued: list[tuple[str, str]] = []
    for action in parser._actions:
        if not action.option_strings:
            continue
        options.extend(action.option_strings)
        if action.nargs != 0:
            kind = _value_kind(action)
            valued.extend((opt, kind or "none") for opt in action.option_strings)
    return options, valued


def _positional_kinds(parser: argparse.ArgumentParser) -> list[str]:
    kinds = []
    for action in parser._actions:
        if action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        kinds.append(_value_kind(action) or "none")
    return kinds


def _command_block(path: str, parser: argparse.ArgumentParser) -> list[str]:
    """The bash ``case`` arm for one (sub)command ``path`` such as ``scan`` or ``baseline validate``."""
    options, valued = _option_cases(parser)
    nested = _subcommands(parser)
    positionals = " ".join(_positional_kinds(parser)) or "none"
    lines = [f'        "{path}")',
             f'            opts="{" ".join(options)}"',
             f'            positionals="{positionals}"']
    if nested:
        lines.append(f'            positionals="words:{" ".join(nested)}"')
    if valued:
        lines.append('            case "$prev" in')
        for option, kind in valued:
            lines.append(f'                {option}) valued="{kind}" ;;')
        lines.append("            esac")
    lines.append("            ;;")
    for name, child in nested.items():
        lines += _command_block(f"{path} {name}", child)
    return lines


def bash_script(parser: argparse.ArgumentParser) -> str:
    """A bash completion script for ``parser``'s program: ``source <(hostaudit completion bash)``."""
    prog = parser.prog
    func = "_" + prog.replace("-", "_")
    from hostaudit.baseline import shipped_names

    top_options, _ = _option_cases(parser)
    commands = _subcommands(parser)
    blocks: list[str] = []
    for name, child in commands.items():
        blocks += _command_block(name, child)
    nested = [f"{name} {child}" for name, sub in commands.items() for child in _subcommands(sub)]
    takes_value = {option for sub in [parser, *commands.values(), *(c for s in commands.values()
                                                                      for c in _subcommands(s).values())]
                   for option, _ in _option_cases(sub)[1]}
    return f"""\
# bash completion for {prog}: source <({prog} completion bash)
{func}_ids() {{
    # Control IDs of the baseline on the command line (or the shipped one), asked from
    # {prog} itself, so a site baseline's own IDs complete too.
    local i baseline=()
    for ((i = 1; i < ${{#COMP_WORDS[@]}} - 1; i++)); do
        [[ ${{COMP_WORDS[i]}} == --baseline ]] && baseline=(--baseline "${{COMP_WORDS[i+1]}}")
    done
    "${{COMP_WORDS[0]}}" controls --ids "${{baseline[@]}}" 2>/dev/null
}}

{func}_values() {{
    # COMPREPLY for a value of kind $1 (words:..., list:..., dirs, files, baseline, ids, idlist, none).
    local kind=$1 cur=$2 head="" words
    case "$kind" in
        list:* | idlist)
            # A comma-separated list: complete its last item, keep what is before it.
            if [[ $cur == *,* ]]; then head=${{cur%,*}},; cur=${{cur##*,}}; fi ;;
    esac
    case "$kind" in
        words:*) words=${{kind#words:}} ;;
        list:*) words=${{kind#list:}} ;;
        ids | idlist) words=$({func}_ids) ;;
        dirs) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return ;;
        files) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
        baseline)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -W "{" ".join(shipped_names())}" -- "$cur") $(compgen -f -- "$cur"))
            return ;;
        *) COMPREPLY=(); return ;;
    esac
    COMPREPLY=($(compgen -P "$head" -W "$words" -- "$cur"))
}}

{func}() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev="" path="" opts="" positionals="none" valued=""
    local i word count=0
    ((COMP_CWORD > 0)) && prev=${{COMP_WORDS[COMP_CWORD-1]}}
    # The (sub)command typed so far, and how many of its positionals: the words before the
    # cursor that are neither options nor an option's value.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${{COMP_WORDS[i]}}
        if [[ $word == -* ]]; then
            case " {" ".join(sorted(takes_value))} " in *" $word "*) i=$((i + 1)) ;; esac
            continue
        fi
        if [[ -z $path ]]; then
            case " {" ".join(commands)} " in *" $word "*) path=$word ;; esac
            continue
        fi
        case "|{"|".join(nested)}|" in *"|$path $word|"*) path="$path $word"; continue ;; esac
        count=$((count + 1))
    done
    if [[ -z $path ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "{" ".join(top_options)}" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "{" ".join(commands)}" -- "$cur"))
        fi
        return
    fi
    case "$path" in
{chr(10).join(blocks)}
    esac
    if [[ -n $valued ]]; then
        {func}_values "$valued" "$cur"
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    local kinds=($positionals)
    if ((count < ${{#kinds[@]}})); then
        {func}_values "${{kinds[count]}}" "$cur"
    else
        COMPREPLY=()
    fi
}}

complete -F {func} {prog}
"""
