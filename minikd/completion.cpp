// minikd completion bash|zsh: a completion script for the verbs, their flags, resource types and names.
#include "minikd/cli_common.h"

#include <set>

namespace minikd::cli {
namespace {

std::string words(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& w : v) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string bashScript() {
  std::vector<std::string> verb_names = {"up", "down"};
  std::string flag_cases;
  for (const auto& v : verbs()) {
    verb_names.push_back(v.name);
    std::vector<std::string> flags;
    for (const auto& f : v.flags) flags.push_back("--" + f.name);
    for (const auto& f : globalFlags()) flags.push_back("--" + f.name);
    flag_cases += "    " + std::string(v.name) + ") flags=\"" + words(flags) + "\" ;;\n";
  }
  std::set<std::string> types;
  for (const auto& r : api::builtinResources()) {
    types.insert(r.plural);
    types.insert(r.singular);
    for (const auto& s : r.short_names) types.insert(s);
  }
  types.insert("all");
  std::string out;
  out += "# bash completion for minikd. Load with: source <(minikd completion bash)\n";
  out += "_minikd() {\n";
  out += "  local cur prev verb flags i\n";
  out += "  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n";
  out += "  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n";
  out += "  verb=\"\"\n";
  out += "  for ((i=1; i<COMP_CWORD; i++)); do\n";
  out += "    case \"${COMP_WORDS[i]}\" in -*) ;; *) verb=\"${COMP_WORDS[i]}\"; break ;; esac\n";
  out += "  done\n";
  out += "  if [[ -z \"$verb\" ]]; then\n";
  out += "    COMPREPLY=($(compgen -W \"" + words(verb_names) + "\" -- \"$cur\"))\n";
  out += "    return\n";
  out += "  fi\n";
  out += "  case \"$verb\" in\n" + flag_cases + "    *) flags=\"\" ;;\n  esac\n";
  out += "  case \"$prev\" in\n";
  out += "    -n|--namespace)\n";
  out += "      COMPREPLY=($(compgen -W \"$(minikd get namespaces -o jsonpath='{.items[*].metadata.name}' 2>/dev/null)\" -- \"$cur\"))\n";
  out += "      return ;;\n";
  out += "    -o|--output)\n";
  out += "      COMPREPLY=($(compgen -W \"json yaml name wide jsonpath=\" -- \"$cur\"))\n";
  out += "      return ;;\n";
  out += "    -f|--filename|--kubeconfig|--patch-file)\n";
  out += "      COMPREPLY=($(compgen -f -- \"$cur\"))\n";
  out += "      return ;;\n";
  out += "  esac\n";
  out += "  if [[ \"$cur\" == -* ]]; then\n";
  out += "    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n";
  out += "    return\n";
  out += "  fi\n";
  out += "  case \"$verb\" in\n";
  out += "    completion) COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")); return ;;\n";
  out += "    rollout)\n";
  out += "      if [[ $COMP_CWORD -eq $((i+1)) ]]; then COMPREPLY=($(compgen -W \"status restart history undo\" -- \"$cur\")); return; fi ;;\n";
  out += "    up|down|version|status|dashboard|kubeconfig|api-resources) return ;;\n";
  out += "  esac\n";
  out += "  # The first word after the verb is a type; the next ones are names of that type.\n";
  out += "  local type=\"\" j\n";
  out += "  for ((j=i+1; j<COMP_CWORD; j++)); do\n";
  out += "    case \"${COMP_WORDS[j]}\" in -*) ;; status|restart|history|undo) ;; *) type=\"${COMP_WORDS[j]}\"; break ;; esac\n";
  out += "  done\n";
  out += "  if [[ -z \"$type\" ]]; then\n";
  out += "    COMPREPLY=($(compgen -W \"" + words({types.begin(), types.end()}) + "\" -- \"$cur\"))\n";
  out += "    return\n";
  out += "  fi\n";
  out += "  COMPREPLY=($(compgen -W \"$(minikd get \"${type%%/*}\" -o jsonpath='{.items[*].metadata.name}' 2>/dev/null)\" -- \"$cur\"))\n";
  out += "}\n";
  out += "complete -o default -F _minikd minikd\n";
  return out;
}

}  // namespace

int cmdCompletion(Context& ctx) {
  if (ctx.args.positional.size() != 1) return fail(ctx, "Shell not specified. Usage: minikd completion bash|zsh");
  const std::string& shell = ctx.args.positional[0];
  if (shell == "bash") {
    ctx.out << bashScript();
    return 0;
  }
  if (shell == "zsh") {
    ctx.out << "#compdef minikd\n# zsh completion for minikd. Load with: source <(minikd completion zsh)\n"
               "autoload -U +X bashcompinit && bashcompinit\n"
            << bashScript();
    return 0;
  }
  return fail(ctx, "Unsupported shell type \"" + shell + "\".");
}

}  // namespace minikd::cli
